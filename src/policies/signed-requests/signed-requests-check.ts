import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import type { KeyRecord } from '../../keys/key-record.ts';
import { parseSigningKey, type SigningKey } from '../../keys/signing-key.ts';
import type { SharedReplayClaims } from '../../verify/shared-replay.ts';
import type { Check, CheckOutcome, RequestContext } from '../request-context.ts';
import { parseContentDigest, type ExpectedDigest } from './content-digest.ts';
import { fieldValue, signatureBase, type SignedRequestView } from './signature-base.ts';
import { verifySignatureBase } from './signature-algorithms.ts';
import { readPresentedSignatures, type PresentedSignature } from './signature-fields.ts';
import { SignatureReplayCache } from './signature-replay-cache.ts';

export interface SignedRequestsOptions {
  /** How old a signature's `created` may be (ms). */
  maxAge: number;
  /** How far in the future `created` may be (ms): the clocks of client and gateway differ. */
  clockSkew: number;
  /** Signatures remembered for replay protection, per process. */
  replayCacheSize: number;
  /** The scheme of `@target-uri` and `@scheme`: the listener's (`auto`), or the one clients use in front of a TLS-terminating proxy. */
  scheme: 'auto' | 'http' | 'https';
}

const CHALLENGE = [['www-authenticate', 'Bearer realm="portcullis", error="invalid_token"']] as const;
const SIGNATURE_MISSING = denial('signature_missing', null, CHALLENGE);
const SIGNATURE_REPLAYED = denial('signature_replayed', null, CHALLENGE);
const invalid = (detail: string): Denial => denial('signature_invalid', `${detail}.`, CHALLENGE);
const expired = (detail: string): Denial => denial('signature_expired', `${detail}.`, CHALLENGE);
const BOTH_FIELDS = invalid('A signed request needs both the Signature-Input and the Signature header');
const UNUSABLE_KEY = invalid('The signing key bound to this API key cannot be used; ask the operator to bind a new one');
const NOT_VERIFIED = invalid('The signature does not verify with the signing key bound to this API key');
const NO_CREATED = invalid('The signature must have a created parameter (RFC 9421 §2.3)');
const DIGEST_UNREADABLE = denial('content_digest_mismatch', 'The Content-Digest header must be a structured-field dictionary with a sha-256 or sha-512 byte sequence (RFC 9530).', CHALLENGE);
const BELOW_FLOOR = expired('The signature is older than the gateway can check for replay right now; sign the request again');

const TARGET_PARTS = ['@authority', '@path', '@query'];

/** What a signature must cover to be accepted for this request, or null when it covers enough. */
function coverageProblem(components: readonly string[], hasBody: boolean): string | null {
  if (!components.includes('@method')) return 'The signature must cover @method';
  if (!components.includes('@target-uri') && !TARGET_PARTS.every((part) => components.includes(part))) return 'The signature must cover @target-uri (or @authority, @path and @query)';
  if (hasBody && !components.includes('content-digest')) return 'The signature must cover content-digest when the request has a body';
  return null;
}

/**
 * Stage 7, for keys bound to a public key (`keys create --signing-key`): the request must carry an
 * RFC 9421 signature by the private half, so a copied API key alone is refused (401). Checked,
 * cheapest first: both fields present and well-formed (structured fields); a signature covering
 * `@method`, `@target-uri` (or `@authority` + `@path` + `@query`) and, with a body,
 * `content-digest`; `created` within the window (`expires` not passed); `alg` and `keyid`, when
 * sent, the key's; the signature verified over the base built from the request as received;
 * then seen once (signature-replay-cache.ts). A covered `Content-Digest` is handed to the body
 * check (signed-body-check.ts), which holds the body the upstream receives to it.
 */
export class SignedRequestsCheck implements Check {
  readonly name = 'signed-requests';
  readonly #options: SignedRequestsOptions;
  readonly #replays: SignatureReplayCache;
  readonly #keys = new WeakMap<KeyRecord, SigningKey | null>();
  readonly #digests: WeakMap<RequestContext, ExpectedDigest>;
  readonly #onUnusableKey: (keyId: string) => void;
  /** How long an accepted signature is remembered after its `created` (ms). */
  readonly #keepFor: number;
  /** The same signatures claimed on every node through Redis; null without Redis. */
  readonly #shared: SharedReplayClaims | null;

