import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { UsageStore, UsageTotal } from '../store/usage-store.ts';
import { totalsByKey, UsageRollup, windowBounds } from './usage-rollup.ts';

const MINUTE = 60_000;
const NOW = Date.parse('2026-01-01T12:00:30Z');

/** A store whose every minute of the last day has one request for key_a (and a refusal every tenth minute); counts its reads. */
function fakeStore(): Pick<UsageStore, 'usageTotals'> & { reads: Array<[number, number]> } {
  const reads: Array<[number, number]> = [];
  const minutesIn = (from: number, to: number) => {
    const minutes: number[] = [];
    for (let minute = Math.ceil(from / MINUTE) * MINUTE; minute < to && minute <= NOW; minute += MINUTE) minutes.push(minute);
    return minutes;
  };
  return {
    reads,
    async usageTotals(from, to): Promise<UsageTotal[]> {
      reads.push([from, to]);
      const minutes = minutesIn(from, to);
      if (minutes.length === 0) return [];
      return [{ keyId: 'key_a', requests: minutes.length, denied: minutes.filter((minute) => (minute / MINUTE) % 10 === 0).length, bytesIn: 0, bytesOut: 0 }];
    },
  };
}

describe('usage rollup', () => {
  it('sums every step of a window, and reads a settled step only once', async () => {
    const store = fakeStore();
    const rollup = new UsageRollup(store, { budget: 10_000 });
    const first = await rollup.window('1h', NOW);
    assert.equal(first.buckets.length, 60);
    assert.equal(first.pending, 0);
    assert.equal(totalsByKey(first.buckets).get('key_a')?.requests, 60);
    const readsBefore = store.reads.length;
    await rollup.window('1h', NOW + 1000);
    // Only the steps that ended less than `settle` (2 min) ago are read again.
    assert.ok(store.reads.length - readsBefore <= 3, `${store.reads.length - readsBefore} reads`);
  });

  it('stops within its budget, newest steps first, and says how many are pending', async () => {
    const store = fakeStore();
    const slow = { ...store, usageTotals: async (from: number, to: number, limit: number) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return store.usageTotals(from, to, limit);
    } };
    const rollup = new UsageRollup(slow, { budget: 20 });
    const partial = await rollup.window('24h', NOW);
    assert.ok(partial.pending > 0 && partial.pending < 96);
    assert.notEqual(partial.buckets.at(-1), null, 'the newest step is summed first');
    assert.equal(partial.buckets[0], null);
    let rest = partial;
    for (let round = 0; round < 100 && rest.pending > 0; round++) rest = await rollup.window('24h', NOW);
    assert.equal(rest.pending, 0);
  });

  it('aligns windows to their steps', () => {
    assert.deepEqual(windowBounds('24h', NOW), { from: Date.parse('2025-12-31T12:15:00Z'), to: Date.parse('2026-01-01T12:15:00Z'), step: 15 * MINUTE });
  });
});
