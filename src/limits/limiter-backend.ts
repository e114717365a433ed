import type { CompiledRate } from './rate-policy.ts';

/**
 * Whose budget a request is charged to: a key's own, a key's on one route (`<key id> <method>
 * <template>`), or an address's. The three never share state, even for equal ids.
 */
export type LimitSubject = 'key' | 'route' | 'address';

/** One request against a quota: the period it falls in and what this node knows was used. */
export interface QuotaTake {
  limit: number;
  periodStart: number;
  periodEnd: number;
  /**
   * Requests this node knows were admitted in the period (from the store and its own count).
   * The memory backend decides on it; Redis uses it only to seed a counter it lost.
   */
  used: number;
}

/** What a limiter decided for one request. */
export interface LimitOutcome {
  /** Null when admitted; otherwise the limit that refused it (and nothing was charged). */
  refusedBy: 'rate' | 'quota' | null;
  /** Rate: requests that could still be sent at once, after this one. */
  remaining: number;
  /** Rate: ms until the full burst is available again. */
  resetMs: number;
  /** When refused: ms until a request would be admitted (0 when admitted). */
  retryAfterMs: number;
  /** Quota: requests used in the period, counting this one when admitted (0 without a quota). */
  quotaUsed: number;
}

/** Brute-force lockout numbers: `maxFailures` invalid keys within `windowMs` lock for `coolOffMs`. */
export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  coolOffMs: number;
}

/**
 * Where limit state lives. One interface, two implementations with one shared test suite
 * (test/support/limiter-backend-suite.ts): memory (one node; synchronous, allocation-free
 * updates) and Redis (several nodes; one script round trip, falling back to memory while
 * Redis is unreachable). Methods return a plain value when they can answer at once.
 */
export interface LimiterBackend {
  /**
   * Admits one request if the rate (GCRA) and the quota both allow it, charging both; a
   * refused request charges neither. `rate` or `quota` may be null (not limited by it).
   */
  take(subject: LimitSubject, id: string, rate: CompiledRate | null, quota: QuotaTake | null, now: number): LimitOutcome | Promise<LimitOutcome>;
  /**
   * Counts one invalid key from `address`. Returns how long (ms) the address is now locked
   * out: 0 while under the threshold, `coolOffMs` when this failure reached it, and the time
   * left when it was already locked.
   */
  recordFailure(address: string, policy: LockoutPolicy, now: number): number | Promise<number>;
  /**
   * Shared backends only (Redis): claims `name` for `ttlMs` on every node at once (replay
   * caches, src/verify/shared-replay.ts). True on the first claim, false after; null when
   * the shared store does not answer. Absent on a backend that is not shared.
   */
  claimOnce?(name: string, ttlMs: number): Promise<boolean | null> | null;
  close(): Promise<void>;
}
