/**
 * A Zipf-distributed key mix for `npm run bench:scale`: a few keys carry most requests, a long
 * tail is called now and then, as the clients of a public API do. Pure and seeded, so a run can
 * be repeated exactly (tested in zipf.test.ts).
 */

import { seededRandom } from '../test/support/seeded-random.ts';

export { seededRandom };

/**
 * Draws ranks 0 … n−1 with P(rank k) ∝ 1 / (k + 1)^s: rank 0 is the most requested. Inverse
 * transform over the cumulative weights (8 bytes per rank; a binary search per draw).
 */
export function zipfSampler(n: number, s: number, random: () => number): () => number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`a Zipf distribution needs n >= 1 ranks, not ${n}`);
  if (!Number.isFinite(s) || s <= 0) throw new RangeError(`a Zipf exponent must be > 0, not ${s}`);
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let rank = 0; rank < n; rank++) {
    total += 1 / (rank + 1) ** s;
    cumulative[rank] = total;
  }
  return () => {
    const target = random() * total;
    let low = 0;
    let high = n - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (cumulative[middle]! > target) high = middle;
      else low = middle + 1;
    }
    return low;
  };
}

/** A random order of 0 … n−1 (Fisher–Yates), to map ranks to keys so hot keys are spread over the store. */
export function shuffledIndices(n: number, random: () => number): Uint32Array {
  const order = new Uint32Array(n);
  for (let index = 0; index < n; index++) order[index] = index;
  for (let index = n - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    const held = order[index]!;
    order[index] = order[other]!;
    order[other] = held;
  }
  return order;
}

/**
 * `count` key indices (0 … keyCount−1) drawn from Zipf(s) over `keyCount` keys, the ranks mapped
 * to keys in a random order. The same seed gives the same list. With `drawSeed`, the ranks map
 * to the same keys as for `seed` (the same keys are popular) but the draws come from
 * `drawSeed`: another stretch of the same clients' traffic.
 */
export function zipfKeyMix(keyCount: number, s: number, count: number, seed: number, drawSeed?: number): Uint32Array {
  const random = seededRandom(seed);
  const keyOfRank = shuffledIndices(keyCount, random);
  const draw = zipfSampler(keyCount, s, drawSeed === undefined ? random : seededRandom(drawSeed));
  const mix = new Uint32Array(count);
  for (let index = 0; index < count; index++) mix[index] = keyOfRank[draw()]!;
  return mix;
}

/** The share of draws that rank 0 (the most requested key) gets: 1 / H(n, s). */
export function zipfTopShare(n: number, s: number): number {
  let total = 0;
  for (let rank = 1; rank <= n; rank++) total += 1 / rank ** s;
  return 1 / total;
}
