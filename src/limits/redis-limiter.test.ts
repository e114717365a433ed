import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MemoryLimiter } from './memory-limiter.ts';
import { compileRateText } from './rate-policy.ts';
import { RedisLimiter, redactUrl } from './redis-limiter.ts';
import { runLimiterBackendSuite } from '../../test/support/limiter-backend-suite.ts';
import { freePort, SHARED_REDIS_URL, skipUnlessRedis, startOwnRedis, uniqueRedisPrefix, type OwnRedis } from '../../test/support/redis.ts';

const skip = await skipUnlessRedis();

function newLimiter(url: string, events: string[] = []): RedisLimiter {
  return new RedisLimiter({
    url,
    keyPrefix: uniqueRedisPrefix(),
    commandTimeout: 200,
    local: new MemoryLimiter({ maxKeys: 100, maxAddresses: 100 }),
    onUnavailable: () => events.push('down'),
    onAvailable: () => events.push('up'),
  });
}

describe('RedisLimiter against the shared Redis', { skip }, () => {
  runLimiterBackendSuite('RedisLimiter', async () => {
    const backend = newLimiter(SHARED_REDIS_URL);
    assert.equal(await backend.waitUntilReady(5000), true);
    return { backend, cleanup: () => backend.close() };
  });

  it('shares one budget between two limiters (two nodes)', async () => {
    const prefix = uniqueRedisPrefix();
    const make = () => new RedisLimiter({ url: SHARED_REDIS_URL, keyPrefix: prefix, commandTimeout: 200, local: new MemoryLimiter({ maxKeys: 10, maxAddresses: 10 }), onUnavailable: () => {}, onAvailable: () => {} });
    const [first, second] = [make(), make()];
    try {
      await Promise.all([first.waitUntilReady(5000), second.waitUntilReady(5000)]);
      const policy = compileRateText('1/m burst 3')!;
      const now = Date.now();
      const outcomes = [await first.take('key', 'k', policy, null, now), await second.take('key', 'k', policy, null, now), await first.take('key', 'k', policy, null, now), await second.take('key', 'k', policy, null, now)];
      assert.deepEqual(outcomes.map((outcome) => outcome.refusedBy), [null, null, null, 'rate']);
    } finally {
      await first.close();
      await second.close();
    }
  });
});

describe('RedisLimiter when Redis goes away', { skip: skip === false ? false : skip }, () => {
  let redis: OwnRedis;
  let port: number;
  before(async () => {
    port = await freePort();
    redis = await startOwnRedis(port);
  });
  after(async () => {
    await redis.kill();
  });

  it('limits locally (never not at all), reports it once, and shares again when Redis is back', async () => {
    const events: string[] = [];
    const limiter = newLimiter(redis.url, events);
    try {
      assert.equal(await limiter.waitUntilReady(5000), true);
      const policy = compileRateText('1/m burst 2')!;
      const now = Date.now();
      assert.equal((await limiter.take('key', 'k', policy, null, now)).refusedBy, null);
      await redis.kill();
      // Local decisions from here on: a fresh local budget of 2, then refusals; never an error.
      const local = [];
      for (let i = 0; i < 5; i++) local.push((await limiter.take('key', 'k', policy, null, now)).refusedBy);
      assert.deepEqual(local, [null, null, 'rate', 'rate', 'rate']);
      assert.equal(limiter.shared, false);
      assert.deepEqual(events, ['down']);
      assert.equal(await limiter.recordFailure('a', { maxFailures: 1, windowMs: 1000, coolOffMs: 5000 }, now), 5000);

      redis = await startOwnRedis(port);
      const deadline = Date.now() + 10_000;
      while (!limiter.shared && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(limiter.shared, true);
      assert.deepEqual(events, ['down', 'up']);
      // The new Redis is empty: the key starts over there, shared again.
      assert.equal((await limiter.take('key', 'k', policy, null, now)).remaining, 1);
    } finally {
      await limiter.close();
    }
  });

  it('starts with local limits when Redis is not there at all', async () => {
    const events: string[] = [];
    const limiter = newLimiter(`redis://127.0.0.1:${await freePort()}`, events);
    try {
      assert.equal(await limiter.waitUntilReady(300), false);
      assert.deepEqual(events, ['down']);
      const policy = compileRateText('1/m burst 1')!;
      assert.equal((limiter.take('key', 'k', policy, null, 0) as { refusedBy: unknown }).refusedBy, null);
      assert.equal((limiter.take('key', 'k', policy, null, 0) as { refusedBy: unknown }).refusedBy, 'rate');
    } finally {
      await limiter.close();
    }
  });
});

describe('redactUrl', () => {
  it('hides a password', () => {
    assert.equal(redactUrl('redis://:secret@127.0.0.1:6379/0'), 'redis://:***@127.0.0.1:6379/0');
    assert.equal(redactUrl('redis://127.0.0.1:6379'), 'redis://127.0.0.1:6379');
  });
});
