import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JtiReplayCache, SharedJtiReplayCache } from './dpop/jti-replay-cache.ts';
import { SHARED_CLOCK_SLACK_MS, SharedReplayClaims, type ClaimOnce } from './shared-replay.ts';

/** A stand-in for Redis `SET NX PX`: a map of names to expiries, shared by the "nodes" given it. */
function fakeRedis(now: () => number) {
  const names = new Map<string, number>();
  const calls: Array<{ name: string; ttlMs: number }> = [];
  let down = false;
  const claim: ClaimOnce = (name, ttlMs) => {
    calls.push({ name, ttlMs });
    if (down) return Promise.resolve(null);
    const until = names.get(name);
    if (until !== undefined && until > now()) return Promise.resolve(false);
    names.set(name, now() + ttlMs);
    return Promise.resolve(true);
  };
  return { claim, calls, setDown: (value: boolean) => (down = value) };
}

function node(claim: ClaimOnce, onDegraded = () => {}) {
  const shared = new SharedReplayClaims({ claim, namespace: 'dpop:jti:', onDegraded });
  return { cache: new SharedJtiReplayCache(new JtiReplayCache(100), shared), shared };
}

describe('replay caches shared through a claim-once store', () => {
  it('refuses on a second node a key the first node accepted, and accepts other keys', async () => {
    const t = 1_000_000;
    const redis = fakeRedis(() => t);
    const a = node(redis.claim);
    const b = node(redis.claim);
    assert.equal(await a.cache.remember('thumb.jti-1', t + 60_000, t), 'fresh');
    assert.equal(await b.cache.remember('thumb.jti-1', t + 60_000, t), 'replayed');
    assert.equal(await b.cache.remember('thumb.jti-2', t + 60_000, t), 'fresh');
    assert.equal(await a.cache.remember('thumb.jti-2', t + 60_000, t), 'replayed');
  });

  it('refuses a replay on the same node from its own cache, without a round trip', () => {
    const t = 5000;
    const redis = fakeRedis(() => t);
    const a = node(redis.claim);
    void a.cache.remember('k', t + 1000, t);
    const calls = redis.calls.length;
    assert.equal(a.cache.remember('k', t + 1000, t), 'replayed');
    assert.equal(redis.calls.length, calls);
  });

  it('claims a namespaced SHA-256 of the key, never the key, for the rest of its window plus the clock slack', async () => {
    const redis = fakeRedis(() => 0);
    const a = node(redis.claim);
    await a.cache.remember('thumb.secret-jti', 60_000, 10_000);
    assert.equal(redis.calls.length, 1);
    const { name, ttlMs } = redis.calls[0]!;
    assert.match(name, /^dpop:jti:[A-Za-z0-9_-]{43}$/);
    assert.ok(!name.includes('secret-jti'));
    assert.equal(ttlMs, 50_000 + SHARED_CLOCK_SLACK_MS);
  });

  it('while the store does not answer: decides with the local cache (a same-node replay still refused) and counts and reports each such check', async () => {
    const redis = fakeRedis(() => 0);
    let reports = 0;
    const a = node(redis.claim, () => reports++);
    const b = node(redis.claim, () => reports++);
    assert.equal(await a.cache.remember('k', 60_000, 0), 'fresh');
    redis.setDown(true);
    assert.equal(await a.cache.remember('k', 60_000, 0), 'replayed', 'the local cache still refuses');
    assert.equal(await b.cache.remember('k', 60_000, 0), 'fresh', 'the cross-node gap of an outage: accepted, but counted');
    assert.equal(await b.cache.remember('k', 60_000, 0), 'replayed', 'once per node');
    assert.deepEqual([a.shared.degraded, b.shared.degraded, reports], [0, 1, 1]);
    redis.setDown(false);
    assert.equal(await b.cache.remember('other', 60_000, 0), 'fresh');
    assert.equal(await a.cache.remember('other', 60_000, 0), 'replayed', 'shared again once the store answers');
  });

  it('treats a store that is not connected (null at once) or a rejected claim as an outage, never as a refusal or a crash', async () => {
    let reports = 0;
    const offline = new SharedReplayClaims({ claim: () => null, namespace: 's:', onDegraded: () => reports++ });
    assert.equal(offline.claim('k', 1000, 0), 'fresh');
    const failing = new SharedReplayClaims({ claim: () => Promise.reject(new Error('boom')), namespace: 's:', onDegraded: () => reports++ });
    assert.equal(await failing.claim('k', 1000, 0), 'fresh');
    assert.deepEqual([offline.degraded, failing.degraded, reports], [1, 1, 2]);
  });

  it('keeps the local cache\'s refusal when it is full, without claiming', () => {
    const redis = fakeRedis(() => 0);
    const shared = new SharedReplayClaims({ claim: redis.claim, namespace: 'x:', onDegraded: () => {} });
    const cache = new SharedJtiReplayCache(new JtiReplayCache(1), shared);
    void cache.remember('a', 10_000, 0);
    assert.equal(cache.remember('b', 10_000, 0), 'full');
    assert.equal(cache.msUntilRoom(0), 10_000);
    assert.equal(redis.calls.length, 1);
  });
});
