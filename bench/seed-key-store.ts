/**
 * Fills a fresh key store with the benchmark's keys, through the project's own
 * store and key-format modules (so the keys are exactly what `keys create`
 * would make). Loaded by run.ts only when a Portcullis row is selected.
 */
import { openKeyStore } from '../src/store/open-key-store.ts';
import { CLI_ACTOR } from '../src/store/audit-log.ts';
import { generateKey, generateKeyId, displayPrefixOf } from '../src/keys/key-format.ts';
import { digestKey } from '../src/keys/key-digest.ts';

/** Creates `count` active keys in the store at `path`; returns their plaintexts. */
export async function seedKeyStore(path: string, count: number): Promise<string[]> {
  const store = await openKeyStore(path);
  try {
    await store.migrate();
    const now = Date.now();
    const keys: string[] = [];
    for (let index = 0; index < count; index++) {
      const key = generateKey('pcl');
      await store.createKey({
        id: generateKeyId(),
        digest: digestKey(key),
        displayPrefix: displayPrefixOf(key),
        name: `bench-${index}`,
        tags: [],
        scopes: [],
        allowedCidrs: [],
        certFingerprint: null,
        rateLimit: null,
        quota: null,
        metadata: {},
        expiresAt: null,
      }, now, CLI_ACTOR);
      keys.push(key);
    }
    return keys;
  } finally {
    await store.close();
  }
}

/** `count` keys spread evenly over all of them, so requests do not all hit one corner of the store. */
export function spreadPick(keys: readonly string[], count: number): string[] {
  const picked: string[] = [];
  const step = keys.length / Math.min(count, keys.length);
  for (let position = 0; position < keys.length && picked.length < count; position += step) {
    picked.push(keys[Math.floor(position)]!);
  }
  return picked;
}
