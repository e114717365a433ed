import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import type { Check } from '../policies/request-context.ts';
import type { KeyStore } from '../store/key-store.ts';
import { createAddressGuardCheck } from '../policies/address-limit/address-guard-check.ts';
import { createDenialCharges, type DenialObserver } from '../policies/address-limit/denial-charges.ts';
import { createKeyLimitCheck } from '../policies/key-limits/key-limit-check.ts';
import type { LimiterBackend, LockoutPolicy } from '../limits/limiter-backend.ts';
import { MemoryLimiter } from '../limits/memory-limiter.ts';
import { QuotaLedger } from '../limits/quota-ledger.ts';
import { RedisLimiter, redactUrl } from '../limits/redis-limiter.ts';
import { RefusedAddresses } from '../limits/refused-addresses.ts';

/** How long `serve` waits for Redis at start before starting with local limits. */
const REDIS_START_WAIT_MS = 2000;

/** The abuse-limit layer, built from the config: its two checks, its denial hook, its lifecycle. */
export interface AbuseLimits {
  /** Stage 4: lockout and address throttling; null when both are off. */
  addressGuard: Check | null;
  /** Stage 8: per-key rate and quota. */
  keyLimits: Check;
  /** For the pipeline's responder: charges denied requests to their address. */
  onDenial: DenialObserver | null;
  backend: LimiterBackend;
  /** Writes quota counts now instead of at the next interval. */
  flush(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Builds the limiters: memory by default, Redis (with the memory limiter as its fallback)
 * when `redis.url` is set. Waits briefly for Redis, but starts either way: limits are never
 * off, only local until Redis answers.
 */
export async function startAbuseLimits(config: Config, store: KeyStore, logger: Logger): Promise<AbuseLimits> {
  const local = new MemoryLimiter({ maxKeys: config.cache.maxKeys, maxAddresses: config.limits.maxAddresses });
  let backend: LimiterBackend = local;
  if (config.redis.url !== null) {
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
  }

  const refused = new RefusedAddresses(config.limits.maxAddresses);
  const addressRate = config.limits.addressRate;
  const lockout: LockoutPolicy | null = config.lockout.maxFailures === 0 ? null : { maxFailures: config.lockout.maxFailures, windowMs: config.lockout.window, coolOffMs: config.lockout.coolOff };
  const guarded = addressRate !== null || lockout !== null;

  const ledger = new QuotaLedger(store, { maxEntries: config.cache.maxKeys, onError: (error) => logger.warn({ err: error }, 'quota usage flush failed; will retry') });
  ledger.start(config.usage.flushInterval);

  const invalidPolicies = new Set<string>();
  return {
    addressGuard: guarded ? createAddressGuardCheck(refused, addressRate) : null,
    keyLimits: createKeyLimitCheck({
      backend,
      ledger,
      defaultRate: config.limits.keyRate,
      defaultQuota: config.limits.keyQuota,
      onInvalidPolicy: (keyId) => {
        if (invalidPolicies.has(keyId)) return;
        invalidPolicies.add(keyId);
        logger.error({ keyId }, 'key has a rate or quota policy that does not parse; refusing its requests (fail closed)');
      },
      onStoreError: (error) => logger.error({ err: error }, 'quota usage could not be read from the key store'),
    }),
    onDenial: guarded ? createDenialCharges({ backend, refused, addressRate, lockout }) : null,
    backend,
    flush: () => ledger.flush(),
    async stop() {
      await ledger.stop().catch((error: unknown) => logger.error({ err: error }, 'final quota usage flush failed'));
      await backend.close();
    },
  };
}
