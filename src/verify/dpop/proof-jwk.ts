/**
 * The public key a DPoP proof carries in its `jwk` header (RFC 9449 §4.2), checked against the
 * proof's algorithm before anything is imported: the key type and curve must be those of the
 * algorithm, and no private member may be present (a client that sends its private key has
 * leaked it, and a symmetric `oct` key would make the proof an HMAC anyone holding the proof
 * could forge).
 */
import { calculateJwkThumbprint, importJWK, type CryptoKey, type JWK } from 'jose';

/** The proof algorithms the gateway can accept: asymmetric only, never `none` or HMAC (RFC 9449 §4.2). */
const DPOP_ALGORITHMS = ['ES256', 'EdDSA'] as const;

export type DpopAlgorithm = (typeof DPOP_ALGORITHMS)[number];

/** The members of a JWK that belong to a private or symmetric key (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/** One base64url coordinate of 32 bytes (P-256 x and y, Ed25519 x): 43 characters, unpadded. */
const COORDINATE_32 = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** Whether `value` is an algorithm the gateway knows how to accept. */
export function isDpopAlgorithm(value: unknown): value is DpopAlgorithm {
  return (DPOP_ALGORITHMS as readonly unknown[]).includes(value);
}

/**
 * The public JWK of `alg`, with only the members its thumbprint and import need (RFC 7638 §3.2),
 * or null when `value` is not one. The last character of each coordinate is checked to be a
 * canonical base64url ending, so one key has one spelling.
 */
export function publicJwkFor(alg: DpopAlgorithm, value: unknown): JWK | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const jwk = value as Record<string, unknown>;
  for (const member of PRIVATE_MEMBERS) if (member in jwk) return null;
  const { kty, crv, x, y } = jwk;
  if (typeof x !== 'string' || !COORDINATE_32.test(x)) return null;
  if (alg === 'ES256') {
    if (kty !== 'EC' || crv !== 'P-256' || typeof y !== 'string' || !COORDINATE_32.test(y)) return null;
    return { crv, kty, x, y };
  }
  if (kty !== 'OKP' || crv !== 'Ed25519' || y !== undefined) return null;
  return { crv, kty, x };
}

/** The key to verify a proof with; rejects when the coordinates are not a point on the curve. */
export function importProofKey(alg: DpopAlgorithm, jwk: JWK): Promise<CryptoKey> {
  return importJWK(jwk, alg) as Promise<CryptoKey>;
}

/** The JWK SHA-256 thumbprint (RFC 7638), base64url: what a token's `cnf.jkt` names (RFC 9449 §6.1). */
export function jwkThumbprint(jwk: JWK): Promise<string> {
  return calculateJwkThumbprint(jwk, 'sha256');
}
