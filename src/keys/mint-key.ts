import { digestKey } from './key-digest.ts';
import { displayPrefixOf, generateKey, generateKeyId, generateTokenId } from './key-format.ts';

export interface MintedKey {
  /** The plaintext: shown once to whoever asked for it, never stored or logged. */
  key: string;
  id: string;
  digest: string;
  displayPrefix: string;
}

/**
 * A fresh key with everything the store needs. The CLI, the admin API and the dashboard all
 * mint keys here, so they are made the same way.
 *
 * @example
 * const minted = mintKey('pcl');
 * await store.createKey({ id: minted.id, digest: minted.digest, displayPrefix: minted.displayPrefix, ...settings }, now, by);
 */
export function mintKey(prefix: string): MintedKey {
  const key = generateKey(prefix);
  return { key, id: generateKeyId(), digest: digestKey(key), displayPrefix: displayPrefixOf(key) };
}

/** Admin tokens look like keys with their own prefix, so secret scanners find them and the gateway never accepts one as a key. */
export const ADMIN_TOKEN_PREFIX = 'pcladmin';

/** A fresh admin token (`pcladmin_…`) with its id (`adm_…`), digest and display prefix. */
export function mintAdminToken(): MintedKey {
  const key = generateKey(ADMIN_TOKEN_PREFIX);
  return { key, id: generateTokenId('adm'), digest: digestKey(key), displayPrefix: displayPrefixOf(key) };
}
