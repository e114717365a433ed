/**
 * Usage and quota counts written through a running gateway by the store write thread
 * (src/store/write-thread/), which owns a connection of its own, on SQLite and on PostgreSQL:
 * a flush writes them, a stop writes what is left, and a new gateway reads the quota counter
 * back through its own thread and enforces it exactly.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { callWithKey } from '../support/gateway-probes.ts';
import { createKeyInStore, startTestGateway } from '../support/in-process-gateway.ts';
import { checkTestPostgres, createTestSchema, type TestSchema } from '../support/postgres.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { describeNeeding } from '../support/required-service.ts';

const QUOTA = 12;

async function written(location: string, keyId: string): Promise<{ requests: number; quotaUsed: number; lastUsedAt: number | null }> {
  const store = await openKeyStore(location);
  try {
    const minutes = await store.usageSeries(keyId, 0, Date.now() + 60_000);
    return {
      requests: minutes.reduce((sum, point) => sum + point.requests, 0),
      quotaUsed: (await store.getQuotaUsage(keyId))?.used ?? 0,
      lastUsedAt: (await store.getKeyById(keyId))?.lastUsedAt ?? null,
    };
  } finally {
    await store.close();
  }
}

function writesThroughTheThread(location: () => string): void {
  let upstream: RecordingUpstream;
  let key: { id: string; key: string };
  // A long flush interval: only flushUsage() and stop() write.
  const env = { PORTCULLIS_USAGE_FLUSH_INTERVAL: '1h' };

  before(async () => {
    upstream = await startRecordingUpstream();
    key = await createKeyInStore(location(), { quota: `${QUOTA}/day` });
  });
  after(() => upstream.close());

  it('writes usage, last use and quota counts on a flush, and what is left when it stops', async () => {
    const gateway = await startTestGateway(upstream.url, location(), { env });
    try {
      for (let i = 0; i < 5; i++) assert.equal((await callWithKey(gateway.url, key.key)).status, 200);
      await gateway.gateway.flushUsage();
      const flushed = await written(location(), key.id);
      assert.deepEqual([flushed.requests, flushed.quotaUsed], [5, 5]);
      assert.ok(flushed.lastUsedAt !== null && flushed.lastUsedAt > Date.now() - 60_000);
      for (let i = 0; i < 3; i++) assert.equal((await callWithKey(gateway.url, key.key)).status, 200);
    } finally {
      await gateway.stop();
    }
    const stopped = await written(location(), key.id);
    assert.deepEqual([stopped.requests, stopped.quotaUsed], [8, 8]);
  });

  it('reads the quota counter back through the thread in a new gateway, and enforces it exactly', async () => {
    const gateway = await startTestGateway(upstream.url, location(), { env });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < QUOTA - 8 + 2; i++) statuses.push((await callWithKey(gateway.url, key.key)).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 429, 429]);
    } finally {
      await gateway.stop();
    }
    assert.equal((await written(location(), key.id)).quotaUsed, QUOTA);
  });
}

describe('usage written by the store write thread: SQLite', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  writesThroughTheThread(() => join(directory.path, 'keys.db'));
});

describeNeeding(await checkTestPostgres(), 'usage written by the store write thread: PostgreSQL', () => {
  let schema: TestSchema;
  before(async () => {
    schema = await createTestSchema();
  });
  after(() => schema.drop());
  writesThroughTheThread(() => schema.url);
});
