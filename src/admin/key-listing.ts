import type { KeyRecord } from '../keys/key-record.ts';
import type { KeyStore } from '../store/key-store.ts';
import { adminKeyStatus, adminKeyView, type AdminKeyStatus } from './admin-views.ts';
import { countByStatus, type KeyCatalogue, type KeyCounts } from './key-catalogue.ts';
import { totalsByKey, type KeyCount, type UsageRollup } from './usage-rollup.ts';

/** A filtered listing by id reads at most this many records per call, then hands back a cursor. */
const MAX_SCANNED = 5000;

export type KeySort = 'name' | 'created' | 'lastUsed' | 'requests' | 'status';

export interface KeyListQuery {
  q?: string;
  tag?: string;
  status?: AdminKeyStatus;
  limit: number;
  after?: string;
  sort?: KeySort;
  order?: 'asc' | 'desc';
  offset?: number;
  window: string;
}

function matches(record: KeyRecord, query: KeyListQuery, needle: string | undefined, now: number): boolean {
  if (needle !== undefined && !record.name.toLowerCase().includes(needle) && !record.id.toLowerCase().includes(needle)) return false;
  if (query.tag !== undefined && !record.tags.includes(query.tag)) return false;
  return query.status === undefined || adminKeyStatus(record, now) === query.status;
}

/**
 * Keys matching a search and a status, paged by id. The store pages by tag and id only, so
 * other filters are applied here, reading at most MAX_SCANNED records per call; `next` lets
 * the caller continue from where the scan stopped even when a page holds fewer matches.
 */
export async function listKeysById(store: Pick<KeyStore, 'listKeys'>, query: KeyListQuery, now: number) {
  const needle = query.q?.toLowerCase();
  const items: KeyRecord[] = [];
  let after = query.after;
  let scanned = 0;
  const page = (next: string | null) => ({ items: items.map((record) => adminKeyView(record, now)), next });
  for (;;) {
    const records = await store.listKeys({ tag: query.tag, after, limit: 500 });
    for (const record of records) {
      scanned++;
      after = record.id;
      if (!matches(record, { ...query, tag: undefined }, needle, now)) continue;
      items.push(record);
      if (items.length === query.limit) return page(record.id);
    }
    if (records.length < 500) return page(null);
    if (scanned >= MAX_SCANNED) return page(after ?? null);
  }
}

const STATUS_ORDER: Record<AdminKeyStatus, number> = { active: 0, rotating: 1, quarantined: 2, expired: 3, revoked: 4 };
const NO_USAGE: KeyCount = { requests: 0, denied: 0 };

function comparator(sort: KeySort, usage: ReadonlyMap<string, KeyCount>, now: number): (a: KeyRecord, b: KeyRecord) => number {
  switch (sort) {
    case 'name':
      return (a, b) => a.name.localeCompare(b.name, 'en', { sensitivity: 'base', numeric: true });
    case 'created':
      return (a, b) => a.createdAt - b.createdAt;
    case 'lastUsed':
      // Never used sorts before any use.
      return (a, b) => (a.lastUsedAt ?? -1) - (b.lastUsedAt ?? -1);
    case 'requests':
      return (a, b) => (usage.get(a.id) ?? NO_USAGE).requests - (usage.get(b.id) ?? NO_USAGE).requests;
    case 'status':
      return (a, b) => STATUS_ORDER[adminKeyStatus(a, now)] - STATUS_ORDER[adminKeyStatus(b, now)];
  }
}

export interface SortedKeyPage {
  items: Array<Record<string, unknown>>;
  next: null;
  nextOffset: number | null;
  /** Keys matching the filters. */
  matched: number;
  /** Every key, by status (filters do not apply). */
  counts: KeyCounts;
  /** False when the store holds more keys than the catalogue reads. */
  complete: boolean;
  /** Steps of the usage window not summed yet (requests are then partial). */
  usagePending: number;
}

/** Keys sorted by any column (ties by id), filtered, with totals, each with its requests in the window. */
export async function listKeysSorted(catalogue: KeyCatalogue, rollup: UsageRollup, query: KeyListQuery & { sort: KeySort }, now: number): Promise<SortedKeyPage> {
  const [snapshot, usage] = await Promise.all([catalogue.snapshot(now), rollup.window(query.window, now)]);
  const perKey = totalsByKey(usage.buckets);
  const needle = query.q?.toLowerCase();
  const compare = comparator(query.sort, perKey, now);
  const direction = query.order === 'asc' ? 1 : -1;
  const matched = snapshot.records.filter((record) => matches(record, query, needle, now));
  matched.sort((a, b) => direction * (compare(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  const offset = query.offset ?? 0;
  const items = matched.slice(offset, offset + query.limit).map((record) => ({ ...adminKeyView(record, now), usage: perKey.get(record.id) ?? NO_USAGE }));
  return {
    items,
    next: null,
    nextOffset: offset + query.limit < matched.length ? offset + query.limit : null,
    matched: matched.length,
    counts: countByStatus(snapshot.records, now),
    complete: snapshot.complete,
    usagePending: usage.pending,
  };
}
