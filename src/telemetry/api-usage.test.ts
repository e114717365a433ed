import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiUsageMinute, UsageMinute } from '../store/usage-store.ts';
import type { UsageWrites } from '../store/usage-writes.ts';
import { UsageRecorder } from './usage-recorder.ts';

const MINUTE = 60_000;
const m0 = 28_000_000 * MINUTE;

/** A store that keeps what it is given; `fail(true)` makes it unreachable. */
function fakeStore() {
  const written = { apis: [] as ApiUsageMinute[][], minutes: [] as UsageMinute[][] };
  let failing = false;
  const store = {
    async recordUsage() {},
    async recordUsageMinutes(batch: UsageMinute[]) {
      if (failing) throw new Error('store down');
      written.minutes.push(batch);
    },
    async recordWouldDenyMinutes() {},
    async recordApiUsageMinutes(batch: ApiUsageMinute[]) {
      if (failing) throw new Error('store down');
      written.apis.push(batch.map((row) => ({ ...row })));
    },
    async purgeUsageBefore() {
      return 0;
    },
  } as unknown as UsageWrites;
  return { store, written, fail: (value: boolean) => (failing = value) };
}

const sorted = (rows: ApiUsageMinute[]) => [...rows].sort((a, b) => a.minute - b.minute || a.api.localeCompare(b.api) || a.outcome.localeCompare(b.outcome));

describe('UsageRecorder: requests per API', () => {
  it('counts requests per API, minute and outcome, and writes them at the flush', async () => {
    const { store, written } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 30 * 1440 * MINUTE });
    const apis = recorder.countApis(['orders', 'billing']);
    apis.count(0, 'forwarded', m0 + 1);
    apis.count(0, 'forwarded', m0 + 2);
    apis.count(0, 'key_invalid', m0 + 3);
    apis.count(1, 'forwarded', m0 + 4);
    // The minute turns for orders only: its first minute is finished, billing's goes on.
    apis.count(0, 'forwarded', m0 + MINUTE);
    apis.count(1, 'rate_limited', m0 + 5);
    await recorder.flush(m0 + MINUTE + 1);
    assert.deepEqual(sorted(written.apis.flat()), [
      { minute: m0, api: 'billing', outcome: 'forwarded', requests: 1 },
      { minute: m0, api: 'billing', outcome: 'rate_limited', requests: 1 },
      { minute: m0, api: 'orders', outcome: 'forwarded', requests: 2 },
      { minute: m0, api: 'orders', outcome: 'key_invalid', requests: 1 },
      { minute: m0 + MINUTE, api: 'orders', outcome: 'forwarded', requests: 1 },
    ]);
    // Nothing new: nothing written again.
    await recorder.flush(m0 + MINUTE + 2);
    assert.equal(written.apis.length, 1);
  });

  it('keeps the rows of a failed flush and writes them, with the newer ones, when the store is back', async () => {
    const { store, written, fail } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 30 * 1440 * MINUTE });
    const apis = recorder.countApis(['default']);
    apis.count(0, 'forwarded', m0);
    fail(true);
    await assert.rejects(recorder.flush(m0 + 1), /store down/);
    apis.count(0, 'forwarded', m0 + 2);
    fail(false);
    await recorder.flush(m0 + 3);
    const rows = written.apis.flat();
    assert.equal(rows.reduce((sum, row) => sum + row.requests, 0), 2);
    assert.ok(rows.every((row) => row.api === 'default' && row.outcome === 'forwarded' && row.minute === m0));
  });
});

describe('UsageRecorder: WebSockets per key', () => {
  it('counts WebSockets opened per key and minute and keeps the most open at once', async () => {
    const { store, written } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 30 * 1440 * MINUTE });
    recorder.recordWebSocketOpened('key_a', m0 + 1, 1);
    recorder.recordWebSocketOpened('key_a', m0 + 2, 2);
    recorder.recordWebSocketOpened('key_a', m0 + 3, 2);
    // The next minute opens none: the sweep tells the count still open.
    recorder.recordWebSocketsOpen('key_a', m0 + MINUTE + 1, 2);
    await recorder.flush(m0 + MINUTE + 2);
    const minutes = written.minutes.flat().sort((a, b) => a.minute - b.minute);
    assert.deepEqual(minutes.map((minute) => [minute.minute, minute.requests, minute.websocketsOpened, minute.websocketsPeak]), [
      [m0, 0, 3, 2],
      [m0 + MINUTE, 0, 0, 2],
    ]);
  });

  it('leaves the WebSocket fields out of a minute without WebSockets', async () => {
    const { store, written } = fakeStore();
    const recorder = new UsageRecorder(store, { retention: 30 * 1440 * MINUTE });
    recorder.recordExchange('key_a', '192.0.2.1', m0, m0 + 1, 0, 10, null);
    await recorder.flush(m0 + 2);
    const [minute] = written.minutes.flat();
    assert.equal(minute?.requests, 1);
    assert.equal('websocketsOpened' in (minute as UsageMinute), false);
  });
});
