/**
 * Per-API usage minutes and per-key WebSocket minutes (migration 14), run unchanged against
 * SQLite and PostgreSQL (PostgreSQL skipped without a server unless CI is set).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Store } from './store.ts';
import type { UsageMinute } from './usage-store.ts';
import { openPostgresKeyStore } from './postgres/postgres-key-store.ts';
import { freshStorePerTest, temporarySqliteStore, type MakeFreshStore } from '../../test/support/fresh-store.ts';
import { checkTestPostgres, createTestSchema } from '../../test/support/postgres.ts';
import { describeNeeding } from '../../test/support/required-service.ts';

const minute = 60_000;
const m0 = 28_333_333 * minute;

function usage(keyId: string, at: number, counts: Partial<UsageMinute> = {}): UsageMinute {
  return { keyId, minute: at, requests: 1, bytesIn: 0, bytesOut: 0, denials: {}, addresses: [], ...counts };
}

function runSuite(label: string, makeStore: MakeFreshStore<Store>): void {
  describe(`API and WebSocket usage: ${label}`, () => {
    let store: Store;
    freshStorePerTest(makeStore, (fresh) => (store = fresh));

    it('sums per-API outcomes across batches and nodes, per step, by API then time', async () => {
      await store.recordApiUsageMinutes([
        { minute: m0, api: 'orders', outcome: 'forwarded', requests: 3 },
        { minute: m0 + 10, api: 'orders', outcome: 'forwarded', requests: 1 },
        { minute: m0, api: 'orders', outcome: 'key_invalid', requests: 1 },
        { minute: m0 + minute, api: 'billing', outcome: 'forwarded', requests: 2 },
      ]);
      await store.recordApiUsageMinutes([{ minute: m0, api: 'orders', outcome: 'forwarded', requests: 2 }, { minute: m0 + 3 * minute, api: 'orders', outcome: 'rate_limited', requests: 4 }]);
      await store.recordApiUsageMinutes([]);
      assert.deepEqual(await store.apiUsageSteps(m0, m0 + 5 * minute, minute), [
        { api: 'billing', at: m0 + minute, outcomes: { forwarded: 2 } },
        { api: 'orders', at: m0, outcomes: { forwarded: 6, key_invalid: 1 } },
        { api: 'orders', at: m0 + 3 * minute, outcomes: { rate_limited: 4 } },
      ]);
      assert.deepEqual(await store.apiUsageSteps(m0, m0 + 5 * minute, 5 * minute), [
        { api: 'billing', at: m0, outcomes: { forwarded: 2 } },
        { api: 'orders', at: m0, outcomes: { forwarded: 6, key_invalid: 1, rate_limited: 4 } },
      ]);
      // The window is [from, to): the minute at `to` is out.
      assert.deepEqual(await store.apiUsageSteps(m0, m0 + minute, minute), [{ api: 'orders', at: m0, outcomes: { forwarded: 6, key_invalid: 1 } }]);
    });

    it('adds WebSockets opened across nodes, keeps the highest peak, and writes no request row for a minute of open sockets only', async () => {
      await store.recordUsageMinutes([usage('key_a', m0, { requests: 2, websocketsOpened: 2, websocketsPeak: 2 })]);
      await store.recordUsageMinutes([usage('key_a', m0, { requests: 1, websocketsOpened: 1, websocketsPeak: 1 }), usage('key_a', m0 + minute, { requests: 0, websocketsOpened: 0, websocketsPeak: 3 })]);
      await store.recordUsageMinutes([usage('key_a', m0 + minute, { requests: 0, websocketsOpened: 0, websocketsPeak: 2 }), usage('key_b', m0, { requests: 5 })]);
      assert.deepEqual(await store.webSocketSeries('key_a', m0, m0 + 2 * minute), [
        { minute: m0, opened: 3, peak: 2 },
        { minute: m0 + minute, opened: 0, peak: 3 },
      ]);
      assert.deepEqual(await store.webSocketSeries('key_b', m0, m0 + 2 * minute), []);
      assert.deepEqual((await store.usageSeries('key_a', m0, m0 + 2 * minute)).map((point) => [point.minute, point.requests]), [[m0, 3]]);
    });

    it('purges per-API and WebSocket minutes with the rest of usage', async () => {
      await store.recordApiUsageMinutes([{ minute: m0, api: 'orders', outcome: 'forwarded', requests: 1 }, { minute: m0 + minute, api: 'orders', outcome: 'forwarded', requests: 1 }]);
      await store.recordUsageMinutes([usage('key_a', m0, { websocketsOpened: 1, websocketsPeak: 1 }), usage('key_a', m0 + minute, { websocketsOpened: 1, websocketsPeak: 1 })]);
      await store.purgeUsageBefore(m0 + minute);
      assert.deepEqual(await store.apiUsageSteps(m0, m0 + 2 * minute, minute), [{ api: 'orders', at: m0 + minute, outcomes: { forwarded: 1 } }]);
      assert.deepEqual(await store.webSocketSeries('key_a', m0, m0 + 2 * minute), [{ minute: m0 + minute, opened: 1, peak: 1 }]);
    });

    it('refuses an API name the database cannot hold, writing nothing of the batch', async () => {
      await assert.rejects(store.recordApiUsageMinutes([{ minute: m0, api: 'ok', outcome: 'forwarded', requests: 1 }, { minute: m0, api: 'bad\u0000', outcome: 'forwarded', requests: 1 }]), /U\+0000/);
      assert.deepEqual(await store.apiUsageSteps(m0, m0 + minute, minute), []);
    });
  });
}

runSuite('SqliteKeyStore', temporarySqliteStore as MakeFreshStore<Store>);

const postgres = await checkTestPostgres();
describeNeeding(postgres, 'PostgresKeyStore: API and WebSocket usage', () => {
  runSuite('PostgresKeyStore (a fresh schema per test)', async () => {
    const schema = await createTestSchema();
    const store = await openPostgresKeyStore(schema.url);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await schema.drop();
      },
    };
  });
});