  constructor(options: SignedRequestsOptions, digests: WeakMap<RequestContext, ExpectedDigest>, onUnusableKey: (keyId: string) => void, shared: SharedReplayClaims | null = null) {
    this.#options = options;
    this.#keepFor = options.maxAge + options.clockSkew + 1000;
    this.#replays = new SignatureReplayCache(options.replayCacheSize, this.#keepFor);
    this.#shared = shared;
    this.#digests = digests;
    this.#onUnusableKey = onUnusableKey;
  }

  run(context: RequestContext): CheckOutcome {
    const record = context.key?.record;
    if (record === undefined || record.signingKey === null || record.signingKey === undefined) return null;
    const key = this.#keyOf(record, record.signingKey);
    if (key === null) return UNUSABLE_KEY;
    const raw = context.req.rawHeaders;
    const input = fieldValue(raw, 'signature-input');
    const value = fieldValue(raw, 'signature');
    if (input === null && value === null) return SIGNATURE_MISSING;
    if (input === null || value === null) return BOTH_FIELDS;
    const presented = readPresentedSignatures(input, value);
    if (typeof presented === 'string') return invalid(presented);
    const chosen = presented.find((signature) => coverageProblem(signature.components, context.hasBody) === null);
    if (chosen === undefined) return invalid(coverageProblem((presented[0] as PresentedSignature).components, context.hasBody) as string);
    const refused = this.#checkParameters(chosen, record, key, context.now);
    if (refused !== null) return refused;
    const base = signatureBase(chosen, this.#view(context));
    if (typeof base !== 'string') return invalid(`The signature ${base.problem}`);
    if (!verifySignatureBase(key.algorithm, key.key, base, chosen.signature)) return NOT_VERIFIED;
    const entry = createHash('sha256').update(`${record.id}\n${base}`).digest('base64url');
    const created = (chosen.created as number) * 1000;
    const seen = this.#replays.admit(entry, created, context.now);
    if (seen === 'replayed') return SIGNATURE_REPLAYED;
    if (seen === 'below-floor') return BELOW_FLOOR;
    const coversDigest = chosen.components.includes('content-digest');
    // First seen here; with Redis, also first seen by every other node (one round trip).
    const shared = this.#shared?.claim(entry, created + this.#keepFor, context.now) ?? 'fresh';
    if (shared === 'fresh') return coversDigest ? this.#expectDigest(context) : null;
    return shared.then((verdict) => (verdict === 'replayed' ? SIGNATURE_REPLAYED : coversDigest ? this.#expectDigest(context) : null));
  }

  #checkParameters(signature: PresentedSignature, record: KeyRecord, key: SigningKey, now: number): Denial | null {
    if (signature.created === null) return NO_CREATED;
    const created = signature.created * 1000;
    if (created > now + this.#options.clockSkew) return expired('The signature was created in the future; check the signer\'s clock');
    if (created < now - this.#options.maxAge) return expired(`The signature was created more than ${this.#options.maxAge / 1000} s ago; sign each request when it is sent`);
    if (signature.expires !== null && signature.expires * 1000 <= now) return expired('The signature has expired (its expires parameter has passed)');
    if (signature.alg !== null && signature.alg !== key.algorithm) return invalid(`The signing key bound to this API key is verified with ${key.algorithm}, not the alg the signature names`);
    if (signature.keyid !== null && signature.keyid !== record.id) return invalid('The keyid parameter, when sent, must be the id of the API key');
    return null;
  }

  #expectDigest(context: RequestContext): Denial | null {
    const header = fieldValue(context.req.rawHeaders, 'content-digest');
    const expected = header === null ? null : parseContentDigest(header);
    if (expected === null) return DIGEST_UNREADABLE;
    this.#digests.set(context, expected);
    return null;
  }

  #view(context: RequestContext): SignedRequestView {
    const scheme = this.#options.scheme === 'auto' ? ((context.req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http') : this.#options.scheme;
    // Stage 1 refused a request without exactly one valid Host.
    const host = typeof context.host === 'string' ? context.host : '';
    return { method: context.req.method ?? '', scheme, host, target: context.req.url ?? '/', rawHeaders: context.req.rawHeaders };
  }

  /** The parsed signing key of a record, once per record object (a changed record is a new object). */
  #keyOf(record: KeyRecord, pem: string): SigningKey | null {
    let key = this.#keys.get(record);
    if (key === undefined) {
      key = parseSigningKey(pem);
      if (key === null) this.#onUnusableKey(record.id);
      this.#keys.set(record, key);
    }
    return key;
  }
}
