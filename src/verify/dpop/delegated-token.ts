/**
 * Delegated browser tokens (issue 22, item 1): a short-lived token a frontend server obtains
 * for one browser session, signed by the gateway and verified by every node without a lookup.
 *
 * The token is a JWT (RFC 7519) signed ES256 with one of the gateway's key pairs, its header
 * typed `portcullis-delegated+jwt` (RFC 8725 §3.11: no other JWT can pass for it) and naming
 * the key (`kid`), so keys rotate with overlap: a new key signs while the old ones still verify.
 * Its claims:
 *
 * | claim | meaning |
 * |---|---|
 * | `sub` | the id of the parent key, whose identity the request runs with |
 * | `scopes` | the scopes granted: a subset of the parent's, checked by the issuer |
 * | `origins` | the browser origins (`https://app.example`) it may be used from |
 * | `cnf.jkt` | the thumbprint of the browser's DPoP key (RFC 9449 §6.1): only proofs of that key make it usable |
 * | `iat`, `exp` | issued and expiry times; 10 minutes by default, capped |
 * | `jti` | the token's own id, for one-by-one revocation |
 *
 * This module is pure: the key pairs, the issuing endpoint and the check of the parent key
 * (revoked, expired) belong to their callers. It sits below `routes/`, so whether the scopes
 * are a subset of the parent's (with `grants` from `src/routes/scopes.ts`) is the issuer's check.
 */
import { randomBytes } from 'node:crypto';
import { compactVerify, errors, SignJWT, type CryptoKey } from 'jose';
import type { Denial } from '../../http/error-catalogue.ts';
import type { DpopRefusals, TokenRefusalReason } from './dpop-refusals.ts';

const TOKEN_TYPE = 'portcullis-delegated+jwt';
const ALGORITHM = 'ES256';
/** The lifetime of a token whose issuer asked for none. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 600;
/** No configured cap may exceed this: the token is meant to be short-lived. */
export const HARD_MAX_LIFETIME_SECONDS = 24 * 3600;
const MAX_TOKEN_LENGTH = 8192;
const MAX_LIST = 64;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/** A key pair's private half, with the `kid` the verifiers know its public half by. */
interface TokenSigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

/** What a frontend server asks for, already authenticated and its scopes narrowed. */
export interface DelegatedTokenRequest {
  readonly parentKeyId: string;
  readonly scopes: readonly string[];
  readonly origins: readonly string[];
  /** The browser's DPoP key thumbprint (RFC 7638, base64url SHA-256). */
  readonly jkt: string;
  /** Default `DEFAULT_TOKEN_LIFETIME_SECONDS`; above the cap, the cap. */
  readonly lifetimeSeconds?: number;
}

export interface MintOptions {
  readonly signingKey: TokenSigningKey;
  /** Now, in ms since the epoch. */
  readonly now: number;
  /** The configured cap on a token's lifetime, in seconds. Default 3600. */
  readonly maxLifetimeSeconds?: number;
}

export type MintResult =
  | { readonly ok: true; readonly token: string; readonly jti: string; readonly expiresAt: number }
  /** What is wrong with the request, as one sentence for `request_invalid`. */
  | { readonly ok: false; readonly problem: string };

/** What a verified token says. */
export interface DelegatedTokenClaims {
  readonly parentKeyId: string;
  readonly scopes: readonly string[];
  readonly origins: readonly string[];
  readonly jkt: string;
  readonly jti: string;
  readonly kid: string;
  /** ms since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
}

export type DelegatedTokenResult =
  | { readonly ok: true; readonly claims: DelegatedTokenClaims }
  | { readonly ok: false; readonly reason: TokenRefusalReason; readonly denial: Denial };

/** The public keys tokens are verified with, by `kid` (several while keys rotate), and the refusals to send. */
export interface DelegatedTokenVerifier {
  readonly keys: ReadonlyMap<string, CryptoKey>;
  readonly refusals: DpopRefusals;
  /** How far in the future a token's `iat` may be (clocks of the gateway's nodes), in ms. */
  readonly clockToleranceMs: number;
}

/** A serialised origin as browsers send it in `Origin`: scheme, host, port if not the default; nothing else. */
function isOrigin(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
  } catch {
    return false;
  }
}

function isStringList(value: unknown, each: (item: unknown) => boolean): value is string[] {
  return Array.isArray(value) && value.length <= MAX_LIST && value.every((item) => typeof item === 'string' && each(item));
}

const isName = (item: unknown): boolean => typeof item === 'string' && item.length > 0 && item.length <= 128;

function lifetimeOf(request: DelegatedTokenRequest, options: MintOptions): number | string {
  const cap = options.maxLifetimeSeconds ?? 3600;
  if (!Number.isInteger(cap) || cap < 1 || cap > HARD_MAX_LIFETIME_SECONDS) throw new RangeError(`Invalid token lifetime cap: ${cap} (a whole number of seconds from 1 to ${HARD_MAX_LIFETIME_SECONDS})`);
  const asked = request.lifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS;
  if (!Number.isInteger(asked) || asked < 1) return 'The lifetime must be a whole number of seconds, at least 1.';
  return Math.min(asked, cap);
}

