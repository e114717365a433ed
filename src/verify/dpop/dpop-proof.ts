/**
 * Verifying a DPoP proof (RFC 9449 §4.3): the `DPoP` header a client sends with a request to
 * show that it holds the private key a token is bound to. Every check of §4.3, cheapest first
 * and the signature last but one, so junk costs little:
 *
 * 1. exactly one `DPoP` value (§4.3 point 1);
 * 2. a JWS in compact serialisation with a JSON object as header and as claims (points 2, 3);
 * 3. header: `typ` is `dpop+jwt` (point 4), `alg` is in the allow-list (asymmetric only, never
 *    `none` or HMAC; point 5), `jwk` is a public key of that algorithm (point 7);
 * 4. claims: `jti` present, `htm` the request method, `htu` the request URI (normalised, see
 *    `proof-target.ts`; points 8, 9), `iat` within the window (point 11), `ath` the hash of the
 *    access token when one is presented (point 12);
 * 5. the signature, with the key in the header (point 6);
 * 6. the key's thumbprint (RFC 7638) is the token's `cnf.jkt` (point 12, §6.1);
 * 7. the server nonce, when one is required (point 10, §9);
 * 8. the `jti` was not accepted before within the window (§11.1).
 *
 * A failure is a value: the reason and the denial to send (`dpop-refusals.ts`).
 */
import { createHash } from 'node:crypto';
import { compactVerify, errors, type CryptoKey, type JWK } from 'jose';
import type { Denial } from '../../http/error-catalogue.ts';
import { createDpopRefusals, type DpopRefusals, type ProofRefusalReason } from './dpop-refusals.ts';
import type { ProofReplayCache, ReplayVerdict } from './jti-replay-cache.ts';
import { importProofKey, isDpopAlgorithm, jwkThumbprint, publicJwkFor, type DpopAlgorithm } from './proof-jwk.ts';
import { normaliseHttpUri } from './proof-target.ts';

/** What the gateway accepts; checked once at start by `createDpopProofSettings`. */
export interface DpopProofOptions {
  /** The proof algorithms accepted, in the order the challenge lists them. Default `['ES256']`. */
  readonly algorithms?: readonly string[];
  /** How old a proof's `iat` may be, in seconds (1–600). Default 60. */
  readonly maxAgeSeconds?: number;
  /** How far in the future a proof's `iat` may be (client clock ahead), in seconds (0–300). Default 5. */
  readonly futureSkewSeconds?: number;
  /** The `jti` of accepted proofs; one per process (or shared), made by the caller. */
  readonly replayCache: ProofReplayCache;
}

export interface DpopProofSettings {
  readonly algorithms: readonly DpopAlgorithm[];
  readonly maxAgeMs: number;
  readonly futureSkewMs: number;
  readonly replayCache: ProofReplayCache;
  readonly refusals: DpopRefusals;
  /**
   * Proof keys already imported, by algorithm and coordinates: a browser signs every proof
   * with one key, and importing it costs about as much as verifying a signature. Only keys that
   * imported (points on their curve) are kept; emptied when it reaches its bound.
   */
  readonly importedKeys: Map<string, CryptoKey>;
}

const MAX_IMPORTED_KEYS = 10_000;

/** The nonce a server requires (§9): the one it hands out now, and the one before it while rotating. */
interface DpopNonce {
  readonly current: string;
  readonly previous?: string;
}

/** One request as received, and what its token says. */
export interface DpopProofRequest {
  /** The `DPoP` header: undefined when absent, else one string per header line as received. */
  readonly proof: string | readonly string[] | undefined;
  /** The method the request is judged by. */
  readonly method: string;
  /** The request URI as received: `scheme://host[:port]/path?query`; query and fragment are ignored. */
  readonly url: string;
  /** The access token presented with the proof (`Authorization: DPoP <token>`); its hash must be `ath`. */
  readonly accessToken?: string;
  /** The token's `cnf.jkt`: the thumbprint the proof's key must have. */
  readonly expectedThumbprint?: string;
  /** Now, in ms since the epoch. */
  readonly now: number;
  /** Present when the server requires a nonce in the proof. */
  readonly nonce?: DpopNonce;
}

type DpopRefusalReason = ProofRefusalReason | 'thumbprint' | 'nonce' | 'replayed' | 'replayCacheFull';

