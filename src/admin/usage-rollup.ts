import type { UsageStore } from '../store/usage-store.ts';

const MINUTE = 60_000;

/** Each period the dashboard offers: its length and the width of one chart point. */
const USAGE_WINDOWS = {
  '1h': { span: 60 * MINUTE, step: MINUTE },
  '6h': { span: 360 * MINUTE, step: 5 * MINUTE },
  '24h': { span: 1440 * MINUTE, step: 15 * MINUTE },
  '7d': { span: 7 * 1440 * MINUTE, step: 60 * MINUTE },
} as const;

type UsageWindowName = keyof typeof USAGE_WINDOWS;

/** `[from, to)` ending at the end of the current step, so the newest point is the one in progress. */
export function windowBounds(name: string, now: number): { from: number; to: number; step: number } {
  const { span, step } = USAGE_WINDOWS[name as UsageWindowName] ?? USAGE_WINDOWS['1h'];
  const to = now - (now % step) + step;
  return { from: to - span, to, step };
}

export interface KeyCount {
  requests: number;
  denied: number;
}

/** Every key's requests and refusals in one step of a window. */
export interface UsageBucket {
  readonly at: number;
  readonly requests: number;
  readonly denied: number;
  readonly keys: ReadonlyMap<string, KeyCount>;
}

interface HeldBucket extends UsageBucket {
  readonly madeAt: number;
  readonly final: boolean;
}

export interface RolledWindow {
  from: number;
  to: number;
  step: number;
  /** Oldest first; null for a step not summed yet (see `pending`). */
  buckets: Array<UsageBucket | null>;
  /** Steps left out to keep this call within its time budget; a later call sums them. */
  pending: number;
}

export interface RollupOptions {
  /** A step that ended this long ago gets no more late batches (nodes flush every `usage.flushInterval`). */
  settle: number;
  /** Even a settled step is summed again after this long (a node that was cut off from the store). */
  ttl: number;
  /** Time one call may spend summing steps it does not hold (SQLite reads block the process). */
  budget: number;
  /** Steps held at most; the least recently made go first. */
  maxBuckets: number;
  /** Keys summed per step at most (the store's `limit`), busiest first. */
  maxKeysPerBucket: number;
}

const DEFAULTS: RollupOptions = { settle: 2 * MINUTE, ttl: 10 * MINUTE, budget: 800, maxBuckets: 1000, maxKeysPerBucket: 20_000 };

/**
 * Per-step, per-key totals over every key, for the overview and for sorting keys by traffic.
 * The store answers one `usageTotals` per step; a step that has settled does not change, so
 * it is held and only the newest steps are read again. The first look at a long window is the
 * slow one: it sums newest steps first, within `budget`, and says how many are `pending`.
 */
export class UsageRollup {
  readonly #store: Pick<UsageStore, 'usageTotals'>;
  readonly #options: RollupOptions;
  readonly #held = new Map<string, HeldBucket>();

  constructor(store: Pick<UsageStore, 'usageTotals'>, options: Partial<RollupOptions> = {}) {
    this.#store = store;
    this.#options = { ...DEFAULTS, ...options };
  }

  async window(name: string, now = Date.now()): Promise<RolledWindow> {
    const { from, to, step } = windowBounds(name, now);
    const count = (to - from) / step;
    const buckets: Array<UsageBucket | null> = new Array(count).fill(null);
    const started = Date.now();
    let pending = 0;
    // Newest first: when the budget runs out, what is left is the oldest part of the chart.
    for (let index = count - 1; index >= 0; index--) {
      const at = from + index * step;
      const held = this.#fresh(`${step}:${at}`, now);
      if (held !== null) {
        buckets[index] = held;
      } else if (Date.now() - started < this.#options.budget) {
        buckets[index] = await this.#sum(at, step, now);
      } else {
        pending++;
      }
    }
    return { from, to, step, buckets, pending };
  }

  #fresh(id: string, now: number): HeldBucket | null {
    const held = this.#held.get(id);
    if (held === undefined || !held.final || now - held.madeAt > this.#options.ttl) return null;
    return held;
  }

  async #sum(at: number, step: number, now: number): Promise<UsageBucket> {
    const totals = await this.#store.usageTotals(at, at + step, this.#options.maxKeysPerBucket);
    const keys = new Map<string, KeyCount>();
    let requests = 0;
    let denied = 0;
    for (const total of totals) {
      keys.set(total.keyId, { requests: total.requests, denied: total.denied });
      requests += total.requests;
      denied += total.denied;
    }
    const bucket: HeldBucket = { at, requests, denied, keys, madeAt: now, final: at + step + this.#options.settle <= now };
    const id = `${step}:${at}`;
    this.#held.delete(id);
    this.#held.set(id, bucket);
    if (this.#held.size > this.#options.maxBuckets) this.#held.delete(this.#held.keys().next().value as string);
    return bucket;
  }
}

/** Each key's totals over the steps summed so far. */
export function totalsByKey(buckets: ReadonlyArray<UsageBucket | null>): Map<string, KeyCount> {
  const totals = new Map<string, KeyCount>();
  for (const bucket of buckets) {
    if (bucket === null) continue;
    for (const [keyId, count] of bucket.keys) {
      const total = totals.get(keyId);
      if (total === undefined) totals.set(keyId, { ...count });
      else {
        total.requests += count.requests;
        total.denied += count.denied;
      }
    }
  }
  return totals;
}
