import { Redis } from 'ioredis';
import type { LimitOutcome, LimitSubject, LimiterBackend, LockoutPolicy, QuotaTake } from './limiter-backend.ts';
import type { MemoryLimiter } from './memory-limiter.ts';
import type { CompiledRate } from './rate-policy.ts';

/**
 * GCRA and quota in one atomic step (see memory-limiter.ts for the algorithm; this is the
 * same arithmetic). KEYS: rate key, quota key. ARGV: now (ms), emission (ms, 0 = no rate),
 * tolerance (ms), quota limit (-1 = no quota), quota seed, quota period end (ms).
 * Returns { refused (0 none, 1 rate, 2 quota), remaining, resetMs, retryAfterMs, quotaUsed },
 * times rounded up to whole ms (Redis turns Lua numbers into integers).
 *
 * `now` comes from the gateway, not from Redis's TIME, so the memory and Redis backends share
 * one test suite with controlled time; gateway clocks must therefore be synchronised (NTP):
 * a node whose clock runs δ ms ahead is lenient by about δ / emission requests.
 */
const TAKE_SCRIPT = `
local now = tonumber(ARGV[1])
local emission = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local quotaLimit = tonumber(ARGV[4])
local refused, remaining, reset, retry, newTat = 0, 0, 0, 0, 0
if emission > 0 then
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  if tat < now then tat = now end
  newTat = tat + emission
  local ahead = newTat - now
  if ahead > tolerance then
    refused = 1
    reset = tat - now
    retry = ahead - tolerance
  else
    remaining = math.floor((tolerance - ahead) / emission + 1e-9)
    reset = ahead
  end
end
local used = 0
if quotaLimit >= 0 then
  used = tonumber(redis.call('GET', KEYS[2]) or ARGV[5])
  if refused == 0 and used + 1 > quotaLimit then
    refused = 2
    retry = tonumber(ARGV[6]) - now
    if emission > 0 then
      remaining = remaining + 1
      reset = reset - emission
    end
  end
end
if refused == 0 then
  if emission > 0 then
    -- The expiry only collects garbage (a TAT in the past means the same as none), so it is
    -- given a second of slack for requests whose 'now' was taken a little before this runs.
    redis.call('SET', KEYS[1], string.format('%.3f', newTat), 'PX', math.ceil(newTat - now) + 1000)
  end
  if quotaLimit >= 0 then
    used = used + 1
    redis.call('SET', KEYS[2], used, 'PX', math.ceil(tonumber(ARGV[6]) - now))
  end
end
return { refused, remaining, math.ceil(reset), math.ceil(retry), used }
`;

/**
 * One invalid key. KEYS: failures hash, lock key. ARGV: now, maxFailures, windowMs, coolOffMs.
 * Returns the lock time left (ms), 0 when not locked. Expiries only collect garbage; the
 * decisions use the stored times, as the memory backend does.
 */
const FAIL_SCRIPT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[3])
local coolOff = tonumber(ARGV[4])
local lockedUntil = tonumber(redis.call('GET', KEYS[2]) or '0')
if lockedUntil > now then return math.ceil(lockedUntil - now) end
local state = redis.call('HMGET', KEYS[1], 'n', 'start')
local count = tonumber(state[1] or '0')
local start = tonumber(state[2] or '0')
if count == 0 or now - start >= window then
  count = 0
  start = now
end
count = count + 1
if count >= tonumber(ARGV[2]) then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], string.format('%.3f', now + coolOff), 'PX', math.ceil(coolOff))
  return math.ceil(coolOff)
