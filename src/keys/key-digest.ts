/**
 * Keys are stored as a SHA-256 digest, never in plaintext.
 *
 * Why SHA-256 and not a slow password hash (bcrypt, scrypt, Argon2): a slow
 * hash protects low-entropy secrets against guessing. A key carries 256 random
 * bits, so guessing one from its digest is already out of reach and a slow
 * hash would only add latency to every request. A fast unsalted digest also
 * lets verification be a map lookup by digest.
 */

import { hash, timingSafeEqual } from 'node:crypto';

const DIGEST_HEX_LENGTH = 64;

/** Reused decode buffers: digestsEqual is synchronous, so sharing them is safe. */
const scratchA = Buffer.alloc(DIGEST_HEX_LENGTH / 2);
const scratchB = Buffer.alloc(DIGEST_HEX_LENGTH / 2);

/**
 * The SHA-256 digest of the whole key (UTF-8), as 64 lowercase hex characters.
 *
 * @example digestKey('pcl_…') // 'e3b0c442…'
 */
export function digestKey(key: string): string {
  return hash('sha256', key, 'hex');
}

/**
 * Compares two digests in constant time. Returns false, without throwing,
 * unless both are 64 lowercase hex characters (the form digestKey returns).
 * The format check only reveals whether an input is well-formed, never how
 * much of it matches the other.
 */
export function digestsEqual(a: string, b: string): boolean {
  if (!isDigestHex(a) || !isDigestHex(b)) return false;
  scratchA.write(a, 'hex');
  scratchB.write(b, 'hex');
  return timingSafeEqual(scratchA, scratchB);
}

function isDigestHex(value: unknown): value is string {
  if (typeof value !== 'string' || value.length !== DIGEST_HEX_LENGTH) return false;
  for (let index = 0; index < DIGEST_HEX_LENGTH; index++) {
    const code = value.charCodeAt(index);
    const isDigit = code >= 0x30 && code <= 0x39;
    const isLowerHex = code >= 0x61 && code <= 0x66;
    if (!isDigit && !isLowerHex) return false;
  }
  return true;
}
