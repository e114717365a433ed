import assert from 'node:assert/strict';
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UsageRecorder } from '../../telemetry/usage-recorder.ts';
import { createKeyInStore } from '../../../test/support/in-process-gateway.ts';
import { temporaryDirectory } from '../../../test/support/processes.ts';
import { openKeyStore } from '../open-key-store.ts';
import { storeRefusedWrite } from '../store-errors.ts';
import { StoreWriteThread } from './store-write-thread.ts';
import { receivedError, sendableError } from './write-messages.ts';

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
const CRASHING_WORKER = new URL('../../../test/support/crashing-store-write-worker.ts', import.meta.url);

function noCrash(error: Error): void {
  assert.fail(`the thread crashed: ${error.stack}`);
}

async function requestsWritten(path: string, keyId: string): Promise<number> {
  const store = await openKeyStore(path);
  try {
    return (await store.usageSeries(keyId, 0, Date.now() + MINUTE)).reduce((sum, point) => sum + point.requests, 0);
  } finally {
    await store.close();
  }
}

describe('StoreWriteThread', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  it('writes the batches it is sent with its own connection, and answers with the results', async () => {
    const path = join(directory.path, 'writes.db');
    const { id } = await createKeyInStore(path);
    const thread = new StoreWriteThread(path, { onCrash: noCrash });
    try {
      const minute = Date.now() - (Date.now() % MINUTE);
      await thread.recordUsageMinutes([{ keyId: id, minute, requests: 3, bytesIn: 10, bytesOut: 20, denials: { rate_limited: 1 }, addresses: ['192.0.2.1'] }]);
      await thread.recordUsage([{ keyId: id, lastUsedAt: minute + 5, lastUsedAddress: '192.0.2.1' }]);
      const periodStart = minute - (minute % DAY);
      assert.deepEqual(await thread.addQuotaUsage([{ keyId: id, periodStart, used: 4 }]), [{ keyId: id, periodStart, used: 4 }]);
      assert.deepEqual(await thread.addQuotaUsage([{ keyId: id, periodStart, used: 2 }]), [{ keyId: id, periodStart, used: 6 }]);
      assert.deepEqual(await thread.getQuotaUsage(id), { keyId: id, periodStart, used: 6 });
      assert.equal(await thread.purgeUsageBefore(0), 0);
      const store = await openKeyStore(path);
      try {
        assert.deepEqual(await store.usageSeries(id, minute, minute + MINUTE), [{ minute, requests: 3, bytesIn: 10, bytesOut: 20, denials: { rate_limited: 1 }, addresses: 1 }]);
        assert.equal((await store.getKeyById(id))?.lastUsedAt, minute + 5);
      } finally {
        await store.close();
      }
    } finally {
      await thread.close();
    }
  });

  it('keeps a batch while its store cannot be opened, and writes it once the store is there', async () => {
    const path = join(directory.path, 'later.db');
    // A folder where the database should be: the thread cannot open it (an outage, not a refusal).
    mkdirSync(path);
    const thread = new StoreWriteThread(path, { onCrash: noCrash });
    const failures: unknown[] = [];
    const recorder = new UsageRecorder(thread, { retention: DAY, onDropped: () => assert.fail('nothing may be dropped') });
    try {
      const now = Date.now();
      recorder.recordExchange('k', '192.0.2.1', now, now, 0, 0, null);
      await recorder.flush().catch((error: unknown) => failures.push(error));
      assert.equal(failures.length, 1);
      assert.equal(storeRefusedWrite(failures[0]), false, String(failures[0]));
      rmdirSync(path);
      const { id } = await createKeyInStore(path);
      recorder.recordExchange(id, '192.0.2.1', now, now, 0, 0, null);
      await recorder.flush();
      assert.equal(await requestsWritten(path, id), 1);
      assert.equal(recorder.dropped, 0);
    } finally {
      await thread.close();
    }
  });

  it('flushes on shutdown: what the recorder holds is written before the thread ends', async () => {
    const path = join(directory.path, 'shutdown.db');
    const { id } = await createKeyInStore(path);
    const thread = new StoreWriteThread(path, { onCrash: noCrash });
    const recorder = new UsageRecorder(thread, { retention: DAY });
    recorder.start(60_000);
    for (let i = 0; i < 5; i++) recorder.recordExchange(id, '192.0.2.1', Date.now(), Date.now(), 0, 0, null);
    await recorder.stop();
    await thread.close();
    assert.equal(await requestsWritten(path, id), 5);
    await assert.rejects(thread.recordUsage([]), /closed/);
  });

  it('reports a crash, keeps the batch it cut off, and restarts', async () => {
    const path = join(directory.path, 'crash.db');
    const { id } = await createKeyInStore(path);
    const crashes: Error[] = [];
    const thread = new StoreWriteThread(path, { onCrash: (error) => crashes.push(error), script: CRASHING_WORKER });
    try {
      const cutOff = await thread.recordUsage([{ keyId: 'crash-the-write-thread', lastUsedAt: 1, lastUsedAddress: '' }]).then(() => null, (error: unknown) => error);
      assert.ok(cutOff instanceof Error);
      assert.equal(storeRefusedWrite(cutOff), false, 'counted as an outage: the batch is kept');
      assert.equal(crashes.length, 1);
      assert.match(crashes[0]!.message, /crashed on purpose/);
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          await thread.recordUsage([{ keyId: id, lastUsedAt: 7, lastUsedAddress: '192.0.2.7' }]);
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      const store = await openKeyStore(path);
      try {
        assert.equal((await store.getKeyById(id))?.lastUsedAt, 7);
      } finally {
        await store.close();
      }
    } finally {
      await thread.close();
    }
  });
});

describe('errors across the thread boundary', () => {
  it('keep what tells an outage from a refusal: RangeError, code and severity', () => {
    const range = receivedError(sendableError(new RangeError('count too large')));
    assert.ok(range instanceof RangeError);
    assert.equal(storeRefusedWrite(range), true);
    const full = receivedError(sendableError(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })));
    assert.equal((full as { code?: string }).code, 'SQLITE_FULL');
    assert.equal(storeRefusedWrite(full), false);
    const constraint = receivedError(sendableError(Object.assign(new Error('value too long'), { code: '22001', severity: 'ERROR' })));
    assert.equal(storeRefusedWrite(constraint), true);
    const sent = sendableError(new Error('x'));
    assert.match(receivedError(sent).stack ?? '', /store-write-thread\.test\.ts/);
  });
});
