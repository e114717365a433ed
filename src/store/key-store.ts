import type { KeyRecord, KeySettings } from '../keys/key-record.ts';
import type { AuditActor } from './audit-log.ts';

/** What happened to a key; one row of the `key_events` change log. */
export type KeyEventKind = 'created' | 'revoked' | 'rotated' | 'updated' | 'quarantined' | 'released';

export interface KeyEvent {
  /** Monotonically increasing across the whole store. */
  seq: number;
  keyId: string;
  kind: KeyEventKind;
  at: number;
}

/** Facts about a change recorded in its audit entry's details, such as `{source, url}` of a leak report. */
export type AuditEvidence = Readonly<Record<string, string | null>>;

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

/** Requests admitted for one key in one quota period (its start, ms since the epoch). */
export interface QuotaUsageDelta {
  keyId: string;
  periodStart: number;
  used: number;
}

/** A key's quota counter: the latest period it has counts for, and how many. */
export type QuotaUsage = QuotaUsageDelta;

export interface RotateResult {
  oldKey: KeyRecord;
  newKey: KeyRecord;
}

/** Settings an update may change; absent fields stay as they are. */
export type KeySettingsUpdate = Partial<KeySettings>;

/** What `importKeys` did. */
export interface ImportResult {
  /** Keys created. */
  created: number;
  /** Keys skipped because a key with the same digest was already stored (or earlier in the batch). */
  alreadyStored: number;
}

/** Called as an import proceeds (`done` of `total` keys handled), for a progress bar. */
export type ImportProgress = (done: number, total: number) => void;

/** A live `subscribeToChanges` registration. */
export interface ChangeSubscription {
  /** Whether notifications are arriving right now (false while reconnecting). */
  readonly listening: boolean;
  close(): Promise<void>;
}

/**
 * The one storage interface. Every mutation appends to the change log and to
 * the audit log (`by` says who made it) in the same transaction, so a follower
 * that applies events in `seq` order sees every change exactly once, and no
 * path can change a key without an audit entry. All methods are async so that
 * networked stores (PostgreSQL) fit the same interface; the embedded SQLite
 * store answers at once.
 *
 * Every store writes a value the same way (`stored-values.ts`): times are floored to a whole
 * millisecond (request times have fractions), and what a store could not keep exactly (a
 * fractional or overflowing count, text with U+0000) is refused with a `RangeError` before
 * anything is written.
 */
export interface KeyStore {
  /** Applies pending migrations. Idempotent. */
  migrate(): Promise<void>;
  createKey(key: NewKey, now: number, by: AuditActor): Promise<KeyRecord>;
  getKeyById(id: string): Promise<KeyRecord | null>;
  getKeyByDigest(digest: string): Promise<KeyRecord | null>;
  /**
   * Up to `limit` unrevoked keys that have been used, most recently used first: what a starting
   * gateway loads into its key cache (`cache.warmKeys`). No index serves the order: it is read
   * once per start, off the request thread, and an index would cost every last-use write.
   */
  recentlyUsedKeys(limit: number): Promise<KeyRecord[]>;
  /** Keys bound to a client certificate (64 lower-case hex SHA-256), newest first. */
  getKeysByCertFingerprint(fingerprint: string): Promise<KeyRecord[]>;
  listKeys(filter?: KeyFilter): Promise<KeyRecord[]>;
  /**
   * Revokes one key; returns the record, or null when there is no such key. Revoking twice keeps
   * the first time and reason. `evidence` joins the audit entry's details (a leak report's URL
   * and source, say); never a key.
   */
  revokeKey(id: string, reason: string | null, now: number, by: AuditActor, evidence?: AuditEvidence): Promise<KeyRecord | null>;
  /**
   * Quarantines one key: refused (403 `key_quarantined`) on every node until released or
   * revoked. Returns the record, or null when there is no such key. A key already quarantined
   * keeps its first time and reason, and a revoked one is left as it is (no event, no audit
   * entry in either case). `evidence` as for `revokeKey`.
   */
  quarantineKey(id: string, reason: string, now: number, by: AuditActor, evidence?: AuditEvidence): Promise<KeyRecord | null>;
  /** Lifts a quarantine. Returns the record, or null when there is no such key; a key not quarantined is left as it is. */
  releaseKey(id: string, reason: string | null, now: number, by: AuditActor): Promise<KeyRecord | null>;
  /** Revokes every unrevoked key carrying the tag; returns the records it revoked. */
  revokeKeysByTag(tag: string, reason: string | null, now: number, by: AuditActor): Promise<KeyRecord[]>;
  /**
   * Creates `replacement` with the old key's settings and makes the old key expire at
   * `graceEndsAt` (or earlier, if it already expired sooner). Null when `oldId` is unknown.
   */
  rotateKey(oldId: string, replacement: Omit<NewKey, keyof KeySettings>, graceEndsAt: number, now: number, by: AuditActor): Promise<RotateResult | null>;
  /**
   * Creates many keys in ONE transaction: all of them, or none when any is refused (a
   * duplicate id, a value the store cannot keep). A key whose digest is already stored (or
   * comes earlier in the batch) is skipped, so importing the same file twice creates nothing
   * the second time. Each created key gets its `created` event and audit entry, as
   * `createKey` writes them.
   */
  importKeys(keys: readonly NewKey[], now: number, by: AuditActor, onProgress?: ImportProgress): Promise<ImportResult>;
  /**
   * Changes a key's settings. Null when there is no such key; a change that changes nothing
   * returns the record and writes neither an event nor an audit entry.
   */
  updateKey(id: string, changes: KeySettingsUpdate, now: number, by: AuditActor): Promise<KeyRecord | null>;
  /** Events with `seq > afterSeq`, oldest first, at most `limit`. */
  eventsSince(afterSeq: number, limit: number): Promise<KeyEvent[]>;
  /** The newest event's seq, 0 when the log is empty. */
  latestEventSeq(): Promise<number>;
  /** Merges a batch of last-used facts; a later time never loses to an earlier one. */
  recordUsage(batch: KeyUsage[]): Promise<void>;
  /**
   * Adds a batch of quota counts (from one gateway node's flush) and returns each key's
   * counter afterwards. A key keeps one counter, for its latest period: a count for a newer
   * period replaces it, a count for an older period (a late flush) is ignored. Counts for
   * keys that do not exist are skipped.
   */
  addQuotaUsage(batch: QuotaUsageDelta[]): Promise<QuotaUsage[]>;
  /** The key's quota counter, or null when nothing was counted for it yet. */
  getQuotaUsage(keyId: string): Promise<QuotaUsage | null>;
  /**
   * Optional: calls `onChange` soon after any process commits a key event (PostgreSQL
   * LISTEN/NOTIFY). Only a wake-up: followers still read `eventsSince` and keep polling.
   */
  subscribeToChanges?(onChange: () => void): Promise<ChangeSubscription>;
  close(): Promise<void>;
}
