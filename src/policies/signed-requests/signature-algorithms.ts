import { constants, verify, type KeyObject } from 'node:crypto';
import type { SigningAlgorithm } from '../../keys/signing-key.ts';

/**
 * Verifying a signature base with the algorithms of RFC 9421 §3.3 the gateway accepts. Each
 * key type has exactly one (keys/signing-key.ts), so the `alg` parameter, when a client sends
 * it, can only confirm that choice, never change it.
 */

/** Signature lengths (bytes) of the fixed-length algorithms: anything else is refused before verifying. */
const FIXED_LENGTHS: Partial<Record<SigningAlgorithm, number>> = { 'ed25519': 64, 'ecdsa-p256-sha256': 64 };

/** Whether `signature` is `algorithm`'s signature of `base` (UTF-8; the base is ASCII) by `key`. */
export function verifySignatureBase(algorithm: SigningAlgorithm, key: KeyObject, base: string, signature: Buffer): boolean {
  const length = FIXED_LENGTHS[algorithm];
  if (length !== undefined && signature.length !== length) return false;
  const data = Buffer.from(base, 'utf8');
  try {
    switch (algorithm) {
      case 'ed25519':
        return verify(null, data, key, signature);
      case 'ecdsa-p256-sha256':
        // §3.3.4: r and s as two 32-byte big-endian integers, not DER.
        return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
      case 'rsa-pss-sha512':
        // §3.3.1: MGF1 with SHA-512 and a 64-byte salt.
        return verify('sha512', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 }, signature);
    }
  } catch {
    return false;
  }
}
