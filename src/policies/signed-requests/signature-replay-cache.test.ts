import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignatureReplayCache } from './signature-replay-cache.ts';

describe('SignatureReplayCache', () => {
  it('admits an entry once while it is kept, and again after', () => {
    const cache = new SignatureReplayCache(10, 1000);
    assert.equal(cache.admit('a', 5000, 5000), 'fresh');
    assert.equal(cache.admit('a', 5000, 5999), 'replayed');
    assert.equal(cache.admit('b', 5000, 5999), 'fresh');
    // Kept until created + keepFor; the window check refuses it from then on.
    assert.equal(cache.admit('a', 5000, 6000), 'fresh');
  });

  it('never holds more than its capacity, and refuses what it had to forget (the floor)', () => {
    const cache = new SignatureReplayCache(3, 60_000);
    for (const [entry, created] of [['a', 1000], ['b', 2000], ['c', 3000]] as const) assert.equal(cache.admit(entry, created, 3000), 'fresh');
    assert.equal(cache.floor, Number.NEGATIVE_INFINITY);
    assert.equal(cache.admit('d', 4000, 4000), 'fresh');
    assert.equal(cache.size, 3);
    assert.equal(cache.floor, 1000);
    // 'a' was dropped: replaying it is still refused, as below the floor.
    assert.equal(cache.admit('a', 1000, 4000), 'below-floor');
    assert.equal(cache.admit('b', 2000, 4000), 'replayed');
    for (let index = 0; index < 100; index++) cache.admit(`e${index}`, 5000 + index, 5000 + index);
    assert.equal(cache.size, 3);
    assert.equal(cache.admit('d', 4000, 6000), 'below-floor');
  });

  it('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new SignatureReplayCache(0, 1000), RangeError);
  });
});
