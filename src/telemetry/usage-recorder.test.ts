import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KeyStore, KeyUsage } from '../store/key-store.ts';
import type { UsageMinute, UsageStore, WouldDenyMinute } from '../store/usage-store.ts';
import { REFUSALS_BEFORE_DROP } from '../store/store-errors.ts';
import type { DroppedUsage } from './usage-batch-queue.ts';
import { MAX_ADDRESSES_PER_MINUTE, MAX_WOULD_DENY_ROWS, OTHER_ROUTES, UsageRecorder, type UsageBucket } from './usage-recorder.ts';

const MINUTE = 60_000;
const m0 = 28_000_000 * MINUTE;

/**
 * Records what the recorder writes. `fail(true)` makes it unreachable (an error without a
 * code, as a dropped connection gives); `refuse(test)` makes it refuse, as a database refuses
 * a value, every batch for which `test` holds.
 */
function fakeStore() {
  const written = { lastUses: [] as KeyUsage[][], minutes: [] as UsageMinute[][], purges: [] as number[] };
  const calls = { lastUses: 0, minutes: 0 };
  let failing = false;
  let refuseLastUses: (batch: KeyUsage[]) => boolean = () => false;
  let refuseMinutes: (batch: UsageMinute[]) => boolean = () => false;
  const store = {
    async recordUsage(batch: KeyUsage[]) {
      calls.lastUses++;
      if (failing) throw new Error('store down');
      if (refuseLastUses(batch)) throw Object.assign(new Error('invalid input syntax for type bigint'), { code: '22P02', severity: 'ERROR' });
      written.lastUses.push(batch);
    },
    async recordUsageMinutes(batch: UsageMinute[]) {
      calls.minutes++;
      if (failing) throw new Error('store down');
      if (refuseMinutes(batch)) throw new RangeError('requests must be a whole number');
      written.minutes.push(batch);
    },
    async purgeUsageBefore(minute: number) {
      written.purges.push(minute);
      return 0;
    },
  } as unknown as KeyStore & UsageStore;
  return {
    store,
    written,
    calls,
    fail: (value: boolean) => (failing = value),
    refuseLastUses: (test: (batch: KeyUsage[]) => boolean) => (refuseLastUses = test),
    refuseMinutes: (test: (batch: UsageMinute[]) => boolean) => (refuseMinutes = test),
  };
}

