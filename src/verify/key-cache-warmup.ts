import type { KeyRecord } from '../keys/key-record.ts';
import type { KeyVerifier } from './key-verifier.ts';

/** Where a starting gateway reads its most recently used keys: the change feed thread on SQLite, the store otherwise. */
export interface RecentKeyReads {
  recentlyUsedKeys(limit: number): Promise<KeyRecord[]>;
}

export interface KeyCacheWarmup {
  /** Records read from the store. */
  read: number;
  /** Of those, how many entered the cache (none when a change landed during the read). */
  cached: number;
  ms: number;
}

/**
 * Loads up to `limit` of the most recently used keys into the key cache (`cache.warmKeys`),
 * so that after a restart the busy keys' first requests are answered from memory rather than
 * each reading the store at once. Exact: `KeyVerifier.warm` keeps none of them if the change
 * feed applied a change meanwhile. Never rejects: a failed read only means a cold cache,
 * which read-through fills as before, so it is reported and nothing else.
 */
export async function warmKeyCache(verifier: KeyVerifier, reads: RecentKeyReads, limit: number, onFailure: (error: unknown) => void): Promise<KeyCacheWarmup | null> {
  if (limit <= 0) return null;
  const started = performance.now();
  const generation = verifier.generation;
  try {
    const records = await reads.recentlyUsedKeys(limit);
    return { read: records.length, cached: verifier.warm(records, generation), ms: performance.now() - started };
  } catch (error) {
    onFailure(error);
    return null;
  }
}
