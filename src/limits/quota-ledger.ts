import type { QuotaUsage, QuotaUsageDelta } from '../store/key-store.ts';
import { REFUSALS_BEFORE_DROP, storeRefusedWrite } from '../store/store-errors.ts';
import type { UsageWrites } from '../store/usage-writes.ts';

/** What the ledger reads and writes: a key's counter once, counts in batches (the store write thread in the gateway). */
type QuotaStore = Pick<UsageWrites, 'getQuotaUsage' | 'addQuotaUsage'>;
import { quotaPeriodAt, type CompiledQuota } from './rate-policy.ts';

/** What this node knows about one key's quota in the current period. */
export interface QuotaEntry {
  /** The key's quota (kept here so an entry is the QuotaTake the limiters read). */
  limit: number;
  periodStart: number;
  periodEnd: number;
  /** Requests admitted in the period, as far as this node knows (store + own + Redis replies). */
  used: number;
  /** Admitted here and not yet written to the store. */
  pending: number;
}

/**
 * Each node's view of quota usage, persisted in batches like last-used times
 * (usage-recorder.ts): the hot path only bumps numbers; every flush adds this node's new
 * requests to the store's per-key counter and reads back the total, so nodes sharing a store
 * learn of each other's use within one flush interval. A key's entry is read from the store
 * once, on its first request in this process (a promise only then).
 *
 * Accuracy: with one node the quota is exact. With several nodes and no Redis, a key can be
 * over-admitted by what the other nodes admit within one flush interval. With Redis the
 * counter in Redis decides (exact across nodes); the store still receives every node's count,
 * so `keys show` is at most one flush interval behind in either case.
 */
export class QuotaLedger {
  readonly #store: QuotaStore;
  readonly #entries = new Map<string, QuotaEntry>();
  readonly #loading = new Map<string, Promise<QuotaEntry>>();
  /** Counts of periods that ended before they were flushed. */
  #carried: QuotaUsageDelta[] = [];
  /** Batches the store refused (not an outage): retried on their own, never merged into new counts. */
  #refused: Array<{ batch: QuotaUsageDelta[]; refusals: number }> = [];
  readonly #maxEntries: number;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> | null = null;
  readonly #onError: (error: unknown) => void;
  readonly #onDropped: (batch: QuotaUsageDelta[], error: unknown) => void;

  constructor(store: QuotaStore, options: { maxEntries: number; onError: (error: unknown) => void; onDropped?: (batch: QuotaUsageDelta[], error: unknown) => void }) {
    this.#store = store;
    this.#maxEntries = options.maxEntries;
    this.#onError = options.onError;
    this.#onDropped = options.onDropped ?? (() => {});
  }

  /** The key's entry for the period containing `now`, or a promise of it on first sight. */
  entry(keyId: string, quota: CompiledQuota, now: number): QuotaEntry | Promise<QuotaEntry> {
    const entry = this.#entries.get(keyId);
    if (entry !== undefined) {
      if (now >= entry.periodEnd || now < entry.periodStart) this.#rollOver(keyId, entry, quota, now);
      entry.limit = quota.limit;
      return entry;
    }
    return this.#load(keyId, quota, now);
  }

  /** Records one admitted request; `usedByCluster` is Redis's count when Redis decided. */
  admitted(entry: QuotaEntry, usedByCluster: number): void {
    entry.used = usedByCluster > entry.used + 1 ? usedByCluster : entry.used + 1;
    entry.pending++;
  }

  start(interval: number): void {
    this.#timer = setInterval(() => {
      this.flush().catch(this.#onError);
    }, interval);
    this.#timer.unref();
  }

  /**
   * Adds what was admitted since the last flush to the store, and learns the totals. One flush at
   * a time: the interval, `stop()` and the limiter's own flush can meet while the store is slow,
   * and two flushes would retry the same refused batch twice.
   */
  async flush(): Promise<void> {
    while (this.#flushing !== null) await this.#flushing.catch(() => undefined);
    this.#flushing = this.#flushOnce();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
    }
  }

  async #flushOnce(): Promise<void> {
    const carried = this.#carried;
    this.#carried = [];
    const batch = [...carried];
    const flushed: Array<[QuotaEntry, number]> = [];
    for (const [keyId, entry] of this.#entries) {
      if (entry.pending === 0) continue;
      batch.push({ keyId, periodStart: entry.periodStart, used: entry.pending });
      flushed.push([entry, entry.pending]);
      entry.pending = 0;
    }
    await this.#retryRefused();
    if (batch.length === 0) return;
    let totals;
    try {
      totals = await this.#store.addQuotaUsage(batch);
    } catch (error) {
      if (storeRefusedWrite(error)) {
        // Refused, so it would be refused again: kept apart, or it would take every later count down with it.
        this.#refused.push({ batch, refusals: 1 });
        throw error;
      }
      // Nothing was written: put the counts back for the next flush.
      for (const [entry, count] of flushed) entry.pending += count;
      this.#carried.unshift(...carried);
      throw error;
    }
    this.#learn(totals);
    this.#evictIdle();
  }

  /** Writes each refused batch again; one refused REFUSALS_BEFORE_DROP times is dropped and reported. */
  async #retryRefused(): Promise<void> {
    for (const refused of [...this.#refused]) {
      try {
        this.#learn(await this.#store.addQuotaUsage(refused.batch));
      } catch (error) {
        // Out of reach: try again at the next flush.
        if (!storeRefusedWrite(error)) return;
        refused.refusals++;
        if (refused.refusals < REFUSALS_BEFORE_DROP) continue;
        this.#onDropped(refused.batch, error);
      }
      const index = this.#refused.indexOf(refused);
      if (index !== -1) this.#refused.splice(index, 1);
    }
  }

  /** Raises each entry's count to what the store now holds for its period. */
  #learn(totals: readonly QuotaUsage[]): void {
    for (const total of totals) {
      const entry = this.#entries.get(total.keyId);
      if (entry === undefined || entry.periodStart !== total.periodStart) continue;
      const known = total.used + entry.pending;
      if (known > entry.used) entry.used = known;
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }

  #rollOver(keyId: string, entry: QuotaEntry, quota: CompiledQuota, now: number): void {
    if (entry.pending > 0) this.#carried.push({ keyId, periodStart: entry.periodStart, used: entry.pending });
    const period = quotaPeriodAt(quota.period, now);
    entry.periodStart = period.start;
    entry.periodEnd = period.end;
    entry.used = 0;
    entry.pending = 0;
  }

  #load(keyId: string, quota: CompiledQuota, now: number): Promise<QuotaEntry> {
    const loading = this.#loading.get(keyId);
    if (loading !== undefined) return loading;
    const promise = this.#store.getQuotaUsage(keyId).then(
      (stored) => {
        this.#loading.delete(keyId);
        const period = quotaPeriodAt(quota.period, now);
        const entry: QuotaEntry = { limit: quota.limit, periodStart: period.start, periodEnd: period.end, used: stored !== null && stored.periodStart === period.start ? stored.used : 0, pending: 0 };
        this.#entries.set(keyId, entry);
        return entry;
      },
      (error: unknown) => {
        this.#loading.delete(keyId);
        throw error;
      },
    );
    this.#loading.set(keyId, promise);
    return promise;
  }

  /** Keeps memory bounded: entries with nothing pending can be re-read from the store. */
  #evictIdle(): void {
    if (this.#entries.size <= this.#maxEntries) return;
    for (const [keyId, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries) break;
      if (entry.pending === 0) this.#entries.delete(keyId);
    }
  }
}
