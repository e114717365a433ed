import type { KeyRecord } from '../keys/key-record.ts';
import type { KeyStore } from '../store/key-store.ts';
import { adminKeyStatus, type AdminKeyStatus } from './admin-views.ts';

/** At most this many records are held; a store with more is listed, sorted and counted by its first ones, and says so. */
const MAX_KEYS = 50_000;
/** Last-used times change without a key event (they are written in batches), so a snapshot is re-read after this long. */
const MAX_AGE = 5_000;
const PAGE = 500;

export interface KeySnapshot {
  readonly records: readonly KeyRecord[];
  readonly byId: ReadonlyMap<string, KeyRecord>;
  /** False when the store holds more than MAX_KEYS keys. */
  readonly complete: boolean;
}

export type KeyCounts = Record<'total' | AdminKeyStatus, number>;

/**
 * Every key record, for what the store's interface cannot do by itself: sort by any column,
 * count by status, find keys expiring soon. Read in pages of 500 and kept until the change
 * feed moves, a change is made through this API, or MAX_AGE passes; concurrent callers share
 * one read.
 */
export class KeyCatalogue {
  readonly #store: Pick<KeyStore, 'listKeys'>;
  readonly #feed: { readonly lastSeq: number };
  #snapshot: { at: number; seq: number; value: KeySnapshot } | null = null;
  #loading: Promise<KeySnapshot> | null = null;

  constructor(store: Pick<KeyStore, 'listKeys'>, feed: { readonly lastSeq: number }) {
    this.#store = store;
    this.#feed = feed;
  }

  /** Forget the snapshot: the next read goes to the store. */
  invalidate(): void {
    this.#snapshot = null;
  }

  async snapshot(now = Date.now()): Promise<KeySnapshot> {
    const held = this.#snapshot;
    if (held !== null && held.seq === this.#feed.lastSeq && now - held.at < MAX_AGE) return held.value;
    this.#loading ??= this.#load(now).finally(() => {
      this.#loading = null;
    });
    return this.#loading;
  }

  async #load(now: number): Promise<KeySnapshot> {
    const seq = this.#feed.lastSeq;
    const records: KeyRecord[] = [];
    let after: string | undefined;
    let complete = true;
    for (;;) {
      const page = await this.#store.listKeys({ after, limit: PAGE });
      records.push(...page);
      if (page.length < PAGE) break;
      if (records.length >= MAX_KEYS) {
        complete = false;
        break;
      }
      after = page.at(-1)?.id;
    }
    const value: KeySnapshot = { records, byId: new Map(records.map((record) => [record.id, record])), complete };
    this.#snapshot = { at: now, seq, value };
    return value;
  }
}

export function countByStatus(records: readonly KeyRecord[], now: number): KeyCounts {
  const counts: KeyCounts = { total: records.length, active: 0, rotating: 0, quarantined: 0, revoked: 0, expired: 0 };
  for (const record of records) counts[adminKeyStatus(record, now)]++;
  return counts;
}
