/**
 * The behaviour every store's per-minute usage must have, run unchanged against each
 * implementation (SQLite now, PostgreSQL later). Only the `UsageStore` interface is used.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UsageMinute, UsageStore } from '../../src/store/usage-store.ts';
import { freshStorePerTest, type MakeFreshStore } from './fresh-store.ts';

export type MakeUsageStore = MakeFreshStore<UsageStore & { migrate(): Promise<void> }>;

const minute = 60_000;
const m0 = 28_333_333 * minute;

function usage(keyId: string, at: number, counts: Partial<UsageMinute> = {}): UsageMinute {
  return { keyId, minute: at, requests: 1, bytesIn: 0, bytesOut: 0, denials: {}, addresses: [], ...counts };
}

export function runUsageStoreSuite(label: string, makeStore: MakeUsageStore): void {
  describe(`UsageStore: ${label}`, () => {
    let store: UsageStore;
    freshStorePerTest(makeStore, (fresh) => (store = fresh));

    it('sums batches from several nodes for the same key and minute', async () => {
      await store.recordUsageMinutes([
        usage('key_a', m0, { requests: 5, bytesIn: 100, bytesOut: 1000, denials: { key_revoked: 2 }, addresses: ['192.0.2.1', '192.0.2.2'] }),
      ]);
      await store.recordUsageMinutes([
        usage('key_a', m0, { requests: 3, bytesIn: 10, bytesOut: 20, denials: { key_revoked: 1, rate_limited: 4 }, addresses: ['192.0.2.2', '2001:db8::1'] }),
      ]);
      await store.recordUsageMinutes([]);
      assert.deepEqual(await store.usageSeries('key_a', m0, m0 + minute), [
        { minute: m0, requests: 8, bytesIn: 110, bytesOut: 1020, denials: { key_revoked: 3, rate_limited: 4 }, addresses: 3 },
      ]);
    });

    it('returns one key\'s minutes in [from, to), oldest first', async () => {
      await store.recordUsageMinutes([
        usage('key_a', m0 + 2 * minute, { requests: 2 }),
        usage('key_a', m0, { requests: 1, denials: { key_expired: 1 } }),
        usage('key_b', m0 + minute, { requests: 9 }),
        usage('key_a', m0 + 3 * minute, { requests: 3 }),
      ]);
      const series = await store.usageSeries('key_a', m0, m0 + 3 * minute);
      assert.deepEqual(series.map((point) => [point.minute, point.requests]), [[m0, 1], [m0 + 2 * minute, 2]]);
      assert.deepEqual(series[0]!.denials, { key_expired: 1 });
      assert.deepEqual(series[1]!.denials, {});
      assert.deepEqual(await store.usageSeries('key_missing', m0, m0 + 10 * minute), []);
    });

    it('lists a key\'s addresses, most recently seen first', async () => {
      await store.recordUsageMinutes([
        usage('key_a', m0, { addresses: ['192.0.2.1', '192.0.2.2'] }),
        usage('key_a', m0 + minute, { addresses: ['192.0.2.1'] }),
        usage('key_a', m0 + 2 * minute, { addresses: ['2001:db8::9'] }),
        usage('key_b', m0 + 3 * minute, { addresses: ['198.51.100.1'] }),
      ]);
      assert.deepEqual(await store.usageAddresses('key_a', m0, m0 + 10 * minute, 10), [
        { address: '2001:db8::9', lastSeen: m0 + 2 * minute, minutes: 1 },
        { address: '192.0.2.1', lastSeen: m0 + minute, minutes: 2 },
        { address: '192.0.2.2', lastSeen: m0, minutes: 1 },
      ]);
      assert.deepEqual((await store.usageAddresses('key_a', m0, m0 + 10 * minute, 1)).map((row) => row.address), ['2001:db8::9']);
      assert.deepEqual((await store.usageAddresses('key_a', m0 + minute, m0 + 2 * minute, 10)).map((row) => row.address), ['192.0.2.1']);
    });

    it('totals each key over a window, busiest first', async () => {
      await store.recordUsageMinutes([
        usage('key_a', m0, { requests: 2, bytesIn: 1, bytesOut: 2, denials: { key_revoked: 2 } }),
        usage('key_b', m0, { requests: 5, bytesOut: 50 }),
        usage('key_b', m0 + minute, { requests: 5, bytesOut: 50, denials: { rate_limited: 1, key_expired: 2 } }),
        usage('key_c', m0 + 5 * minute, { requests: 100 }),
      ]);
      assert.deepEqual(await store.usageTotals(m0, m0 + 2 * minute, 10), [
        { keyId: 'key_b', requests: 10, denied: 3, bytesIn: 0, bytesOut: 100 },
        { keyId: 'key_a', requests: 2, denied: 2, bytesIn: 1, bytesOut: 2 },
      ]);
      assert.deepEqual((await store.usageTotals(m0, m0 + 10 * minute, 1)).map((total) => total.keyId), ['key_c']);
    });

    it('purges everything older than a minute', async () => {
      await store.recordUsageMinutes([
        usage('key_a', m0, { denials: { key_revoked: 1 }, addresses: ['192.0.2.1'] }),
        usage('key_a', m0 + minute, { addresses: ['192.0.2.2'] }),
      ]);
      assert.equal(await store.purgeUsageBefore(m0 + minute), 1);
      assert.deepEqual((await store.usageSeries('key_a', 0, m0 + 10 * minute)).map((point) => point.minute), [m0 + minute]);
      assert.deepEqual((await store.usageAddresses('key_a', 0, m0 + 10 * minute, 10)).map((row) => row.address), ['192.0.2.2']);
      assert.deepEqual(await store.usageTotals(0, m0 + 10 * minute, 10), [{ keyId: 'key_a', requests: 1, denied: 0, bytesIn: 0, bytesOut: 0 }]);
    });
  });
}
