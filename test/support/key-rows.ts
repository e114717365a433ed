/** `NewKey` rows for store-level tests. */
import { randomBytes } from 'node:crypto';
import { digestKey } from '../../src/keys/key-digest.ts';
import { displayPrefixOf, generateKey, generateKeyId } from '../../src/keys/key-format.ts';
import type { NewKey } from '../../src/store/key-store.ts';

/** A fresh object each time: stores must not share arrays between rows. */
function noSettings(): Omit<NewKey, 'id' | 'digest' | 'displayPrefix' | 'name'> {
  return { tags: [], scopes: [], allowedCidrs: [], certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null };
}

/** A row with a given id and a random stand-in digest (the store only needs it unique). */
export function keyRow(id: string, settings: Partial<NewKey> = {}): NewKey {
  return { id, digest: randomBytes(32).toString('hex'), displayPrefix: 'pcl_Test', name: id, ...noSettings(), ...settings };
}

/** A real key and its row, for tests that look keys up by digest. */
export function mintedKeyRow(settings: Partial<NewKey> = {}): { key: string; row: NewKey } {
  const key = generateKey('pcl');
  return { key, row: { id: generateKeyId(), digest: digestKey(key), displayPrefix: displayPrefixOf(key), name: 'n', ...noSettings(), ...settings } };
}
