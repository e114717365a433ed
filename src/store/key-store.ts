import type { KeyRecord, KeySettings } from '../keys/key-record.ts';

/** What happened to a key; one row of the `key_events` change log. */
export type KeyEventKind = 'created' | 'revoked' | 'rotated' | 'updated';

export interface KeyEvent {
  /** Monotonically increasing across the whole store. */
  seq: number;
  keyId: string;
  kind: KeyEventKind;
  at: number;
}

/** A new key's row: the settings plus what the caller derived from the plaintext. */
export interface NewKey extends KeySettings {
  id: string;
  digest: string;
  displayPrefix: string;
}

export interface KeyFilter {
  tag?: string;
  /** Page size; implementations cap it. */
  limit?: number;
  /** Return keys whose id sorts after this one (stable paging by id). */
  after?: string;
}

/** Last-used facts aggregated by a gateway node and written in one batch. */
export interface KeyUsage {
  keyId: string;
  lastUsedAt: number;
  lastUsedAddress: string;
}

export interface RotateResult {
  oldKey: KeyRecord;
  newKey: KeyRecord;
}

/** A live `subscribeToChanges` registration. */
export interface ChangeSubscription {
  /** Whether notifications are arriving right now (false while reconnecting). */
  readonly listening: boolean;
  close(): Promise<void>;
}

/**
 * The one storage interface. Every mutation appends to the change log in the
 * same transaction, so a follower that applies events in `seq` order sees
 * every change exactly once. All methods are async so that networked stores
 * (PostgreSQL) fit the same interface; the embedded SQLite store answers at once.
 */
export interface KeyStore {
  /** Applies pending migrations. Idempotent. */
  migrate(): Promise<void>;
  createKey(key: NewKey, now: number): Promise<KeyRecord>;
  getKeyById(id: string): Promise<KeyRecord | null>;
  getKeyByDigest(digest: string): Promise<KeyRecord | null>;
  listKeys(filter?: KeyFilter): Promise<KeyRecord[]>;
  /** Revokes one key; returns the record, or null when there is no such key. Revoking twice keeps the first time and reason. */
  revokeKey(id: string, reason: string | null, now: number): Promise<KeyRecord | null>;
  /** Revokes every unrevoked key carrying the tag; returns the records it revoked. */
  revokeKeysByTag(tag: string, reason: string | null, now: number): Promise<KeyRecord[]>;
  /**
   * Creates `replacement` with the old key's settings and makes the old key expire at
   * `graceEndsAt` (or earlier, if it already expired sooner). Null when `oldId` is unknown.
   */
  rotateKey(oldId: string, replacement: Omit<NewKey, keyof KeySettings>, graceEndsAt: number, now: number): Promise<RotateResult | null>;
  /** Events with `seq > afterSeq`, oldest first, at most `limit`. */
  eventsSince(afterSeq: number, limit: number): Promise<KeyEvent[]>;
  /** The newest event's seq, 0 when the log is empty. */
  latestEventSeq(): Promise<number>;
  /** Merges a batch of last-used facts; a later time never loses to an earlier one. */
  recordUsage(batch: KeyUsage[]): Promise<void>;
  /**
   * Optional: calls `onChange` soon after any process commits a key event (PostgreSQL
   * LISTEN/NOTIFY). Only a wake-up: followers still read `eventsSince` and keep polling.
   */
  subscribeToChanges?(onChange: () => void): Promise<ChangeSubscription>;
  close(): Promise<void>;
}
