/**
 * DPoP proofs for tests, signed by hand with node:crypto so a test can put anything in the
 * header (a wrong `typ`, `alg: none`, a private `d`) and still sign it validly.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export interface ProofKey {
  readonly alg: 'ES256' | 'EdDSA';
  readonly privateKey: KeyObject;
  /** The public JWK with its required members only. */
  readonly publicJwk: Readonly<Record<string, string>>;
}

/** A fresh key pair for proofs. */
export function proofKey(alg: 'ES256' | 'EdDSA' = 'ES256'): ProofKey {
  const pair = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  const { kty, crv, x, y } = pair.publicKey.export({ format: 'jwk' });
  const publicJwk: Record<string, string> = { kty: kty!, crv: crv!, x: x! };
  if (y !== undefined) publicJwk.y = y;
  return { alg, privateKey: pair.privateKey, publicJwk };
}

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A compact JWS of `header` and `claims`, signed with `key` whatever the header says. */
export function signProof(key: ProofKey, header: Readonly<Record<string, unknown>>, claims: Readonly<Record<string, unknown>>): string {
  const input = `${encode(header)}.${encode(claims)}`;
  const signature =
    key.alg === 'ES256' ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }) : sign(null, Buffer.from(input), key.privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

/** The header of a well-formed proof made with `key`. */
export function proofHeader(key: ProofKey): Record<string, unknown> {
  return { typ: 'dpop+jwt', alg: key.alg, jwk: { ...key.publicJwk } };
}

/** A well-formed proof of `claims`, with the header of `key` and `headerChanges` over it. */
export function dpopProof(key: ProofKey, claims: Readonly<Record<string, unknown>>, headerChanges: Readonly<Record<string, unknown>> = {}): string {
  return signProof(key, { ...proofHeader(key), ...headerChanges }, claims);
}

/** base64url(SHA-256(token)): a proof's `ath`. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/** The RFC 7638 thumbprint of `key`'s public JWK, computed here independently of jose. */
export function thumbprintOf(key: ProofKey): string {
  const { kty, crv, x, y } = key.publicJwk;
  const members = kty === 'EC' ? { crv, kty, x, y } : { crv, kty, x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}
