/**
 * The recorder against both real stores, with the times the request path really produces:
 * `WallClock` reads `performance.now()`, so they carry fractions of a millisecond. PostgreSQL
 * once refused every such batch (`invalid input syntax for type bigint`), and each failed batch
 * was merged into the next, so no usage was ever written again.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WallClock } from '../http/wall-clock.ts';
import { CLI_ACTOR } from '../store/audit-log.ts';
import { openPostgresKeyStore } from '../store/postgres/postgres-key-store.ts';
import type { Store } from '../store/store.ts';
import { keyRow } from '../../test/support/key-rows.ts';
import { checkTestPostgres, createTestSchema } from '../../test/support/postgres.ts';
import { temporarySqliteStore } from '../../test/support/fresh-store.ts';
import { describeNeeding } from '../../test/support/required-service.ts';
import { UsageRecorder } from './usage-recorder.ts';

const MINUTE = 60_000;

function recordsFractionalTimes(open: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  it('writes last use and per-minute usage from fractional request times, flush after flush', async () => {
    const { store, cleanup } = await open();
    try {
      await store.createKey(keyRow('key_a'), Date.now(), CLI_ACTOR);
      const recorder = new UsageRecorder(store, { retention: 30 * 86_400_000 });
      // A wall clock whose offset has a fraction, as performance.now() gives.
      const base = 29_000_000 * MINUTE;
      const clock = new WallClock(() => base + 0.375, () => 0);
      let last = 0;
      for (let flush = 0; flush < 3; flush++) {
        for (let i = 0; i < 5; i++) {
          const arrived = clock.wallTime(flush * 1000 + i + 0.5);
          last = arrived;
          recorder.recordExchange('key_a', '2001:db8::1', arrived, arrived + 0.25, 3, 7, null);
        }
        recorder.recordDenial('key_a', '192.0.2.9', clock.wallTime(flush * 1000 + 10.125), 'rate_limited');
        await recorder.flush(base + flush * 1000 + 20);
      }
      assert.ok(!Number.isInteger(last), 'the times really were fractional');
      const record = await store.getKeyById('key_a');
      assert.equal(record?.lastUsedAt, Math.floor(last));
      assert.equal(record?.lastUsedAddress, '2001:db8::1');
      assert.deepEqual(await store.usageSeries('key_a', base - MINUTE, base + MINUTE), [
        { minute: base, requests: 18, bytesIn: 45, bytesOut: 105, denials: { rate_limited: 3 }, addresses: 2 },
      ]);
      assert.equal(recorder.dropped, 0);
    } finally {
      await cleanup();
    }
  });
}

describe('UsageRecorder on SQLite', () => {
  recordsFractionalTimes(async () => {
    const { store, cleanup } = await temporarySqliteStore();
    return { store: store as Store, cleanup };
  });
});

describeNeeding(await checkTestPostgres(), 'UsageRecorder on PostgreSQL', () => {
  recordsFractionalTimes(async () => {
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
