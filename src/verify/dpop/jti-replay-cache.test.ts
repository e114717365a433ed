import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { JtiReplayCache } from './jti-replay-cache.ts';

describe('JtiReplayCache', () => {
  it('remembers a key until its expiry, then forgets it', () => {
    const cache = new JtiReplayCache(10);
    assert.equal(cache.remember('a', 1000, 0), 'fresh');
    assert.equal(cache.remember('a', 1000, 999), 'replayed');
    assert.equal(cache.size, 1);
    assert.equal(cache.remember('a', 2000, 1000), 'fresh', 'expired at 1000: the iat check refuses such a proof by then');
  });

  it('refuses new keys when full of live entries, and never evicts one to make room', () => {
    const cache = new JtiReplayCache(2);
    assert.equal(cache.remember('a', 1000, 0), 'fresh');
    assert.equal(cache.remember('b', 500, 0), 'fresh');
    assert.equal(cache.remember('c', 900, 100), 'full');
    assert.equal(cache.remember('a', 1000, 100), 'replayed', 'a full cache still knows every live key');
    assert.equal(cache.remember('b', 500, 100), 'replayed');
    assert.equal(cache.msUntilRoom(100), 400, 'b leaves first');
    assert.equal(cache.remember('c', 900, 500), 'fresh', 'b has left');
    assert.equal(cache.remember('a', 1000, 500), 'replayed');
  });

  it('says when there will be room', () => {
    const cache = new JtiReplayCache(1);
    assert.equal(cache.msUntilRoom(0), 0);
    cache.remember('a', 5000, 0);
    assert.equal(cache.msUntilRoom(1000), 4000);
    assert.equal(cache.msUntilRoom(9000), 0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) assert.throws(() => new JtiReplayCache(capacity), /Invalid replay cache capacity/);
  });

  it('behaves as a plain map of live entries, for any sequence of calls (model check)', () => {
    const step = fc.record({ key: fc.integer({ min: 0, max: 20 }), lifetime: fc.integer({ min: 0, max: 100 }), advance: fc.integer({ min: 0, max: 30 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(step, { maxLength: 200 }), (capacity, steps) => {
        const cache = new JtiReplayCache(capacity);
        const model = new Map<string, number>();
        let now = 0;
        for (const { key, lifetime, advance } of steps) {
          now += advance;
          for (const [known, expiry] of model) if (expiry <= now) model.delete(known);
          const name = `k${key}`;
          const expected = model.has(name) ? 'replayed' : model.size >= capacity ? 'full' : 'fresh';
          if (expected === 'fresh') model.set(name, now + lifetime);
          assert.equal(cache.remember(name, now + lifetime, now), expected);
          assert.equal(cache.size, model.size);
          const oldest = Math.min(...model.values());
          assert.equal(cache.msUntilRoom(now), model.size === 0 ? 0 : oldest - now);
        }
      }),
    );
  });
});
