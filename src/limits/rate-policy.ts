/**
 * The one parser for rate and quota policies, as operators write them in the config file and
 * in `keys create --rate / --quota`. Pure functions; they return null instead of throwing.
 *
 *   rate:   `100/s`, `6000/m`, `500/h`, `20000/d`, `100/s burst 200`
 *   quota:  `10000/day`, `300000/month`
 *
 * A rate is enforced with GCRA (see memory-limiter.ts): one request every `period / limit`
 * on average, and up to `burst` at once after a quiet spell. Without `burst`, the burst is the
 * limit itself, so `100/s` allows 100 at once and then 100 per second, smoothly (no window
 * edges at which a client could send two windows' worth back to back).
 */

const RATE_UNITS: Record<string, number> = {
  s: 1_000, sec: 1_000, second: 1_000,
  m: 60_000, min: 60_000, minute: 60_000,
  h: 3_600_000, hour: 3_600_000,
  d: 86_400_000, day: 86_400_000,
};
const CANONICAL_RATE_UNIT: Record<number, string> = { 1_000: 's', 60_000: 'm', 3_600_000: 'h', 86_400_000: 'd' };

const RATE_PATTERN = /^(\d{1,10})\s*\/\s*([a-z]+)(?:\s+burst\s+(\d{1,10}))?$/;
const QUOTA_PATTERN = /^(\d{1,12})\s*\/\s*([a-z]+)$/;

/** The largest count a policy may name: far above any real limit, and exact in a double. */
export const MAX_POLICY_COUNT = 1_000_000_000;

export interface RatePolicy {
  /** Requests per period, sustained. */
  limit: number;
  periodMs: number;
  /** Requests allowed at once after a quiet spell (≥ 1). */
  burst: number;
}

/** A rate prepared for the limiters: GCRA's emission interval and tolerance, and its canonical text. */
export interface CompiledRate extends RatePolicy {
  /** Average time between two requests: period / limit (ms, fractional). */
  emissionMs: number;
  /** How far ahead of now the theoretical arrival time may run: burst × emission (ms). */
  toleranceMs: number;
  /** Window of the RateLimit-Policy field, in whole seconds. */
  windowSeconds: number;
  text: string;
}

export type QuotaPeriod = 'day' | 'month';

export interface QuotaPolicy {
  /** Requests per calendar period (UTC). */
  limit: number;
  period: QuotaPeriod;
}

export interface CompiledQuota extends QuotaPolicy {
  text: string;
}

function normalise(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 64) return null;
  return value.trim().toLowerCase().replace(/\s+/g, ' ');
}

function countIn(range: string | undefined): number | null {
  if (range === undefined) return null;
  const count = Number(range);
  return Number.isSafeInteger(count) && count >= 1 && count <= MAX_POLICY_COUNT ? count : null;
}

/** `100/s`, `6000/m`, `100/s burst 200` → a rate policy; null when malformed. */
export function parseRatePolicy(value: unknown): RatePolicy | null {
  const text = normalise(value);
  if (text === null) return null;
  const match = RATE_PATTERN.exec(text);
  if (match === null) return null;
  const limit = countIn(match[1]);
  const periodMs = RATE_UNITS[match[2] as string];
  if (limit === null || periodMs === undefined) return null;
  if (match[3] === undefined) return { limit, periodMs, burst: limit };
  const burst = countIn(match[3]);
  return burst === null ? null : { limit, periodMs, burst };
}

/** The canonical spelling: `100/s`, with ` burst N` only when it differs from the limit. */
export function formatRatePolicy(policy: RatePolicy): string {
  const base = `${policy.limit}/${CANONICAL_RATE_UNIT[policy.periodMs] ?? `${policy.periodMs}ms`}`;
  return policy.burst === policy.limit ? base : `${base} burst ${policy.burst}`;
}

function compileRate(policy: RatePolicy): CompiledRate {
  const emissionMs = policy.periodMs / policy.limit;
  return {
    ...policy,
    emissionMs,
    toleranceMs: emissionMs * policy.burst,
    windowSeconds: Math.max(1, Math.round(policy.periodMs / 1000)),
    text: formatRatePolicy(policy),
  };
}

/** Parses and compiles in one step; null when malformed. */
export function compileRateText(value: unknown): CompiledRate | null {
  const policy = parseRatePolicy(value);
  return policy === null ? null : compileRate(policy);
}

/** `10000/day`, `300000/month` → a quota policy; null when malformed. */
export function parseQuotaPolicy(value: unknown): QuotaPolicy | null {
  const text = normalise(value);
  if (text === null) return null;
  const match = QUOTA_PATTERN.exec(text);
  if (match === null) return null;
  const limit = countIn(match[1]);
  const unit = match[2] as string;
  const period: QuotaPeriod | null = unit === 'day' || unit === 'd' ? 'day' : unit === 'month' || unit === 'mo' ? 'month' : null;
  return limit === null || period === null ? null : { limit, period };
}

export function formatQuotaPolicy(policy: QuotaPolicy): string {
  return `${policy.limit}/${policy.period}`;
}

export function compileQuotaText(value: unknown): CompiledQuota | null {
  const policy = parseQuotaPolicy(value);
  return policy === null ? null : { ...policy, text: formatQuotaPolicy(policy) };
}

/** Start and end (ms, UTC) of the quota period that contains `now`. */
export function quotaPeriodAt(period: QuotaPeriod, now: number): { start: number; end: number } {
  if (period === 'day') {
    const start = now - (((now % 86_400_000) + 86_400_000) % 86_400_000);
    return { start, end: start + 86_400_000 };
  }
  const date = new Date(now);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth();
  return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
}