describe('UsageRecorder', () => {
  it('aggregates per key and minute: requests, denials by code, bytes and addresses', async () => {
    const { store, written } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 30 * 86_400_000 });
    recorder.recordExchange('key_a', '192.0.2.1', m0 + 1_000, m0 + 3_000, 100, 5_000, null);
    recorder.recordExchange('key_a', '192.0.2.2', m0 + 2_000, m0 + 3_500, 0, 0, 'upstream_timeout');
    recorder.recordDenial('key_a', '192.0.2.1', m0 + 4_000, 'key_revoked');
    recorder.recordDenial('key_a', '192.0.2.3', m0 + 5_000, 'key_revoked');
    recorder.recordExchange('key_b', '2001:db8::1', m0 + 6_000, m0 + 6_000, 0, 0, null);
    await recorder.flush(m0 + 10_000);
    assert.deepEqual(written.minutes, [[
      { keyId: 'key_a', minute: m0, requests: 4, bytesIn: 100, bytesOut: 5_000, denials: { upstream_timeout: 1, key_revoked: 2 }, addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] },
      { keyId: 'key_b', minute: m0, requests: 1, bytesIn: 0, bytesOut: 0, denials: {}, addresses: ['2001:db8::1'] },
    ]]);
    // Last use counts forwarded requests only, not refusals.
    assert.deepEqual(written.lastUses, [[
      { keyId: 'key_a', lastUsedAt: m0 + 2_000, lastUsedAddress: '192.0.2.2' },
      { keyId: 'key_b', lastUsedAt: m0 + 6_000, lastUsedAddress: '2001:db8::1' },
    ]]);
  });

  it('starts a new bucket when the minute turns, and keeps the newest last use', async () => {
    const { store, written } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 86_400_000 });
    recorder.recordExchange('key_a', '192.0.2.1', m0 + 59_000, m0 + 59_000, 0, 0, null);
    recorder.recordExchange('key_a', '192.0.2.9', m0 + MINUTE + 1, m0 + MINUTE + 1, 0, 0, null);
    recorder.recordExchange('key_a', '192.0.2.9', m0 + MINUTE + 2, m0 + MINUTE + 2, 0, 0, null);
    await recorder.flush(m0 + 2 * MINUTE);
    assert.deepEqual(written.minutes[0]!.map((usage) => [usage.minute, usage.requests]), [[m0, 1], [m0 + MINUTE, 2]]);
    assert.deepEqual(written.lastUses[0], [{ keyId: 'key_a', lastUsedAt: m0 + MINUTE + 2, lastUsedAddress: '192.0.2.9' }]);
  });

  it('counts an exchange in the minute it ends, and its arrival as the last use', async () => {
    const { store, written } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 86_400_000 });
    recorder.recordExchange('key_a', '192.0.2.1', m0 + 59_900, m0 + MINUTE + 200, 10, 20, null);
    recorder.recordExchange('key_a', '192.0.2.2', m0 + MINUTE + 100, m0 + MINUTE + 150, 0, 0, null);
    await recorder.flush(m0 + 2 * MINUTE);
    assert.deepEqual(written.minutes[0]!.map((usage) => [usage.minute, usage.requests, usage.bytesIn, usage.bytesOut]), [[m0 + MINUTE, 2, 10, 20]]);
    assert.deepEqual(written.lastUses[0], [{ keyId: 'key_a', lastUsedAt: m0 + MINUTE + 100, lastUsedAddress: '192.0.2.2' }], 'the later arrival is the last use, though it ended first');
  });

  it('bounds the distinct addresses kept per key and minute', async () => {
    const { store, written } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 86_400_000 });
    for (let i = 0; i < MAX_ADDRESSES_PER_MINUTE + 100; i++) recorder.recordDenial('key_a', `10.0.${i >> 8}.${i & 255}`, m0, 'key_expired');
    await recorder.flush(m0 + 1);
    const [usage] = written.minutes[0]!;
    assert.equal(usage!.addresses.length, MAX_ADDRESSES_PER_MINUTE);
    assert.equal(usage!.requests, MAX_ADDRESSES_PER_MINUTE + 100);
  });

  it('writes nothing when nothing happened, and keeps a failed batch for the next flush', async () => {
    const { store, written, fail } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 86_400_000 });
    await recorder.flush(m0);
    assert.deepEqual(written.minutes, []);
    recorder.recordExchange('key_a', '192.0.2.1', m0 + 1, m0 + 1, 0, 0, null);
    fail(true);
    await assert.rejects(recorder.flush(m0 + 2), /store down/);
    recorder.recordExchange('key_a', '192.0.2.1', m0 + 3, m0 + 3, 0, 0, null);
    fail(false);
    await recorder.flush(m0 + 4);
    const requests = written.minutes.flat().reduce((sum: number, usage: UsageMinute) => sum + usage.requests, 0);
    assert.equal(requests, 2, 'no request lost, none counted twice');
  });

  /** A recorder and a holder such as the key cache's entry, which keeps the key's last bucket. */
  function withHolder() {
    const { store, written } = fakeStore();
    return { written, recorder: new UsageRecorder(store, { retention: 86_400_000 }), holder: { usageBucket: null as UsageBucket | null } };
  }

  it('counts the same through a holder that keeps the last bucket, across minutes and flushes', async () => {
    const { written, recorder, holder } = withHolder();
    recorder.recordExchange('key_a', '192.0.2.1', m0 + 1_000, m0 + 1_000, 10, 0, null, holder);
    recorder.recordExchange('key_a', '192.0.2.1', m0 + 2_000, m0 + 2_000, 20, 0, null, holder);
    recorder.recordExchange('key_a', '192.0.2.2', m0 + 3_000, m0 + 4_000, 0, 300, null, holder);
    // Without the holder the same bucket is found through the map.
    recorder.recordExchange('key_a', '192.0.2.3', m0 + 5_000, m0 + 5_000, 0, 0, null);
    // The minute turns: the held bucket is closed and a new one is taken.
    recorder.recordExchange('key_a', '192.0.2.1', m0 + MINUTE + 1, m0 + MINUTE + 1, 0, 0, null, holder);
    await recorder.flush(m0 + MINUTE + 2);
    // After a flush the held bucket is written and closed: later counts go to a new one, none are lost.
    recorder.recordExchange('key_a', '192.0.2.1', m0 + MINUTE + 3, m0 + MINUTE + 4, 0, 7, null, holder);
    await recorder.flush(m0 + MINUTE + 5);
    assert.equal(holder.usageBucket?.addresses.size, 0, 'a written bucket the holder keeps lets its addresses go');
    assert.deepEqual(written.minutes, [
      [
        { keyId: 'key_a', minute: m0, requests: 4, bytesIn: 30, bytesOut: 300, denials: {}, addresses: ['192.0.2.1', '192.0.2.2', '192.0.2.3'] },
        { keyId: 'key_a', minute: m0 + MINUTE, requests: 1, bytesIn: 0, bytesOut: 0, denials: {}, addresses: ['192.0.2.1'] },
      ],
      [{ keyId: 'key_a', minute: m0 + MINUTE, requests: 1, bytesIn: 0, bytesOut: 7, denials: {}, addresses: ['192.0.2.1'] }],
    ]);
  });

  it('never adds to a bucket held for another key', async () => {
    const { written, recorder, holder } = withHolder();
    recorder.recordExchange('key_a', '192.0.2.1', m0 + 1, m0 + 1, 0, 0, null, holder);
    recorder.recordExchange('key_b', '192.0.2.1', m0 + 2, m0 + 2, 0, 0, null, holder);
    await recorder.flush(m0 + 3);
    assert.deepEqual(written.minutes[0]!.map((usage) => [usage.keyId, usage.requests]), [['key_a', 1], ['key_b', 1]]);
  });

  it('keeps retrying through an outage, however long: an unreachable store drops nothing', async () => {
    const { store, written, fail } = fakeStore();
    const dropped: DroppedUsage[] = [];
    const recorder = new UsageRecorder(store, { retention: 86_400_000, onDropped: (report) => dropped.push(report) });
    fail(true);
    for (let i = 0; i < 10 * REFUSALS_BEFORE_DROP; i++) {
      recorder.recordExchange('key_a', '192.0.2.1', m0 + i, m0 + i, 1, 1, null);
      await assert.rejects(recorder.flush(m0 + i), /store down/);
    }
    fail(false);
    await recorder.flush(m0 + MINUTE);
    assert.deepEqual(dropped, []);
    assert.equal(recorder.dropped, 0);
    assert.equal(written.minutes.flat().reduce((sum, usage) => sum + usage.requests, 0), 10 * REFUSALS_BEFORE_DROP);
  });

  it('drops a batch the store refuses, after REFUSALS_BEFORE_DROP tries, and reports what it held once; later batches are written meanwhile', async () => {
    const { store, written, calls, refuseMinutes } = fakeStore();
    const dropped: DroppedUsage[] = [];
    const recorder = new UsageRecorder(store, { retention: 86_400_000, onDropped: (report) => dropped.push(report) });
    refuseMinutes((batch) => batch.some((usage) => usage.keyId === 'key_bad'));
    recorder.recordExchange('key_bad', '192.0.2.1', m0 + 1, m0 + 1, 10, 20, null);
    recorder.recordDenial('key_good', '192.0.2.2', m0 + 2, 'key_revoked');
    await assert.rejects(recorder.flush(m0 + 3), /whole number/);
    for (let i = 1; i <= REFUSALS_BEFORE_DROP + 2; i++) {
      recorder.recordExchange('key_later', '192.0.2.3', m0 + MINUTE + i, m0 + MINUTE + i, 0, 0, null);
      const flushed = recorder.flush(m0 + MINUTE + i);
      if (i < REFUSALS_BEFORE_DROP) await assert.rejects(flushed, /whole number/);
      else await flushed;
    }
    assert.equal(dropped.length, 1, 'reported once');
    const [report] = dropped;
    assert.deepEqual({ ...report, error: (report!.error as Error).message }, {
      reason: 'refused', refusals: REFUSALS_BEFORE_DROP, buckets: 2, keys: 2, keyIds: ['key_bad', 'key_good'],
      requests: 2, bytesIn: 10, bytesOut: 20, firstMinute: m0, lastMinute: m0, error: 'requests must be a whole number',
    });
    assert.equal(recorder.dropped, 2);
    // Never merged: every later batch went in on its own, the refused one was never part of it.
    assert.equal(written.minutes.length, REFUSALS_BEFORE_DROP + 2);
    assert.ok(written.minutes.every((batch) => batch.every((usage) => usage.keyId === 'key_later')));
    assert.equal(calls.minutes, 2 * REFUSALS_BEFORE_DROP + 2, 'the refused batch was tried exactly REFUSALS_BEFORE_DROP times');
    // Its last uses were written with it the first time, and not again.
    assert.deepEqual(written.lastUses[0], [{ keyId: 'key_bad', lastUsedAt: m0 + 1, lastUsedAddress: '192.0.2.1' }]);
  });

  it('writes the minutes of a batch whose last uses the store refuses', async () => {
    const { store, written, refuseLastUses } = fakeStore();
    const dropped: DroppedUsage[] = [];
    const recorder = new UsageRecorder(store, { retention: 86_400_000, onDropped: (report) => dropped.push(report) });
    refuseLastUses(() => true);
    recorder.recordExchange('key_a', '192.0.2.1', m0 + 0.25, m0 + 0.5, 1, 2, null);
    for (let i = 0; i < REFUSALS_BEFORE_DROP; i++) await assert.rejects(recorder.flush(m0 + 1), /bigint/);
    assert.deepEqual(written.minutes.flat().map((usage) => [usage.keyId, usage.requests]), [['key_a', 1]], 'minutes written once, at the first flush');
    assert.deepEqual(dropped.map((report) => [report.reason, report.keyIds]), [['refused', ['key_a']]]);
  });

  it('runs one flush at a time, so no batch is written twice', async () => {
    const { store, written } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 86_400_000 });
    recorder.recordExchange('key_a', '192.0.2.1', m0, m0, 0, 0, null);
    const first = recorder.flush(m0 + 1);
    recorder.recordExchange('key_a', '192.0.2.1', m0 + 2, m0 + 2, 0, 0, null);
    const second = recorder.flush(m0 + 3);
    const third = recorder.flush(m0 + 4);
    await Promise.all([first, second, third]);
    assert.equal(written.minutes.flat().reduce((sum, usage) => sum + usage.requests, 0), 2);
  });

  it('purges usage older than the retention, about once an hour', async () => {
    const { store, written } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 7 * 86_400_000 });
    await recorder.flush(m0);
    await recorder.flush(m0 + 5 * MINUTE);
    await recorder.flush(m0 + 61 * MINUTE);
    assert.deepEqual(written.purges, [m0 - 7 * 86_400_000, m0 + 61 * MINUTE - 7 * 86_400_000]);
  });
});

