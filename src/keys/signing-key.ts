import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

/**
 * The public key a Portcullis key can be bound to for signed requests (RFC 9421 HTTP Message
 * Signatures). The store keeps it as SPKI PEM text; the algorithm follows from the key's type,
 * one algorithm per key type, so a client cannot pick a weaker one for the same key (RFC 9421
 * §7.3.6, key specification downgrades: an RSA key verifies `rsa-pss-sha512`, never
 * `rsa-v1_5-sha256`).
 */

/** The RFC 9421 §6.2.2 algorithm names the gateway verifies. */
export type SigningAlgorithm = 'ecdsa-p256-sha256' | 'ed25519' | 'rsa-pss-sha512';

export interface SigningKey {
  algorithm: SigningAlgorithm;
  key: KeyObject;
  /** The key as the store keeps it: SPKI, PEM, with the usual 64-column lines. */
  pem: string;
}

/** The smallest RSA modulus accepted (NIST SP 800-131A). */
const MIN_RSA_BITS = 2048;

export const SIGNING_KEY_EXPECTED = 'expected a PEM public key (-----BEGIN PUBLIC KEY-----): Ed25519, ECDSA P-256 or RSA of at least 2048 bits';

/** The algorithm of a public key, or null for a key type the gateway does not verify. */
function signingAlgorithmOf(key: KeyObject): SigningAlgorithm | null {
  if (key.type !== 'public') return null;
  const details = key.asymmetricKeyDetails;
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return 'ed25519';
    case 'ec':
      return details?.namedCurve === 'prime256v1' ? 'ecdsa-p256-sha256' : null;
    case 'rsa':
    case 'rsa-pss':
      return (details?.modulusLength ?? 0) >= MIN_RSA_BITS ? 'rsa-pss-sha512' : null;
    default:
      return null;
  }
}

/**
 * A PEM public key (SPKI), checked; null when it is not one the gateway verifies. A private key
 * is refused rather than reduced to its public half: whoever pasted it has shown it to the
 * store, and should make a new pair.
 */
export function parseSigningKey(pem: string): SigningKey | null {
  if (!pem.includes('-----BEGIN PUBLIC KEY-----') || pem.includes('PRIVATE KEY')) return null;
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch {
    return null;
  }
  const algorithm = signingAlgorithmOf(key);
  if (algorithm === null) return null;
  return { algorithm, key, pem: key.export({ type: 'spki', format: 'pem' }).toString() };
}

/** What a person is shown of a bound signing key: its algorithm and the SHA-256 of its SPKI DER (hex). */
export interface SigningKeySummary {
  algorithm: SigningAlgorithm;
  sha256: string;
}

/** The summary of a stored signing key; null for none (or for text that is no longer a key the gateway verifies). */
export function summariseSigningKey(pem: string | null | undefined): SigningKeySummary | null {
  if (pem === null || pem === undefined) return null;
  const parsed = parseSigningKey(pem);
  if (parsed === null) return null;
  return { algorithm: parsed.algorithm, sha256: createHash('sha256').update(parsed.key.export({ type: 'spki', format: 'der' })).digest('hex') };
}
