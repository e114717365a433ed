import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seededRandom, shuffledIndices, zipfKeyMix, zipfSampler, zipfTopShare } from './zipf.ts';

test('seededRandom repeats for a seed, differs between seeds and stays in [0, 1)', () => {
  const first = seededRandom(7);
  const again = seededRandom(7);
  const other = seededRandom(8);
  const drawn = Array.from({ length: 1000 }, () => first());
  assert.deepEqual(Array.from({ length: 1000 }, () => again()), drawn);
  assert.notDeepEqual(Array.from({ length: 1000 }, () => other()), drawn);
  assert.ok(drawn.every((value) => value >= 0 && value < 1));
  const mean = drawn.reduce((sum, value) => sum + value, 0) / drawn.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
});

test('zipfSampler gives each rank its share 1 / ((k + 1)^s · H(n, s))', () => {
  const n = 1000;
  const s = 1.1;
  const draws = 200_000;
  const draw = zipfSampler(n, s, seededRandom(1));
  const counts = new Array<number>(n).fill(0);
  for (let index = 0; index < draws; index++) {
    const rank = draw();
    assert.ok(Number.isInteger(rank) && rank >= 0 && rank < n, `rank ${rank}`);
    counts[rank]!++;
  }
  const top = zipfTopShare(n, s);
  for (const rank of [0, 1, 9, 99]) {
    const expected = (draws * top) / (rank + 1) ** s;
    // Five standard deviations of a binomial count.
    const bound = 5 * Math.sqrt(expected);
    assert.ok(Math.abs(counts[rank]! - expected) < bound, `rank ${rank}: ${counts[rank]} draws, expected ${expected.toFixed(0)} ± ${bound.toFixed(0)}`);
  }
  // The tail is drawn too: ranks 500 … 999 together get their share.
  const tail = counts.slice(500).reduce((sum, count) => sum + count, 0);
  let tailWeight = 0;
  for (let rank = 500; rank < n; rank++) tailWeight += top / (rank + 1) ** s;
  assert.ok(Math.abs(tail - draws * tailWeight) < 5 * Math.sqrt(draws * tailWeight), `tail ${tail}, expected ${(draws * tailWeight).toFixed(0)}`);
});

test('zipfTopShare is 1 / H(n, s)', () => {
  assert.equal(zipfTopShare(1, 1.1), 1);
  assert.ok(Math.abs(zipfTopShare(2, 1) - 1 / 1.5) < 1e-12);
  assert.ok(Math.abs(zipfTopShare(3, 2) - 1 / (1 + 1 / 4 + 1 / 9)) < 1e-12);
});

test('zipfSampler refuses what is not a distribution', () => {
  assert.throws(() => zipfSampler(0, 1.1, Math.random), RangeError);
  assert.throws(() => zipfSampler(10, 0, Math.random), RangeError);
  assert.throws(() => zipfSampler(10, Number.NaN, Math.random), RangeError);
  assert.throws(() => zipfSampler(1.5, 1, Math.random), RangeError);
});

test('shuffledIndices is a permutation', () => {
  const order = shuffledIndices(10_000, seededRandom(3));
  assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: 10_000 }, (_, index) => index));
  assert.notDeepEqual([...order.subarray(0, 20)], Array.from({ length: 20 }, (_, index) => index));
});

test('zipfKeyMix is repeatable, in range, and skewed: one key carries its top share', () => {
  const keyCount = 100_000;
  const mix = zipfKeyMix(keyCount, 1.1, 50_000, 42);
  assert.deepEqual(zipfKeyMix(keyCount, 1.1, 50_000, 42), mix);
  assert.ok(mix.every((index) => index < keyCount));
  const counts = new Map<number, number>();
  for (const index of mix) counts.set(index, (counts.get(index) ?? 0) + 1);
  const busiest = Math.max(...counts.values());
  const expected = 50_000 * zipfTopShare(keyCount, 1.1);
  assert.ok(Math.abs(busiest - expected) < 5 * Math.sqrt(expected), `busiest key ${busiest} draws, expected ${expected.toFixed(0)}`);
  // Far fewer distinct keys than draws (a uniform mix would touch about 39,000).
  assert.ok(counts.size < 25_000, `${counts.size} distinct keys`);
});

test('zipfKeyMix with a draw seed keeps which keys are popular and draws another stretch of traffic', () => {
  const keyCount = 100_000;
  const busiestOf = (mix: Uint32Array) => {
    const counts = new Map<number, number>();
    for (const index of mix) counts.set(index, (counts.get(index) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  };
  const first = zipfKeyMix(keyCount, 1.1, 50_000, 42, 1);
  const second = zipfKeyMix(keyCount, 1.1, 50_000, 42, 2);
  assert.deepEqual(zipfKeyMix(keyCount, 1.1, 50_000, 42, 1), first, 'repeatable');
  assert.notDeepEqual(second, first, 'other draws');
  assert.equal(busiestOf(second), busiestOf(first), 'the same key is the most popular');
  assert.notEqual(busiestOf(zipfKeyMix(keyCount, 1.1, 50_000, 43, 1)), busiestOf(first), 'another seed maps ranks to other keys');
});
