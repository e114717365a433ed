import type { SentError } from '../write-thread/write-messages.ts';

/**
 * The messages between the request thread and the change feed thread. Each request names one
 * `ChangeFeedReads` or `KeyLookups` method, `recentlyUsedKeys` or `getKeysByDigest` (the key
 * cache's misses of one turn of the event loop, read together), or `close`, which ends the
 * thread's connection, with its arguments; each reply carries the request's id and the
 * result, or the error the read threw (carried as the write thread carries its errors:
 * write-messages.ts).
 */
export type FeedMethod = 'latestEventSeq' | 'changesSince' | 'recentlyUsedKeys' | 'getKeysByDigest' | 'getKeyById' | 'getKeysByCertFingerprint' | 'close';

export interface FeedRequest {
  readonly id: number;
  readonly method: FeedMethod;
  readonly args: readonly (number | string)[];
}

export type FeedReply = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: SentError };

/** What the thread is started with. */
export interface ChangeFeedWorkerData {
  /** The SQLite store's path (created and migrated by the request thread already). */
  readonly location: string;
}