export type DpopProofResult =
  | { readonly ok: true; readonly thumbprint: string; readonly jti: string }
  | { readonly ok: false; readonly reason: DpopRefusalReason; readonly denial: Denial };

/** Longer than any proof a client makes (an ES256 proof with `ath` and `nonce` is under 1 KB); bounds the parsing. */
const MAX_PROOF_LENGTH = 4096;
const MAX_JTI_LENGTH = 128;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function whole(value: number | undefined, fallback: number, min: number, max: number, name: string): number {
  const chosen = value ?? fallback;
  if (!Number.isInteger(chosen) || chosen < min || chosen > max) throw new RangeError(`Invalid ${name}: ${chosen} (a whole number of seconds from ${min} to ${max})`);
  return chosen;
}

/**
 * The settings of `verifyDpopProof`, checked: an unknown algorithm (`none`, `HS256`, a typo)
 * throws here, at start, never at request time.
 *
 * @example
 * const settings = createDpopProofSettings({ algorithms: ['ES256', 'EdDSA'], replayCache: new JtiReplayCache(100_000) });
 */
export function createDpopProofSettings(options: DpopProofOptions): DpopProofSettings {
  const algorithms = options.algorithms ?? ['ES256'];
  if (algorithms.length === 0) throw new RangeError('Invalid DPoP algorithms: the list is empty');
  for (const alg of algorithms) {
    if (!isDpopAlgorithm(alg)) throw new RangeError(`Invalid DPoP algorithm: ${JSON.stringify(alg)} (accepted: ES256, EdDSA; never none or HMAC)`);
  }
  const accepted = [...new Set(algorithms)] as DpopAlgorithm[];
  return {
    algorithms: accepted,
    maxAgeMs: whole(options.maxAgeSeconds, 60, 1, 600, 'DPoP proof max age') * 1000,
    futureSkewMs: whole(options.futureSkewSeconds, 5, 0, 300, 'DPoP proof future skew') * 1000,
    replayCache: options.replayCache,
    importedKeys: new Map(),
    refusals: createDpopRefusals(accepted),
  };
}

interface DecodedProof {
  readonly proof: string;
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
}

function jsonObject(part: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The one proof, or why there is not exactly one well-formed one. */
function decodeProof(values: DpopProofRequest['proof']): DecodedProof | ProofRefusalReason {
  if (values === undefined || values.length === 0) return 'missing';
  if (typeof values !== 'string') {
    if (values.length > 1) return 'multiple';
    values = values[0]!;
  }
  // Node joins repeated header lines with ", "; a compact JWS holds no comma.
  if (values.includes(',')) return 'multiple';
  if (values.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(values)) return 'malformed';
  const [headerPart, claimsPart] = values.split('.') as [string, string, string];
  const header = jsonObject(headerPart);
  const claims = jsonObject(claimsPart);
  return header === null || claims === null ? 'malformed' : { proof: values, header, claims };
}

function checkHeader(header: Record<string, unknown>, settings: DpopProofSettings): { alg: DpopAlgorithm; jwk: JWK } | ProofRefusalReason {
  if (header.typ !== 'dpop+jwt') return 'typ';
  const alg = header.alg;
  if (!isDpopAlgorithm(alg) || !settings.algorithms.includes(alg)) return 'alg';
  const jwk = publicJwkFor(alg, header.jwk);
  return jwk === null ? 'jwk' : { alg, jwk };
}

/** base64url(SHA-256(token)): the `ath` of RFC 9449 §4.2. */
function accessTokenHash(accessToken: string): string {
  return createHash('sha256').update(accessToken, 'utf8').digest('base64url');
}

function checkClaims(claims: Record<string, unknown>, request: DpopProofRequest, settings: DpopProofSettings): ProofRefusalReason | null {
  const { jti, htm, htu, iat, ath } = claims;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) return 'jti';
  if (htm !== request.method) return 'htm';
  if (typeof htu !== 'string') return 'htu';
  const target = normaliseHttpUri(htu);
  if (target === null || target !== normaliseHttpUri(request.url)) return 'htu';
  if (typeof iat !== 'number' || !Number.isFinite(iat)) return 'iat';
  const issuedAt = iat * 1000;
  if (issuedAt < request.now - settings.maxAgeMs || issuedAt > request.now + settings.futureSkewMs) return 'iat';
  if (request.accessToken !== undefined && ath !== accessTokenHash(request.accessToken)) return 'ath';
  return null;
}

