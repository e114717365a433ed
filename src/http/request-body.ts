import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { denial, type Denial } from './error-catalogue.ts';

/**
 * Request bodies under a size limit, enforced while they arrive: a body is never held beyond
 * its limit, whether the gateway reads it (JSON to validate) or streams it to the upstream.
 */

/** 413 with `Connection: close`: the rest of the body is not read, so the connection cannot be reused. */
export function bodyTooLarge(limit: number): Denial {
  return denial('body_too_large', `The request body exceeds the limit of ${limit} bytes.`, CLOSE_CONNECTION);
}

const CLOSE_CONNECTION = [['connection', 'close']] as const;
const CLIENT_GONE = denial('request_invalid', 'The request body ended early.');

/** Reads a whole body of at most `limit` bytes; answers 413 as soon as it would exceed it. */
class BoundedRead {
  readonly #req: IncomingMessage;
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #resolve: (result: Buffer | Denial) => void = () => {};

  constructor(req: IncomingMessage, limit: number) {
    this.#req = req;
    this.#limit = limit;
  }

  start(): Promise<Buffer | Denial> {
    return new Promise((resolve) => {
      this.#resolve = resolve;
      this.#req.on('data', this.#onData);
      this.#req.once('end', this.#onEnd);
      this.#req.once('close', this.#onClose);
      this.#req.once('error', this.#onClose);
    });
  }

  #finish(result: Buffer | Denial): void {
    this.#req.off('data', this.#onData);
    this.#req.off('end', this.#onEnd);
    this.#req.off('close', this.#onClose);
    this.#req.off('error', this.#onClose);
    this.#resolve(result);
  }

  #onData = (chunk: Buffer): void => {
    this.#size += chunk.length;
    if (this.#size > this.#limit) {
      // Stop reading: the response says Connection: close, so the rest is never buffered.
      this.#req.pause();
      this.#finish(bodyTooLarge(this.#limit));
      return;
    }
    this.#chunks.push(chunk);
  };

  #onEnd = (): void => {
    this.#finish(this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#size));
  };

  #onClose = (): void => {
    if (!this.#req.complete) this.#finish(CLIENT_GONE);
  };
}

export function readBoundedBody(req: IncomingMessage, limit: number): Promise<Buffer | Denial> {
  return new BoundedRead(req, limit).start();
}

/** The error a stream raises when a body grows past its limit; the proxy answers it with 413. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  readonly code = 'PORTCULLIS_BODY_TOO_LARGE';
  readonly limit: number;

  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * The error a body stream raises when a check refuses the body as it passes (its Content-Digest
 * does not match): the proxy aborts the upstream request and, if no response has started,
 * answers with the denial.
 */
export class BodyRefusedError extends Error {
  override name = 'BodyRefusedError';
  readonly code = 'PORTCULLIS_BODY_REFUSED';
  readonly denial: Denial;

  constructor(denial: Denial) {
    super(denial.detail);
    this.denial = denial;
  }
}

/**
 * Passes a body through, counting bytes, and fails once it passes `limit`. Used only for
 * bodies without Content-Length (chunked): Node already holds a body with Content-Length to
 * exactly that length, which the gateway checks against the limit before forwarding.
 */
export class LimitedBodyStream extends Transform {
  readonly #limit: number;
  #size = 0;

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#size > this.#limit) callback(new BodyTooLargeError(this.#limit));
    else callback(null, chunk);
  }
}

/** `req` piped through a LimitedBodyStream; the client's errors end the stream too. */
export function limitedBody(req: IncomingMessage, limit: number): LimitedBodyStream {
  const limited = new LimitedBodyStream(limit);
  req.once('error', (error) => limited.destroy(error));
  return req.pipe(limited);
}
