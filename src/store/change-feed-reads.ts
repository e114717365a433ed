import type { KeyRecord } from '../keys/key-record.ts';
import type { KeyEvent, KeyStore } from './key-store.ts';

/** One read of the change log: events after a position, with the keys they name as they are now. */
export interface ChangeBatch {
  /** In `seq` order, at most the `limit` asked for. */
  readonly events: KeyEvent[];
  /** The current record of each key the events name (a key deleted since is absent). */
  readonly records: KeyRecord[];
}

/**
 * What the change-feed follower reads (src/verify/change-feed-follower.ts): the store itself,
 * or the change feed thread (src/store/feed-thread/), which reads SQLite with a connection of
 * its own so the reads do not run on the thread that answers requests. A returned promise
 * settles only once the read has reached the store; a failed read rejects.
 */
export interface ChangeFeedReads {
  /** The newest event's seq, 0 when the log is empty. */
  latestEventSeq(): Promise<number>;
  changesSince(afterSeq: number, limit: number): Promise<ChangeBatch>;
}

/**
 * The key cache's reads of key records (src/verify/key-verifier.ts), made on a cache miss: the
 * store itself, or on SQLite the change feed thread, so that a miss costs the request thread a
 * message instead of a B-tree read (tens of µs on a store of a million keys). A failed read
 * rejects, and the key check answers 503 (fail closed).
 */
export type KeyLookups = Pick<KeyStore, 'getKeyByDigest' | 'getKeyById' | 'getKeysByCertFingerprint'>;

/** The reads a store answers itself, on the thread that calls them. */
export type ChangeFeedStore = Pick<KeyStore, 'latestEventSeq' | 'eventsSince' | 'getKeyById'>;

/** `ChangeFeedReads` made of a store's own methods: the events, then each key they name. */
export function changeFeedReadsOf(store: ChangeFeedStore): ChangeFeedReads {
  return {
    latestEventSeq: () => store.latestEventSeq(),
    async changesSince(afterSeq, limit) {
      const events = await store.eventsSince(afterSeq, limit);
      if (events.length === 0) return { events, records: [] };
      const keyIds = [...new Set(events.map((event) => event.keyId))];
      const records = await Promise.all(keyIds.map((keyId) => store.getKeyById(keyId)));
      return { events, records: records.filter((record) => record !== null) };
    },
  };
}
