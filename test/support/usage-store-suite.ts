/**
 * The behaviour every store's per-minute usage must have, run unchanged against each
 * implementation (SQLite now, PostgreSQL later). Only the `UsageStore` interface is used.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UsageMinute, UsageStore, WouldDenyMinute } from '../../src/store/usage-store.ts';
import { freshStorePerTest, type MakeFreshStore } from './fresh-store.ts';
import { ADDRESSES, fractional, MAX_EXACT, UNICODE_NAMES } from './stored-value-samples.ts';

export type MakeUsageStore = MakeFreshStore<UsageStore & { migrate(): Promise<void> }>;

const minute = 60_000;
const m0 = 28_333_333 * minute;

function usage(keyId: string, at: number, counts: Partial<UsageMinute> = {}): UsageMinute {
  return { keyId, minute: at, requests: 1, bytesIn: 0, bytesOut: 0, denials: {}, addresses: [], ...counts };
}

function wouldDeny(at: number, code: string, route: string, keyId: string | null, requests = 1, api = 'default'): WouldDenyMinute {
  return { minute: at, code, api, route, keyId, requests };
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

    // A store may read short and long windows differently (SQLite does): both must agree.
    it('totals a long window (a day) as the sum of its short ones, minutes at both ends included', async () => {
      const day = 1440 * minute;
      await store.recordUsageMinutes([
        usage('key_a', m0, { requests: 3, bytesIn: 1, denials: { rate_limited: 1 } }),
        usage('key_a', m0 + day - minute, { requests: 4, bytesOut: 9 }),
        usage('key_b', m0 + 600 * minute, { requests: 6, denials: { key_revoked: 2 } }),
        usage('key_b', m0 + day, { requests: 1000 }),
        usage('key_c', m0 - minute, { requests: 1000 }),
      ]);
      const expected = [
        { keyId: 'key_a', requests: 7, denied: 1, bytesIn: 1, bytesOut: 9 },
        { keyId: 'key_b', requests: 6, denied: 2, bytesIn: 0, bytesOut: 0 },
      ];
      assert.deepEqual(await store.usageTotals(m0, m0 + day, 10), expected);
      const parts = [];
      for (let from = m0; from < m0 + day; from += 60 * minute) parts.push(...(await store.usageTotals(from, from + 60 * minute, 10)));
      assert.deepEqual(parts.map((total) => [total.keyId, total.requests]).sort(), [['key_a', 3], ['key_a', 4], ['key_b', 6]]);
      assert.deepEqual((await store.usageTotals(m0, m0 + day, 1)).map((total) => total.keyId), ['key_a']);
    });

    it('ranks keys by refusals over a window, only keys with refusals, ties by key id', async () => {
      await store.recordUsageMinutes([
        usage('key_a', m0, { requests: 10, bytesIn: 5, denials: { rate_limited: 1 } }),
        usage('key_b', m0, { requests: 2, bytesOut: 7, denials: { key_revoked: 3 } }),
        usage('key_b', m0 + minute, { requests: 1, bytesOut: 1, denials: { rate_limited: 1 } }),
        usage('key_c', m0 + minute, { requests: 50 }),
        usage('key_d', m0 + minute, { requests: 1, denials: { scope_missing: 1 } }),
        usage('key_e', m0 + 2 * minute, { requests: 100, denials: { locked_out: 100 } }),
      ]);
      assert.deepEqual(await store.usageTotals(m0, m0 + 2 * minute, 10, 'denied'), [
        { keyId: 'key_b', requests: 3, denied: 4, bytesIn: 0, bytesOut: 8 },
        { keyId: 'key_a', requests: 10, denied: 1, bytesIn: 5, bytesOut: 0 },
        { keyId: 'key_d', requests: 1, denied: 1, bytesIn: 0, bytesOut: 0 },
      ]);
      assert.deepEqual((await store.usageTotals(m0, m0 + 2 * minute, 2, 'denied')).map((total) => total.keyId), ['key_b', 'key_a']);
      assert.deepEqual((await store.usageTotals(m0, m0 + 2 * minute, 10, 'requests')).map((total) => total.keyId), ['key_c', 'key_a', 'key_b', 'key_d']);
      assert.deepEqual((await store.usageTotals(fractional(m0), m0 + 3 * minute, 10, 'denied')).map((total) => [total.keyId, total.denied]), [['key_e', 100], ['key_b', 1], ['key_d', 1]]);
      assert.deepEqual(await store.usageTotals(m0 + 5 * minute, m0 + 9 * minute, 10, 'denied'), []);
    });

    it('counts the keys with usage in a window', async () => {
      await store.recordUsageMinutes([
        usage('key_a', m0),
        usage('key_a', m0 + minute),
        usage('key_b', m0 + minute),
        usage('key_c', m0 + 2 * minute),
      ]);
      assert.equal(await store.usageKeyCount(m0, m0 + 2 * minute), 2);
      assert.equal(await store.usageKeyCount(m0, m0 + 2 * minute + 0.5), 3);
      assert.equal(await store.usageKeyCount(m0 + 0.5, m0 + 2 * minute), 2);
      assert.equal(await store.usageKeyCount(m0 + minute + 0.5, m0 + 2 * minute), 0);
      assert.equal(await store.usageKeyCount(m0 + 5 * minute, m0 + 9 * minute), 0);
    });

    it('sums every key per step, each minute in the step it falls in, refusals by code', async () => {
      const step = 5 * minute;
      await store.recordUsageMinutes([
        usage('key_a', m0 - minute, { requests: 1000, denials: { rate_limited: 1000 } }),
        usage('key_a', m0, { requests: 3, bytesIn: 10, bytesOut: 100, denials: { rate_limited: 1 } }),
        usage('key_b', m0 + 4 * minute, { requests: 2, denials: { key_revoked: 2 } }),
        usage('key_a', m0 + 5 * minute, { requests: 7, bytesOut: 5, denials: { rate_limited: 3, scope_missing: 1 } }),
        usage('key_c', m0 + 5 * minute, { requests: 1 }),
        usage('key_c', m0 + 6 * minute, { requests: 4 }),
        usage('key_b', m0 + 15 * minute, { requests: 1000 }),
      ]);
      // A second node's batch for a key and minute already written adds to the same step.
      await store.recordUsageMinutes([usage('key_a', m0, { requests: 1, denials: { rate_limited: 1 } })]);
      assert.deepEqual(await store.usageSteps(m0, m0 + 15 * minute, step), [
        { at: m0, requests: 6, bytesIn: 10, bytesOut: 100, denials: { rate_limited: 2, key_revoked: 2 } },
        { at: m0 + step, requests: 12, bytesIn: 0, bytesOut: 5, denials: { rate_limited: 3, scope_missing: 1 } },
      ]);
      // A window that is not a whole number of steps: the last step is cut at `to`.
      assert.deepEqual((await store.usageSteps(m0, m0 + 6 * minute, step)).map((point) => [point.at, point.requests]), [[m0, 6], [m0 + step, 8]]);
      // One-minute steps are the minutes themselves.
      assert.deepEqual((await store.usageSteps(m0 + 4 * minute, m0 + 7 * minute, minute)).map((point) => [point.at, point.requests]), [[m0 + 4 * minute, 2], [m0 + 5 * minute, 8], [m0 + 6 * minute, 4]]);
      // One step for the whole window sums it all.
      assert.deepEqual(await store.usageSteps(m0 - minute, m0 + 16 * minute, 17 * minute), [
        { at: m0 - minute, requests: 2018, bytesIn: 10, bytesOut: 105, denials: { rate_limited: 1005, key_revoked: 2, scope_missing: 1 } },
      ]);
      assert.deepEqual(await store.usageSteps(m0 + 20 * minute, m0 + 40 * minute, step), []);
    });

    it('starts steps at a fractional `from` rounded up, so each minute stays in the step it falls in', async () => {
      await store.recordUsageMinutes([
        usage('key_a', m0, { requests: 1000 }),
        usage('key_a', fractional(m0 + minute), { requests: 1, denials: { rate_limited: 1 } }),
        usage('key_b', m0 + 2 * minute + 0.5, { requests: 2 }),
        usage('key_a', m0 + 3 * minute, { requests: 4, denials: { key_expired: 4 } }),
        usage('key_b', m0 + 4 * minute, { requests: 8 }),
        usage('key_b', m0 + 5 * minute, { requests: 1000 }),
      ]);
      // Steps of [m0 + 0.5 + i·2 min, …): minute m0 is before the window; m0 + 2 min is the last whole ms of step 0.
      assert.deepEqual(await store.usageSteps(m0 + 0.5, m0 + 4 * minute + 0.5, 2 * minute), [
        { at: m0 + 1, requests: 3, bytesIn: 0, bytesOut: 0, denials: { rate_limited: 1 } },
        { at: m0 + 2 * minute + 1, requests: 12, bytesIn: 0, bytesOut: 0, denials: { key_expired: 4 } },
      ]);
      // A `from` as the request clock gives it starts the same steps; one just before a minute starts them on that minute.
      assert.deepEqual((await store.usageSteps(fractional(m0), m0 + 5 * minute, 2 * minute)).map((point) => [point.at, point.requests]), [[m0 + 1, 3], [m0 + 2 * minute + 1, 12]]);
      assert.deepEqual((await store.usageSteps(m0 + minute - 0.25, m0 + 5 * minute, 2 * minute)).map((point) => [point.at, point.requests]), [[m0 + minute, 3], [m0 + 3 * minute, 12]]);
      for (const step of [0, -minute, 0.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(store.usageSteps(m0, m0 + 5 * minute, step), RangeError, `step ${step}`);
      }
    });

    it('keeps counts up to 2^53 - 1 exactly, summed across batches, in every read', async () => {
      const big = MAX_EXACT - 10;
      await store.recordUsageMinutes([
        usage('key_big', m0, { requests: big, bytesIn: big, bytesOut: big, denials: { rate_limited: big }, addresses: [...ADDRESSES] }),
      ]);
      await store.recordUsageMinutes([usage('key_big', m0, { requests: 10, bytesIn: 10, bytesOut: 10, denials: { rate_limited: 10 } })]);
      assert.deepEqual(await store.usageSeries('key_big', m0, m0 + minute), [
        { minute: m0, requests: MAX_EXACT, bytesIn: MAX_EXACT, bytesOut: MAX_EXACT, denials: { rate_limited: MAX_EXACT }, addresses: ADDRESSES.length },
      ]);
      assert.deepEqual(await store.usageTotals(m0, m0 + minute, 10), [{ keyId: 'key_big', requests: MAX_EXACT, denied: MAX_EXACT, bytesIn: MAX_EXACT, bytesOut: MAX_EXACT }]);
      assert.deepEqual(await store.usageTotals(m0, m0 + minute, 10, 'denied'), [{ keyId: 'key_big', requests: MAX_EXACT, denied: MAX_EXACT, bytesIn: MAX_EXACT, bytesOut: MAX_EXACT }]);
      assert.deepEqual(await store.usageSteps(m0, m0 + minute, minute), [{ at: m0, requests: MAX_EXACT, bytesIn: MAX_EXACT, bytesOut: MAX_EXACT, denials: { rate_limited: MAX_EXACT } }]);
      assert.deepEqual((await store.usageAddresses('key_big', m0, m0 + minute, 10)).map((row) => row.address).sort(), [...ADDRESSES].sort());
    });

    it('refuses to read a sum past 2^53 - 1 rather than round it', async () => {
      await store.recordUsageMinutes([usage('key_big', m0, { requests: MAX_EXACT, denials: { rate_limited: MAX_EXACT } })]);
      await store.recordUsageMinutes([usage('key_big', m0 + minute, { requests: 1, denials: { locked_out: MAX_EXACT } })]);
      await assert.rejects(store.usageTotals(m0, m0 + 2 * minute, 10), RangeError);
      await assert.rejects(store.usageTotals(m0, m0 + 2 * minute, 10, 'denied'), RangeError);
      await assert.rejects(store.usageSteps(m0, m0 + 2 * minute, 2 * minute), RangeError);
      // Each minute on its own still reads exactly.
      assert.deepEqual((await store.usageSeries('key_big', m0, m0 + 2 * minute)).map((point) => point.requests), [MAX_EXACT, 1]);
    });

    it('stores a minute given with a fraction, or not on the minute, as the minute it falls in', async () => {
      await store.recordUsageMinutes([usage('key_a', fractional(m0), { addresses: ['192.0.2.1'] }), usage('key_a', m0 + 59_999.5, { requests: 2 })]);
      await store.recordUsageMinutes([usage('key_a', m0 + minute + 0.25, { requests: 4, denials: { key_revoked: 1 } })]);
      assert.deepEqual((await store.usageSeries('key_a', fractional(m0 - minute), fractional(m0 + 2 * minute))).map((point) => [point.minute, point.requests]), [[m0, 3], [m0 + minute, 4]]);
      assert.deepEqual(await store.usageAddresses('key_a', fractional(m0 - 1), fractional(m0 + minute), 10), [{ address: '192.0.2.1', lastSeen: m0, minutes: 1 }]);
      assert.deepEqual(await store.usageTotals(fractional(m0 - 1), fractional(m0 + 2 * minute), 10), [{ keyId: 'key_a', requests: 7, denied: 1, bytesIn: 0, bytesOut: 0 }]);
      // A fractional bound means what it says: `to` just past a minute includes that minute.
      assert.deepEqual((await store.usageSeries('key_a', m0, m0 + minute + 0.5)).map((point) => point.minute), [m0, m0 + minute]);
      assert.deepEqual((await store.usageSeries('key_a', m0 + 0.5, m0 + 2 * minute)).map((point) => point.minute), [m0 + minute]);
      assert.equal(await store.purgeUsageBefore(m0 + 0.5), 1);
    });

    it('keeps unicode denial codes and addresses as written', async () => {
      const codes = Object.fromEntries(UNICODE_NAMES.slice(0, 5).map((name, index) => [name, index + 1]));
      await store.recordUsageMinutes([usage('key_ü', m0, { requests: 15, denials: codes, addresses: [UNICODE_NAMES[2], ...ADDRESSES] })]);
      const [point] = await store.usageSeries('key_ü', m0, m0 + minute);
      assert.deepEqual(point?.denials, codes);
      assert.deepEqual((await store.usageAddresses('key_ü', m0, m0 + minute, 10)).map((row) => row.address).sort(), [UNICODE_NAMES[2], ...ADDRESSES].sort());
    });

    it('refuses counts it could not keep exactly, and text PostgreSQL cannot hold, writing nothing of the batch', async () => {
      const refused: Array<[string, UsageMinute]> = [
        ['a fractional count', usage('key_a', m0, { requests: 1.5 })],
        ['a negative count', usage('key_a', m0, { bytesIn: -1 })],
        ['a count past 2^53', usage('key_a', m0, { bytesOut: 2 ** 53 })],
        ['a fractional denial count', usage('key_a', m0, { denials: { rate_limited: 0.5 } })],
        ['U+0000 in an address', usage('key_a', m0, { addresses: ['192.0.2.1\u0000'] })],
        ['a minute that is not a time', usage('key_a', Number.NaN)],
      ];
      for (const [what, bad] of refused) {
        await assert.rejects(store.recordUsageMinutes([usage('key_a', m0, { requests: 100 }), bad]), RangeError, what);
      }
      assert.deepEqual(await store.usageSeries('key_a', 0, m0 + 10 * minute), []);
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
      assert.deepEqual(await store.usageTotals(0, m0 + 10 * minute, 10, 'denied'), []);
      assert.deepEqual(await store.usageSteps(0, m0 + 10 * minute, m0 + 10 * minute), [{ at: 0, requests: 1, bytesIn: 0, bytesOut: 0, denials: {} }]);
    });

    it('sums would-denies across nodes and minutes by code, API, route and key (no key is null), most first, in [from, to)', async () => {
      await store.recordWouldDenyMinutes([
        wouldDeny(m0, 'request_invalid', 'POST /orders', 'key_a', 3),
        wouldDeny(m0, 'request_invalid', 'POST /orders', 'key_a', 2),
        wouldDeny(m0, 'ip_not_allowed', '/admin', null, 1),
        wouldDeny(m0 + minute, 'request_invalid', 'POST /orders', 'key_b', 1, 'billing'),
      ]);
      await store.recordWouldDenyMinutes([wouldDeny(m0 + 2 * minute, 'request_invalid', 'POST /orders', 'key_a', 4), wouldDeny(m0 + 5 * minute, 'scope_missing', 'GET /x', 'key_a', 9)]);
      await store.recordWouldDenyMinutes([]);
      assert.deepEqual(await store.wouldDenyTotals(m0, m0 + 5 * minute, 10), [
        { code: 'request_invalid', api: 'default', route: 'POST /orders', keyId: 'key_a', requests: 9, firstMinute: m0, lastMinute: m0 + 2 * minute },
        { code: 'ip_not_allowed', api: 'default', route: '/admin', keyId: null, requests: 1, firstMinute: m0, lastMinute: m0 },
        { code: 'request_invalid', api: 'billing', route: 'POST /orders', keyId: 'key_b', requests: 1, firstMinute: m0 + minute, lastMinute: m0 + minute },
      ]);
      assert.equal((await store.wouldDenyTotals(m0, m0 + 10 * minute, 1))[0]!.requests, 9, 'the limit keeps the largest');
      assert.equal(await store.purgeUsageBefore(m0 + 3 * minute), 0, 'no usage minutes to purge, only would-denies');
      assert.deepEqual((await store.wouldDenyTotals(0, m0 + 10 * minute, 10)).map((row) => [row.code, row.requests]), [['scope_missing', 9]]);
    });
  });
}
