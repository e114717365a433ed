import type { KeyRecord } from '../keys/key-record.ts';
import type { UsageStep, UsageStore, UsageTotal } from '../store/usage-store.ts';
import { adminKeyStatus } from './admin-views.ts';
import { countByStatus, type KeyCatalogue } from './key-catalogue.ts';
import { windowBounds } from './usage-rollup.ts';

const TOP = 10;
const EXPIRING_WITHIN = 14 * 86_400_000;
const LISTED = 10;

/** A step that ended this long ago gets no more late batches (nodes flush every `usage.flushInterval`). */
const SETTLE = 2 * 60_000;
/** Even settled steps are read again after this long (a node that was cut off from the store). */
const HELD_FOR = 10 * 60_000;

/** What the overview reads from the store: every sum is made there, in SQL. */
export type OverviewUsage = Pick<UsageStore, 'usageSteps' | 'usageTotals' | 'usageKeyCount'>;

/** The overview page in one call: traffic and refusals by code over the window, the keys that stand out, and this node's health. */
export async function buildOverview(parts: { catalogue: KeyCatalogue; store: OverviewUsage; steps: SettledSteps }, window: string, now: number) {
  const { from, to, step } = windowBounds(window, now);
  const [snapshot, steps, byRequests, byDenials, keysWithTraffic] = await Promise.all([
    parts.catalogue.snapshot(now),
    parts.steps.read(parts.store, { from, to, step }, now),
    parts.store.usageTotals(from, to, TOP, 'requests'),
    parts.store.usageTotals(from, to, TOP, 'denied'),
    parts.store.usageKeyCount(from, to),
  ]);
  const describe = (total: UsageTotal) => {
    const record = snapshot.byId.get(total.keyId);
    return { id: total.keyId, name: record?.name ?? total.keyId, status: record === undefined ? 'unknown' : adminKeyStatus(record, now), requests: total.requests, denied: total.denied };
  };

  const points = chartPoints(steps, from, to, step);
  const codeTotals: Record<string, number> = {};
  let requests = 0;
  let denied = 0;
  for (const point of points) {
    requests += point.requests;
    denied += point.denied;
    for (const [code, count] of Object.entries(point.denials)) codeTotals[code] = (codeTotals[code] ?? 0) + count;
  }
  return {
    window,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    step: step / 1000,
    points,
    codes: Object.entries(codeTotals).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([code, count]) => ({ code, count })),
    totals: { requests, denied, keysWithTraffic },
    topByRequests: byRequests.filter((total) => total.requests > 0).map(describe),
    topByDenials: byDenials.map(describe),
    keys: { ...countByStatus(snapshot.records, now), complete: snapshot.complete },
    expiringSoon: expiringSoon(snapshot.records, now),
    recentRevocations: snapshot.records
      .filter((record) => record.revokedAt !== null)
      .sort((a, b) => (b.revokedAt as number) - (a.revokedAt as number))
      .slice(0, LISTED)
      .map((record) => ({ id: record.id, name: record.name, revokedAt: new Date(record.revokedAt as number).toISOString(), revokedReason: record.revokedReason })),
  };
}

interface HeldSteps {
  /** The steps held are those of `[from, until)` that had traffic. */
  from: number;
  until: number;
  madeAt: number;
  steps: UsageStep[];
}

/**
 * The settled steps of recent overviews, one window per step length. A step that has settled
 * does not change, so a second look asks the store only for the steps after those held (the
 * dashboard asks again every 15 s); the cold look sums the whole window in one call.
 */
export class SettledSteps {
  readonly #held = new Map<number, HeldSteps>();

  async read(store: Pick<UsageStore, 'usageSteps'>, { from, to, step }: { from: number; to: number; step: number }, now: number): Promise<UsageStep[]> {
    const held = this.#held.get(step);
    const usable = held !== undefined && now - held.madeAt < HELD_FOR && held.from <= from && held.until > from ? held : null;
    const start = usable === null ? from : usable.until;
    const fresh = await store.usageSteps(start, to, step);
    const old = usable === null ? [] : usable.steps.filter((summed) => summed.at >= from);
    const until = Math.max(start, Math.min(to, from + Math.floor((now - SETTLE - from) / step) * step));
    this.#held.set(step, { from, until, madeAt: usable?.madeAt ?? now, steps: [...old, ...fresh.filter((summed) => summed.at < until)] });
    return [...old, ...fresh];
  }
}

/** One point per step of `[from, to)`, oldest first; a step the store left out had no traffic. */
function chartPoints(steps: readonly UsageStep[], from: number, to: number, step: number) {
  const byStart = new Map(steps.map((summed) => [summed.at, summed]));
  const points: Array<{ t: string; requests: number; denied: number; denials: Record<string, number> }> = [];
  for (let at = from; at < to; at += step) {
    const summed = byStart.get(at);
    let denied = 0;
    for (const count of Object.values(summed?.denials ?? {})) denied += count;
    points.push({ t: new Date(at).toISOString(), requests: summed?.requests ?? 0, denied, denials: summed?.denials ?? {} });
  }
  return points;
}

function expiringSoon(records: readonly KeyRecord[], now: number) {
  return records
    .filter((record) => record.revokedAt === null && record.expiresAt !== null && record.expiresAt > now && record.expiresAt - now <= EXPIRING_WITHIN)
    .sort((a, b) => (a.expiresAt as number) - (b.expiresAt as number))
    .slice(0, LISTED)
    .map((record) => ({ id: record.id, name: record.name, status: adminKeyStatus(record, now), expiresAt: new Date(record.expiresAt as number).toISOString() }));
}
