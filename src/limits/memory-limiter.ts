import type { LimitOutcome, LimitSubject, LimiterBackend, LockoutPolicy, QuotaTake } from './limiter-backend.ts';
import type { CompiledRate } from './rate-policy.ts';
import { SlotTable } from './slot-table.ts';

export interface MemoryLimiterOptions {
  /** Ids with rate state at once, per subject (keys, addresses). */
  maxKeys: number;
  maxAddresses: number;
}

/** A table of ids with one number per id: GCRA's theoretical arrival time. */
class GcraTable {
  readonly slots: SlotTable;
  readonly tat: Float64Array;

  constructor(capacity: number) {
    this.slots = new SlotTable(capacity);
    this.tat = new Float64Array(capacity);
  }
}

/**
 * The single-node limiter: state in preallocated typed arrays indexed through SlotTables, so a
 * decision is a map lookup and a few float operations, synchronous and allocation-free apart
 * from the outcome object.
 *
 * Rates use GCRA (the Generic Cell Rate Algorithm, ITU-T I.371; the "virtual scheduling" form):
 * each id keeps one number, its theoretical arrival time (TAT). A request at `now` is admitted
 * when `max(TAT, now) + emission - now <= tolerance`, and then TAT moves to that sum. This is
 * exact: over any interval of length t an id is admitted at most `burst + t / emission`
 * requests, and a client that keeps asking is admitted exactly that many (to within one).
 */
export class MemoryLimiter implements LimiterBackend {
  readonly #keys: GcraTable;
  /** Per key and route; allocated on first use, so a gateway without route limits pays nothing for it. */
  #routes: GcraTable | null = null;
  readonly #maxKeys: number;
  readonly #addresses: GcraTable;
  readonly #failures: SlotTable;
  /** Per address in #failures: failures counted in the current window, its start, and the lock end. */
  readonly #failureCount: Float64Array;
  readonly #failureStart: Float64Array;
  readonly #lockedUntil: Float64Array;

  constructor(options: MemoryLimiterOptions) {
    this.#keys = new GcraTable(options.maxKeys);
    this.#maxKeys = options.maxKeys;
    this.#addresses = new GcraTable(options.maxAddresses);
    this.#failures = new SlotTable(options.maxAddresses);
    this.#failureCount = new Float64Array(options.maxAddresses);
    this.#failureStart = new Float64Array(options.maxAddresses);
    this.#lockedUntil = new Float64Array(options.maxAddresses);
  }

  take(subject: LimitSubject, id: string, rate: CompiledRate | null, quota: QuotaTake | null, now: number): LimitOutcome {
    const table = subject === 'key' ? this.#keys : subject === 'route' ? (this.#routes ??= new GcraTable(this.#maxKeys)) : this.#addresses;
    let remaining = 0;
    let resetMs = 0;
    let newTat = 0;
    if (rate !== null) {
      const slot = table.slots.find(id);
      const stored = slot === -1 ? now : (table.tat[slot] as number);
      const tat = stored > now ? stored : now;
      newTat = tat + rate.emissionMs;
      const ahead = newTat - now;
      if (ahead > rate.toleranceMs) {
        return { refusedBy: 'rate', remaining: 0, resetMs: tat - now, retryAfterMs: ahead - rate.toleranceMs, quotaUsed: quota === null ? 0 : quota.used };
      }
      // The epsilon absorbs float error in (burst - k) × emission / emission.
      remaining = Math.floor((rate.toleranceMs - ahead) / rate.emissionMs + 1e-9);
      resetMs = ahead;
    }
    let quotaUsed = 0;
    if (quota !== null) {
      if (quota.used + 1 > quota.limit) {
        // Nothing is charged, so the rate figures are those from before this request.
        const uncharged = rate === null ? 0 : resetMs - rate.emissionMs;
        return { refusedBy: 'quota', remaining: rate === null ? 0 : remaining + 1, resetMs: uncharged, retryAfterMs: quota.periodEnd - now, quotaUsed: quota.used };
      }
      quotaUsed = quota.used + 1;
    }
    if (rate !== null) {
      let slot = table.slots.claim(id, now);
      if (slot < 0) slot = ~slot;
      table.tat[slot] = newTat;
      table.slots.setExpiry(slot, newTat);
    }
    return { refusedBy: null, remaining, resetMs, retryAfterMs: 0, quotaUsed };
  }

  recordFailure(address: string, policy: LockoutPolicy, now: number): number {
    let slot = this.#failures.claim(address, now);
    if (slot < 0) {
      slot = ~slot;
      this.#failureCount[slot] = 0;
      this.#lockedUntil[slot] = 0;
    }
    const lockedUntil = this.#lockedUntil[slot] as number;
    if (lockedUntil > now) return lockedUntil - now;
    // A fixed window that opens at the first failure: maxFailures within windowMs of it.
    if (this.#failureCount[slot] === 0 || now - (this.#failureStart[slot] as number) >= policy.windowMs) {
      this.#failureCount[slot] = 0;
      this.#failureStart[slot] = now;
    }
    const count = (this.#failureCount[slot] as number) + 1;
    if (count >= policy.maxFailures) {
      this.#failureCount[slot] = 0;
      this.#lockedUntil[slot] = now + policy.coolOffMs;
      this.#failures.setExpiry(slot, now + policy.coolOffMs);
      return policy.coolOffMs;
    }
    this.#failureCount[slot] = count;
    this.#failures.setExpiry(slot, (this.#failureStart[slot] as number) + policy.windowMs);
    return 0;
  }

  async close(): Promise<void> {}
}