describe('UsageRecorder would-denies', () => {
  function wouldDenyStore() {
    const written: WouldDenyMinute[][] = [];
    let failing = false;
    const store = {
      async recordWouldDenyMinutes(batch: WouldDenyMinute[]) {
        if (failing) throw new Error('store down');
        written.push(batch.map((row) => ({ ...row })));
      },
      async purgeUsageBefore() {
        return 0;
      },
    } as unknown as KeyStore & UsageStore;
    return { store, written, fail: (value: boolean) => (failing = value) };
  }
  const sum = (rows: WouldDenyMinute[]) => rows.reduce((total, row) => total + row.requests, 0);

  it('counts them by minute, code, API, route and key, and writes each once', async () => {
    const { store, written } = wouldDenyStore();
    const recorder = new UsageRecorder(store, { retention: 86_400_000 });
    recorder.recordWouldDeny(m0 + 1_000, 'request_invalid', 'default', 'POST /orders', 'key_a');
    recorder.recordWouldDeny(m0 + 2_000, 'request_invalid', 'default', 'POST /orders', 'key_a');
    recorder.recordWouldDeny(m0 + 3_000, 'ip_not_allowed', 'default', '/x', null);
    recorder.recordWouldDeny(m0 + MINUTE, 'request_invalid', 'default', 'POST /orders', 'key_a');
    await recorder.flush(m0 + 2 * MINUTE);
    assert.deepEqual(written, [[
      { minute: m0, code: 'request_invalid', api: 'default', route: 'POST /orders', keyId: 'key_a', requests: 2 },
      { minute: m0, code: 'ip_not_allowed', api: 'default', route: '/x', keyId: null, requests: 1 },
      { minute: m0 + MINUTE, code: 'request_invalid', api: 'default', route: 'POST /orders', keyId: 'key_a', requests: 1 },
    ]]);
    await recorder.flush(m0 + 2 * MINUTE);
    assert.equal(written.length, 1, 'nothing new, nothing written again');
  });

  it('keeps them through a store outage and writes them when it is back', async () => {
    const { store, written, fail } = wouldDenyStore();
    const recorder = new UsageRecorder(store, { retention: 86_400_000 });
    fail(true);
    recorder.recordWouldDeny(m0, 'scope_missing', 'default', 'GET /a', 'key_a');
    await assert.rejects(recorder.flush(m0 + 1_000), /store down/);
    recorder.recordWouldDeny(m0 + 500, 'scope_missing', 'default', 'GET /a', 'key_a');
    await assert.rejects(recorder.flush(m0 + 2_000), /store down/);
    fail(false);
    await recorder.flush(m0 + 3_000);
    assert.equal(sum(written.flat()), 2);
    assert.equal(recorder.droppedWouldDenies, 0);
  });

  it('bounds the rows a client can make with made-up paths, keeping the count per code exact', async () => {
    const { store, written } = wouldDenyStore();
    const recorder = new UsageRecorder(store, { retention: 86_400_000 });
    const sent = MAX_WOULD_DENY_ROWS + 500;
    for (let index = 0; index < sent; index++) recorder.recordWouldDeny(m0, 'route_not_found', 'default', `/made-up/${index}`, `key_${index}`);
    await recorder.flush(m0 + 1_000);
    const rows = written.flat();
    assert.equal(rows.length, MAX_WOULD_DENY_ROWS + 1);
    assert.equal(sum(rows), sent);
    assert.deepEqual(rows.filter((row) => row.route === OTHER_ROUTES).map((row) => [row.keyId, row.requests]), [[null, 500]]);
  });
});