/** Whether the signature verifies; `jwk` when the key is not a point on its curve. */
async function checkSignature(proof: string, alg: DpopAlgorithm, jwk: JWK, imported: Map<string, CryptoKey>): Promise<ProofRefusalReason | null> {
  // `publicJwkFor` kept only the members that define the key, so these name it exactly.
  const name = `${alg}.${jwk.crv}.${jwk.x}.${jwk.y ?? ''}`;
  let key = imported.get(name);
  if (key === undefined) {
    try {
      key = await importProofKey(alg, jwk);
    } catch {
      return 'jwk';
    }
    if (imported.size >= MAX_IMPORTED_KEYS) imported.clear();
    imported.set(name, key);
  }
  try {
    await compactVerify(proof, key, { algorithms: [alg] });
    return null;
  } catch (error) {
    // A `crit` or `b64` header the gateway does not understand makes the proof malformed.
    return error instanceof errors.JWSSignatureVerificationFailed ? 'signature' : 'malformed';
  }
}

function refused(reason: DpopRefusalReason, denial: Denial): DpopProofResult {
  return { ok: false, reason, denial };
}

function nonceAccepted(nonce: unknown, required: DpopNonce): boolean {
  return typeof nonce === 'string' && (nonce === required.current || (required.previous !== undefined && nonce === required.previous));
}

/** The last steps, once the proof is known genuine: key binding, nonce, replay. */
function checkUse(decoded: DecodedProof, thumbprint: string, request: DpopProofRequest, settings: DpopProofSettings): DpopProofResult | Promise<DpopProofResult> {
  const { refusals } = settings;
  if (request.expectedThumbprint !== undefined && thumbprint !== request.expectedThumbprint) return refused('thumbprint', refusals.token.thumbprint);
  if (request.nonce !== undefined && !nonceAccepted(decoded.claims.nonce, request.nonce)) return refused('nonce', refusals.nonceRequired(request.nonce.current));
  const jti = decoded.claims.jti as string;
  const expiresAt = (decoded.claims.iat as number) * 1000 + settings.maxAgeMs;
  const verdict = settings.replayCache.remember(`${thumbprint}.${jti}`, expiresAt, request.now);
  // A shared cache answers after one Redis round trip; the local one at once.
  return typeof verdict === 'string' ? replayOutcome(verdict, thumbprint, jti, request, settings) : verdict.then((shared) => replayOutcome(shared, thumbprint, jti, request, settings));
}

function replayOutcome(verdict: ReplayVerdict, thumbprint: string, jti: string, request: DpopProofRequest, settings: DpopProofSettings): DpopProofResult {
  const { refusals } = settings;
  if (verdict === 'replayed') return refused('replayed', refusals.replayed);
  if (verdict === 'full') return refused('replayCacheFull', refusals.replayCacheFull(Math.max(1, Math.ceil(settings.replayCache.msUntilRoom(request.now) / 1000))));
  return { ok: true, thumbprint, jti };
}

/**
 * Verifies the DPoP proof of one request (RFC 9449 §4.3), and remembers its `jti` when it is
 * accepted. Never throws for anything the client sent.
 *
 * @example
 * const result = await verifyDpopProof({ proof: req.headers.dpop, method: 'GET', url: 'https://api.example/orders', accessToken, expectedThumbprint: token.jkt, now: Date.now() }, settings);
 * if (!result.ok) return result.denial;
 */
export async function verifyDpopProof(request: DpopProofRequest, settings: DpopProofSettings): Promise<DpopProofResult> {
  const { refusals } = settings;
  const decoded = decodeProof(request.proof);
  if (typeof decoded === 'string') return refused(decoded, refusals.proof[decoded]);
  const key = checkHeader(decoded.header, settings);
  if (typeof key === 'string') return refused(key, refusals.proof[key]);
  const claimRefusal = checkClaims(decoded.claims, request, settings);
  if (claimRefusal !== null) return refused(claimRefusal, refusals.proof[claimRefusal]);
  const signatureRefusal = await checkSignature(decoded.proof, key.alg, key.jwk, settings.importedKeys);
  if (signatureRefusal !== null) return refused(signatureRefusal, refusals.proof[signatureRefusal]);
  return checkUse(decoded, await jwkThumbprint(key.jwk), request, settings);
}