function requestProblem(request: DelegatedTokenRequest): string | null {
  if (!isName(request.parentKeyId)) return 'The parent key id must be a non-empty string.';
  if (!isStringList(request.scopes, isName)) return `The scopes must be a list of at most ${MAX_LIST} names.`;
  if (!isStringList(request.origins, isOrigin) || request.origins.length === 0) return `The origins must be a list of 1 to ${MAX_LIST} origins such as https://app.example (no path, no trailing slash).`;
  if (!THUMBPRINT.test(request.jkt)) return 'jkt must be a JWK SHA-256 thumbprint (RFC 7638): 43 base64url characters.';
  return null;
}

/**
 * Mints a delegated token for a request already authenticated and narrowed by the issuer.
 *
 * @example
 * const minted = await mintDelegatedToken({ parentKeyId: key.id, scopes: ['orders:read'], origins: ['https://app.example'], jkt }, { signingKey, now: Date.now() });
 */
export async function mintDelegatedToken(request: DelegatedTokenRequest, options: MintOptions): Promise<MintResult> {
  const lifetime = lifetimeOf(request, options);
  if (typeof lifetime === 'string') return { ok: false, problem: lifetime };
  const problem = requestProblem(request);
  if (problem !== null) return { ok: false, problem };
  const issuedAt = Math.floor(options.now / 1000);
  const jti = randomBytes(16).toString('base64url');
  const token = await new SignJWT({ scopes: [...request.scopes], origins: [...request.origins], cnf: { jkt: request.jkt } })
    .setProtectedHeader({ alg: ALGORITHM, typ: TOKEN_TYPE, kid: options.signingKey.kid })
    .setSubject(request.parentKeyId)
    .setJti(jti)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + lifetime)
    .sign(options.signingKey.privateKey);
  return { ok: true, token, jti, expiresAt: (issuedAt + lifetime) * 1000 };
}

/**
 * The verifier for tokens signed by any of `keys` (each `{ kid, publicKey }`, P-256 public
 * keys). Throws at start for an empty list, a repeated `kid` or a key that is not one.
 */
export function createDelegatedTokenVerifier(keys: ReadonlyArray<{ readonly kid: string; readonly publicKey: CryptoKey }>, refusals: DpopRefusals, clockToleranceSeconds = 5): DelegatedTokenVerifier {
  if (keys.length === 0) throw new RangeError('Invalid token keys: at least one public key is needed');
  const byKid = new Map<string, CryptoKey>();
  for (const { kid, publicKey } of keys) {
    if (!isName(kid) || byKid.has(kid)) throw new RangeError(`Invalid token key id: ${JSON.stringify(kid)} (non-empty, unique)`);
    const algorithm = publicKey.algorithm as { name?: string; namedCurve?: string };
    if (publicKey.type !== 'public' || algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') throw new RangeError(`Invalid token key ${kid}: an ECDSA P-256 public key is needed`);
    byKid.set(kid, publicKey);
  }
  return { keys: byKid, refusals, clockToleranceMs: clockToleranceSeconds * 1000 };
}

function headerOf(token: string): Record<string, unknown> | null {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT_JWS.test(token)) return null;
  try {
    const header: unknown = JSON.parse(Buffer.from(token.slice(0, token.indexOf('.')), 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && !Array.isArray(header) ? (header as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The claims of a genuine token, or null when one is missing or of the wrong shape. */
function claimsOf(payload: Uint8Array, kid: string): DelegatedTokenClaims | null {
  let claims: Record<string, unknown>;
  try {
    claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (typeof claims !== 'object' || claims === null) return null;
  const { sub, scopes, origins, cnf, jti, iat, exp } = claims;
  const jkt = typeof cnf === 'object' && cnf !== null ? (cnf as Record<string, unknown>).jkt : undefined;
  if (!isName(sub) || !isStringList(scopes, isName) || !isStringList(origins, isOrigin) || typeof jkt !== 'string' || !THUMBPRINT.test(jkt)) return null;
  if (!isName(jti) || !Number.isInteger(iat) || !Number.isInteger(exp) || (exp as number) <= (iat as number)) return null;
  return { parentKeyId: sub as string, scopes, origins, jkt, jti: jti as string, kid, issuedAt: (iat as number) * 1000, expiresAt: (exp as number) * 1000 };
}

/**
 * Verifies a delegated token: type and algorithm, a known `kid`, the signature, the claims,
 * then expiry (said only of a genuine token). Never throws for anything the client sent.
 */
export async function verifyDelegatedToken(token: string, verifier: DelegatedTokenVerifier, now: number): Promise<DelegatedTokenResult> {
  const refuse = (reason: TokenRefusalReason): DelegatedTokenResult => ({ ok: false, reason, denial: verifier.refusals.token[reason] });
  const header = headerOf(token);
  if (header === null || header.typ !== TOKEN_TYPE || header.alg !== ALGORITHM) return refuse('malformed');
  const key = typeof header.kid === 'string' ? verifier.keys.get(header.kid) : undefined;
  if (key === undefined) return refuse('unknownKey');
  let payload: Uint8Array;
  try {
    payload = (await compactVerify(token, key, { algorithms: [ALGORITHM] })).payload;
  } catch (error) {
    return refuse(error instanceof errors.JWSSignatureVerificationFailed ? 'signature' : 'malformed');
  }
  const claims = claimsOf(payload, header.kid as string);
  if (claims === null || claims.issuedAt > now + verifier.clockToleranceMs) return refuse('claims');
  if (claims.expiresAt <= now) return refuse('expired');
  return { ok: true, claims };
}