end
redis.call('HSET', KEYS[1], 'n', count, 'start', string.format('%.3f', start))
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil(start + window - now)))
return 0
`;

interface LimiterCommands {
  portcullisTake(rateKey: string, quotaKey: string, ...args: Array<string | number>): Promise<[number, number, number, number, number]>;
  portcullisFail(failuresKey: string, lockKey: string, ...args: Array<string | number>): Promise<number>;
}

export interface RedisLimiterOptions {
  url: string;
  /** Prefix of every key this gateway writes, e.g. `portcullis:`. */
  keyPrefix: string;
  /** A command slower than this counts as Redis being unreachable. */
  commandTimeout: number;
  /** Decides while Redis is unreachable; never "no limit". */
  local: MemoryLimiter;
  /** Called once each time Redis becomes unreachable, and once when it is back. */
  onUnavailable: (error: unknown) => void;
  onAvailable: () => void;
}

const PROBE_INTERVAL_MS = 1000;

/**
 * The cluster limiter: every decision is one EVALSHA round trip to Redis, so all gateway
 * nodes share one budget per key and per address. While Redis is unreachable (connection
 * lost, or a command timing out) the node decides with its local MemoryLimiter, logs that
 * once, and goes back to Redis as soon as the connection is ready again.
 */
export class RedisLimiter implements LimiterBackend {
  readonly #redis: Redis & LimiterCommands;
  readonly #options: RedisLimiterOptions;
  readonly #local: MemoryLimiter;
  #shared = false;
  /** Whether the outage has been reported (so it is logged once, not per request). */
  #reportedDown = false;
  #probe: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RedisLimiterOptions) {
    this.#options = options;
    this.#local = options.local;
    this.#redis = new Redis(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: options.commandTimeout,
      connectTimeout: Math.max(1000, options.commandTimeout),
      retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
    }) as Redis & LimiterCommands;
    this.#redis.defineCommand('portcullisTake', { numberOfKeys: 2, lua: TAKE_SCRIPT });
    this.#redis.defineCommand('portcullisFail', { numberOfKeys: 2, lua: FAIL_SCRIPT });
    this.#redis.on('ready', () => this.#markUp());
    this.#redis.on('close', () => this.#markDown(new Error(`connection to Redis closed`)));
    // Connection errors are reported through #markDown; without a listener ioredis would throw them.
    this.#redis.on('error', () => {});
  }

  /** Whether decisions are currently shared through Redis (false: local fallback). */
  get shared(): boolean {
    return this.#shared;
  }

  /** Waits up to `timeoutMs` for the first connection; the gateway starts either way. */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.#shared) return true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const redis = this.#redis;
      function done() {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      }
      redis.once('ready', done);
    });
    if (!this.#shared) this.#markDown(new Error(`Redis at ${redactUrl(this.#options.url)} did not answer within ${timeoutMs} ms`));
    return this.#shared;
  }

  take(subject: LimitSubject, id: string, rate: CompiledRate | null, quota: QuotaTake | null, now: number): LimitOutcome | Promise<LimitOutcome> {
    if (!this.#shared) return this.#local.take(subject, id, rate, quota, now);
    const tag = `${this.#options.keyPrefix}{${subject === 'key' ? 'k' : subject === 'route' ? 'r' : 'a'}:${id}}`;
    return this.#redis
      .portcullisTake(
        `${tag}:rate`,
        quota === null ? `${tag}:quota` : `${tag}:quota:${quota.periodStart}`,
        now,
        rate === null ? 0 : rate.emissionMs,
        rate === null ? 0 : rate.toleranceMs,
        quota === null ? -1 : quota.limit,
        quota === null ? 0 : quota.used,
        quota === null ? 0 : quota.periodEnd,
      )
      .then(
        (reply): LimitOutcome => ({ refusedBy: reply[0] === 0 ? null : reply[0] === 2 ? 'quota' : 'rate', remaining: reply[1], resetMs: reply[2], retryAfterMs: reply[3], quotaUsed: reply[4] }),
        (error: unknown) => {
          this.#markDown(error);
          return this.#local.take(subject, id, rate, quota, now);
        },
      );
  }

  recordFailure(address: string, policy: LockoutPolicy, now: number): number | Promise<number> {
    if (!this.#shared) return this.#local.recordFailure(address, policy, now);
    const tag = `${this.#options.keyPrefix}{a:${address}}`;
    return this.#redis.portcullisFail(`${tag}:fail`, `${tag}:lock`, now, policy.maxFailures, policy.windowMs, policy.coolOffMs).then(
      (lockMs) => Number(lockMs),
      (error: unknown) => {
        this.#markDown(error);
        return this.#local.recordFailure(address, policy, now);
      },
    );
  }

  /** `SET name 1 NX PX ttl` under the key prefix: one round trip; null while Redis is unreachable (see LimiterBackend). */
  claimOnce(name: string, ttlMs: number): Promise<boolean | null> | null {
    if (!this.#shared) return null;
    return this.#redis.set(`${this.#options.keyPrefix}${name}`, '1', 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX').then(
      (reply) => reply === 'OK',
      (error: unknown) => {
        this.#markDown(error);
        return null;
      },
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#probe) clearInterval(this.#probe);
    this.#shared = false;
    this.#redis.disconnect();
  }

  #markDown(error: unknown): void {
    if (this.#closed) return;
    this.#shared = false;
    if (!this.#reportedDown) {
      this.#reportedDown = true;
      this.#options.onUnavailable(error);
    }
    // A closed connection reconnects by itself ('ready' brings us back); a hung one stays
    // open, so probe it until it answers again.
    if (this.#probe === undefined) {
      this.#probe = setInterval(() => {
        if (this.#redis.status !== 'ready') return;
        this.#redis.ping().then(() => this.#markUp(), () => {});
      }, PROBE_INTERVAL_MS);
      this.#probe.unref();
    }
  }

  #markUp(): void {
    if (this.#closed) return;
    if (this.#probe !== undefined) {
      clearInterval(this.#probe);
      this.#probe = undefined;
    }
    this.#shared = true;
    if (this.#reportedDown) {
      this.#reportedDown = false;
      this.#options.onAvailable();
    }
  }
}

/** The URL without a password, for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return 'redis://…';
  }
}
