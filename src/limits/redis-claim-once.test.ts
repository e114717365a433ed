import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryLimiter } from './memory-limiter.ts';
import { RedisLimiter } from './redis-limiter.ts';
import { freePort, SHARED_REDIS_URL, skipUnlessRedis, startOwnRedis, uniqueRedisPrefix } from '../../test/support/redis.ts';

const skip = await skipUnlessRedis();

function newLimiter(url: string, keyPrefix: string, events: string[] = []): RedisLimiter {
  return new RedisLimiter({ url, keyPrefix, commandTimeout: 200, local: new MemoryLimiter({ maxKeys: 10, maxAddresses: 10 }), onUnavailable: () => events.push('down'), onAvailable: () => events.push('up') });
}

describe('RedisLimiter.claimOnce (replay caches shared between nodes)', { skip }, () => {
  it('claims a name once across two limiters (two nodes), under the key prefix, with the expiry asked for', async () => {
    const prefix = uniqueRedisPrefix();
    const [first, second] = [newLimiter(SHARED_REDIS_URL, prefix), newLimiter(SHARED_REDIS_URL, prefix)];
    const inspect = new Redis(SHARED_REDIS_URL);
    try {
      await Promise.all([first.waitUntilReady(5000), second.waitUntilReady(5000)]);
      assert.equal(await first.claimOnce('dpop:jti:abc', 30_000), true);
      assert.equal(await second.claimOnce('dpop:jti:abc', 30_000), false);
      assert.equal(await first.claimOnce('dpop:jti:abc', 30_000), false);
      assert.equal(await second.claimOnce('dpop:jti:other', 30_000), true);
      const ttl = await inspect.pttl(`${prefix}dpop:jti:abc`);
      assert.ok(ttl > 25_000 && ttl <= 30_000, `expiry ${ttl} ms`);
    } finally {
      await first.close();
      await second.close();
      inspect.disconnect();
    }
  });

  it('answers null, at once, while Redis is unreachable, and claims again once it is back', async () => {
    const port = await freePort();
    let redis = await startOwnRedis(port);
    const events: string[] = [];
    const limiter = newLimiter(redis.url, uniqueRedisPrefix(), events);
    try {
      assert.equal(await limiter.waitUntilReady(5000), true);
      assert.equal(await limiter.claimOnce('n1', 10_000), true);
      await redis.kill();
      const during = await limiter.claimOnce('n2', 10_000);
      assert.equal(during, null);
      assert.equal(limiter.claimOnce('n3', 10_000), null, 'no round trip once Redis is known down');
      assert.deepEqual(events, ['down']);
      redis = await startOwnRedis(port);
      assert.equal(await limiter.waitUntilReady(5000), true);
      assert.equal(await limiter.claimOnce('n2', 10_000), true);
      assert.deepEqual(events, ['down', 'up']);
    } finally {
      await limiter.close();
      await redis.kill();
    }
  });
});
