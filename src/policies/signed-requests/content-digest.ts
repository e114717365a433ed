import { createHash, timingSafeEqual, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { parseDictionary } from 'structured-headers';
import type { Denial } from '../../http/error-catalogue.ts';
import { BodyRefusedError } from '../../http/request-body.ts';

/**
 * `Content-Digest` (RFC 9530 §2): a Dictionary of algorithm → Byte Sequence digest of the
 * message content as sent (after any content coding). The gateway checks `sha-512` when the
 * field has it, else `sha-256`; the other algorithms of the registry (md5, sha, crc32c…) are
 * not collision-resistant and are ignored, so a field with only those is refused.
 */

export interface ExpectedDigest {
  algorithm: 'sha256' | 'sha512';
  digest: Buffer;
}

const ALGORITHMS = [['sha-512', 'sha512', 64], ['sha-256', 'sha256', 32]] as const;

/** The digest to check a body against, or null when the field is malformed or has neither sha-512 nor sha-256 of the right length. */
export function parseContentDigest(header: string): ExpectedDigest | null {
  let members: ReturnType<typeof parseDictionary>;
  try {
    members = parseDictionary(header);
  } catch {
    return null;
  }
  for (const [name, algorithm, length] of ALGORITHMS) {
    const member = members.get(name);
    if (member === undefined) continue;
    const value = member[0];
    if (!(value instanceof ArrayBuffer) || value.byteLength !== length) return null;
    return { algorithm, digest: Buffer.from(value) };
  }
  return null;
}

/** Whether `body` has the expected digest (compared in constant time, though nothing here is secret). */
export function bodyMatches(body: Buffer, expected: ExpectedDigest): boolean {
  return timingSafeEqual(createHash(expected.algorithm).update(body).digest(), expected.digest);
}

/**
 * Passes a streamed body to the upstream while hashing it, and holds back its last chunk until
 * the body has ended and its digest is known to match. On a mismatch the stream fails with a
 * `BodyRefusedError` instead of sending that chunk: the upstream request is aborted before the
 * body is complete, so the upstream never receives a whole body that the signature does not
 * cover (with a Content-Length it lacks bytes; chunked, it lacks the last chunk and the end).
 * It holds at most one chunk, whatever the size of the body.
 */
class DigestCheckingStream extends Transform {
  readonly #hash: Hash;
  readonly #expected: ExpectedDigest;
  readonly #refusal: Denial;
  #held: Buffer | null = null;

  constructor(expected: ExpectedDigest, refusal: Denial) {
    super();
    this.#expected = expected;
    this.#refusal = refusal;
    this.#hash = createHash(expected.algorithm);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) return callback();
    this.#hash.update(chunk);
    const previous = this.#held;
    this.#held = chunk;
    callback(null, previous ?? undefined);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.#hash.digest();
    if (!timingSafeEqual(actual, this.#expected.digest)) return callback(new BodyRefusedError(this.#refusal));
    callback(null, this.#held ?? undefined);
  }
}

/** `body` piped through a DigestCheckingStream; an error of the source ends the stream too. */
export function digestCheckedBody(body: Readable, expected: ExpectedDigest, refusal: Denial): DigestCheckingStream {
  const checked = new DigestCheckingStream(expected, refusal);
  body.once('error', (error) => checked.destroy(error));
  return body.pipe(checked);
}
