import type { KeyRecord } from '../keys/key-record.ts';
import type { UsageStore } from '../store/usage-store.ts';
import { adminKeyStatus } from './admin-views.ts';
import { countByStatus, type KeyCatalogue } from './key-catalogue.ts';
import { totalsByKey, type KeyCount, type UsageRollup } from './usage-rollup.ts';

const TOP = 10;
/** Refusal codes are read per key (the store has no cross-key breakdown) for this many of the most refused keys; the rest count as `other`. */
const CODED_KEYS = 8;
/** Keys whose refusal codes are held (the most refused of recent overviews). */
const MAX_CODED_KEYS_HELD = 200;
const EXPIRING_WITHIN = 14 * 86_400_000;
const LISTED = 10;

interface OverviewKey {
  id: string;
  name: string;
  status: string;
  requests: number;
  denied: number;
}

/** The overview page in one call: traffic and refusals by code over the window, the keys that stand out, and this node's health. */
export async function buildOverview(parts: { catalogue: KeyCatalogue; rollup: UsageRollup; codes: RefusalCodes }, window: string, now: number) {
  const [snapshot, usage] = await Promise.all([parts.catalogue.snapshot(now), parts.rollup.window(window, now)]);
  const perKey = totalsByKey(usage.buckets);
  const describe = (id: string, count: KeyCount): OverviewKey => {
    const record = snapshot.byId.get(id);
    return { id, name: record?.name ?? id, status: record === undefined ? 'unknown' : adminKeyStatus(record, now), requests: count.requests, denied: count.denied };
  };
  const ranked = (by: keyof KeyCount) =>
    [...perKey].filter(([, count]) => count[by] > 0).sort((a, b) => b[1][by] - a[1][by] || (a[0] < b[0] ? -1 : 1)).slice(0, TOP).map(([id, count]) => describe(id, count));
  const topByDenials = ranked('denied');

  const points = usage.buckets.map((bucket, index) => ({
    t: new Date(usage.from + index * usage.step).toISOString(),
    requests: bucket?.requests ?? 0,
    denied: bucket?.denied ?? 0,
    denials: {} as Record<string, number>,
    summed: bucket !== null,
  }));
  const codeTotals = await refusalsByCode(parts.codes, topByDenials.slice(0, CODED_KEYS), usage, points, now);

  let requests = 0;
  let denied = 0;
  for (const point of points) {
    requests += point.requests;
    denied += point.denied;
  }
  return {
    window,
    from: new Date(usage.from).toISOString(),
    to: new Date(usage.to).toISOString(),
    step: usage.step / 1000,
    pending: usage.pending,
    points,
    codes: Object.entries(codeTotals).sort((a, b) => (a[0] === 'other' ? 1 : b[0] === 'other' ? -1 : b[1] - a[1])).map(([code, count]) => ({ code, count })),
    totals: { requests, denied, keysWithTraffic: perKey.size },
    topByRequests: ranked('requests'),
    topByDenials,
    keys: { ...countByStatus(snapshot.records, now), complete: snapshot.complete },
    expiringSoon: expiringSoon(snapshot.records, now),
    recentRevocations: snapshot.records
      .filter((record) => record.revokedAt !== null)
      .sort((a, b) => (b.revokedAt as number) - (a.revokedAt as number))
      .slice(0, LISTED)
      .map((record) => ({ id: record.id, name: record.name, revokedAt: new Date(record.revokedAt as number).toISOString(), revokedReason: record.revokedReason })),
  };
}

/** Refusals by code of one key, per minute, for the minutes that have settled (no late batch can change them). */
interface HeldCodes {
  /** The minutes held are those of `[from, settledUntil)` that had refusals. */
  from: number;
  settledUntil: number;
  madeAt: number;
  minutes: Array<{ minute: number; denials: Record<string, number> }>;
}

/**
 * Each key's refusals by code, read with `usageSeries` (the store has no breakdown across
 * keys). Minutes that have settled are held, so a second look reads only the newest minutes.
 */
export class RefusalCodes {
  readonly #store: Pick<UsageStore, 'usageSeries'>;
  readonly #held = new Map<string, HeldCodes>();
  readonly #settle: number;
  readonly #ttl: number;

  constructor(store: Pick<UsageStore, 'usageSeries'>, settle = 2 * 60_000, ttl = 10 * 60_000) {
    this.#store = store;
    this.#settle = settle;
    this.#ttl = ttl;
  }

  async minutes(keyId: string, from: number, to: number, now: number): Promise<HeldCodes['minutes']> {
    const held = this.#held.get(keyId);
    const usable = held !== undefined && now - held.madeAt < this.#ttl && held.from <= from ? held : null;
    const start = usable === null ? from : Math.max(from, usable.settledUntil);
    const fresh = (await this.#store.usageSeries(keyId, start, to)).filter((row) => Object.keys(row.denials).length > 0).map((row) => ({ minute: row.minute, denials: row.denials }));
    const old = usable === null ? [] : usable.minutes.filter((row) => row.minute >= from && row.minute < start);
    const settledUntil = Math.max(start, Math.min(to, now - this.#settle - (now % 60_000)));
    this.#held.delete(keyId);
    this.#held.set(keyId, { from, settledUntil, madeAt: usable?.madeAt ?? now, minutes: [...old, ...fresh.filter((row) => row.minute < settledUntil)] });
    if (this.#held.size > MAX_CODED_KEYS_HELD) this.#held.delete(this.#held.keys().next().value as string);
    return [...old, ...fresh];
  }
}

/** Fills each point's `denials` by code from the most refused keys; what the others refused is `other`. */
async function refusalsByCode(
  codes: RefusalCodes,
  keys: readonly OverviewKey[],
  usage: { from: number; to: number; step: number },
  points: Array<{ denied: number; denials: Record<string, number> }>,
  now: number,
): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const key of keys) {
    for (const minute of await codes.minutes(key.id, usage.from, usage.to, now)) {
      const point = points[Math.floor((minute.minute - usage.from) / usage.step)];
      if (point === undefined) continue;
      for (const [code, count] of Object.entries(minute.denials)) {
        point.denials[code] = (point.denials[code] ?? 0) + count;
        totals[code] = (totals[code] ?? 0) + count;
      }
    }
  }
  for (const point of points) {
    let coded = 0;
    for (const count of Object.values(point.denials)) coded += count;
    const other = point.denied - coded;
    if (other > 0) {
      point.denials.other = other;
      totals.other = (totals.other ?? 0) + other;
    }
  }
  return totals;
}

function expiringSoon(records: readonly KeyRecord[], now: number) {
  return records
    .filter((record) => record.revokedAt === null && record.expiresAt !== null && record.expiresAt > now && record.expiresAt - now <= EXPIRING_WITHIN)
    .sort((a, b) => (a.expiresAt as number) - (b.expiresAt as number))
    .slice(0, LISTED)
    .map((record) => ({ id: record.id, name: record.name, status: adminKeyStatus(record, now), expiresAt: new Date(record.expiresAt as number).toISOString() }));
}
