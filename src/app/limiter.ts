import type { Logger } from 'pino';
import type { ConfigFragment } from '../config/config-fragment.ts';
import { duration } from '../config/option-schemas.ts';
import { parseDuration } from '../http/units.ts';
import type { LimiterBackend } from '../limits/limiter-backend.ts';
import { MemoryLimiter } from '../limits/memory-limiter.ts';
import { QuotaLedger } from '../limits/quota-ledger.ts';
import { REFUSALS_BEFORE_DROP } from '../store/store-errors.ts';
import type { UsageWrites } from '../store/usage-writes.ts';
import { RateLimitedLog } from '../telemetry/rate-limited-log.ts';

/** How long `serve` waits for Redis at start before starting with local limits. */
const REDIS_START_WAIT_MS = 2000;

export interface RedisSettings {
  redis: { url: string | null; keyPrefix: string; commandTimeout: number };
}

export const redisConfig: ConfigFragment<RedisSettings> = {
  formats: {
    'redis-url': {
      expected: 'a redis:// or rediss:// URL',
      documentation: 'A `redis://` or `rediss://` (TLS) URL, optionally with a password and database: `redis://:secret@10.0.0.9:6379/0`.',
      validate: isRedisUrl,
      placeholder: 'url',
    },
  },
  options: {
    'redis.url': {
      type: ['string', 'null'],
      format: 'redis-url',
      default: null,
      'x-flag': '--redis',
      description: 'Redis shared by every gateway node for rate limits, quotas and lockout, such as `redis://127.0.0.1:6379`. `null`: each node keeps its limits in memory. While Redis is unreachable each node limits on its own (never not at all) and logs it once.',
    },
    'redis.keyPrefix': { type: 'string', pattern: '^[A-Za-z0-9:_.-]{0,64}$', default: 'portcullis:', description: 'Prefix of every Redis key the gateway writes, so several deployments can share one Redis.' },
    'redis.commandTimeout': duration('A Redis answer slower than this counts as Redis being unreachable: the request is limited locally instead, and the node probes Redis every second until it answers again.', '250ms'),
  },
  read(document) {
    const { redis } = document as unknown as { redis: { url: string | null; keyPrefix: string; commandTimeout: unknown } };
    return { redis: { url: redis.url, keyPrefix: redis.keyPrefix, commandTimeout: parseDuration(redis.commandTimeout) as number } };
  },
};

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** What the limiter reads of the configuration. */
interface LimiterNeeds extends RedisSettings {
  cache: { maxKeys: number };
  limits: { maxAddresses: number };
  usage: { flushInterval: number };
}

/** Where limit state lives, and the quota counts it writes back to the store: one part of the process. */
export interface Limiter {
  backend: LimiterBackend;
  quotas: QuotaLedger;
  /** Whether the backend is shared right now (Redis reachable), for the metrics; null for memory only. */
  isShared: (() => boolean) | null;
  /** Writes quota counts now instead of at the next interval. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds the limiter backend: memory by default, Redis (with the memory limiter as its
 * fallback) when `redis.url` is set. Waits briefly for Redis, but starts either way: limits
 * are never off, only local until Redis answers. ioredis is loaded only then.
 */
export async function startLimiter(config: LimiterNeeds, store: UsageWrites, logger: Logger): Promise<Limiter> {
  const local = new MemoryLimiter({ maxKeys: config.cache.maxKeys, maxAddresses: config.limits.maxAddresses });
  let backend: LimiterBackend = local;
  let isShared: (() => boolean) | null = null;
  if (config.redis.url !== null) {
    const { RedisLimiter, redactUrl } = await import('../limits/redis-limiter.ts');
    const redisUrl = redactUrl(config.redis.url);
    const redis = new RedisLimiter({
      url: config.redis.url,
      keyPrefix: config.redis.keyPrefix,
      commandTimeout: config.redis.commandTimeout,
      local,
      onUnavailable: (error) => logger.warn({ err: error, redis: redisUrl }, 'Redis unreachable: rate limits, quotas and lockout are enforced by this node alone until it is back'),
      onAvailable: () => logger.info({ redis: redisUrl }, 'Redis reachable: limits are shared by every node again'),
    });
    await redis.waitUntilReady(REDIS_START_WAIT_MS);
    backend = redis;
    isShared = () => redis.shared;
  }
  // One line per interval while the store is out of reach, not one per flush.
  const flushFailures = new RateLimitedLog(logger, { level: 'warn', message: 'quota usage flush failed; will retry', interval: 60_000 });
  const quotas = new QuotaLedger(store, {
    maxEntries: config.cache.maxKeys,
    onError: (error) => flushFailures.report(error),
    onDropped: (batch, error) => logger.error({ err: error, quotaCounts: batch }, `quota counts dropped: the key store refused them ${REFUSALS_BEFORE_DROP} times (this node still enforces them)`),
  });
  quotas.start(config.usage.flushInterval);
  return {
    backend,
    quotas,
    isShared,
    flush: () => quotas.flush(),
    async stop() {
      await quotas.stop().catch((error: unknown) => logger.error({ err: error }, 'final quota usage flush failed'));
      flushFailures.close();
      await backend.close();
    },
  };
}
