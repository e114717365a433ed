/**
 * The one suite of the webhook delivery tables, run against SQLite and PostgreSQL: the cursor,
 * writing deliveries once however often they are written, claiming with a lease, recording
 * attempts, and the delivery log.
 */
import { describe, it, afterEach, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openKeyStore } from '../open-key-store.ts';
import type { Store } from '../store.ts';
import { CLI_ACTOR } from '../audit-log.ts';
import { checkTestPostgres, createTestSchema } from '../../../test/support/postgres.ts';
import { describeNeeding } from '../../../test/support/required-service.ts';
import { temporaryDirectory } from '../../../test/support/processes.ts';
import { fakeKey } from '../../../test/support/fake-context.ts';
import { openWebhookDeliveries } from './open-webhook-deliveries.ts';
import { expiringMessageId, type NewDelivery, type WebhookDeliveryStore } from './webhook-deliveries.ts';

interface Opened {
  store: Store;
  deliveries: WebhookDeliveryStore;
  cleanup(): Promise<void>;
}

async function openBoth(location: string, cleanup: () => Promise<void>): Promise<Opened> {
  const store = await openKeyStore(location);
  await store.migrate();
  const deliveries = await openWebhookDeliveries(location);
  assert.ok(deliveries !== null);
  return { store, deliveries, cleanup: async () => { await deliveries.close(); await store.close(); await cleanup(); } };
}

const delivery = (seq: number, endpoint = 'https://hooks.example/a'): NewDelivery => ({ messageId: `msg_${seq}_key_revoked`, endpoint, eventType: 'key.revoked', payload: `{"seq":${seq}}`, auditSeq: seq });

function runDeliverySuite(label: string, open: () => Promise<Opened>): void {
  describe(label, () => {
    let opened: Opened;
    beforeEach(async () => (opened = await open()));
    afterEach(() => opened.cleanup());

    it('has no cursor at first, then moves it forward only', async () => {
      const { deliveries } = opened;
      assert.equal(await deliveries.cursor(), null);
      await deliveries.enqueue([], 5, 1000);
      assert.equal(await deliveries.cursor(), 5);
      await deliveries.enqueue([], 3, 1000);
      assert.equal(await deliveries.cursor(), 5, 'never back');
    });

    it('reads the audit log after a seq, and its head', async () => {
      const { store, deliveries } = opened;
      assert.equal(await deliveries.latestAuditSeq(), 0);
      const { record } = fakeKey({ id: 'key_a' });
      await store.createKey({ ...record, digest: 'd'.repeat(64), displayPrefix: 'pcl_x' } as never, 1000, CLI_ACTOR);
      await store.revokeKey('key_a', 'leaked', 2000, { actor: 'secret-scanning', address: '192.0.2.1' }, { url: 'https://x.example', source: 'content' });
      assert.equal(await deliveries.latestAuditSeq(), 2);
      const entries = await deliveries.auditEntriesAfter(1, 10);
      assert.deepEqual(entries.map((entry) => [entry.seq, entry.action, entry.target, entry.actor, entry.address, entry.reason]), [[2, 'key.revoked', 'key_a', 'secret-scanning', '192.0.2.1', 'leaked']]);
      assert.deepEqual(JSON.parse(entries[0]!.details), { evidence: { url: 'https://x.example', source: 'content' } });
    });

    it('writes a delivery once, however often it is written', async () => {
      const { deliveries } = opened;
      assert.equal(await deliveries.enqueue([delivery(1), delivery(1, 'https://hooks.example/b')], 1, 1000), 2);
      assert.equal(await deliveries.enqueue([delivery(1)], 1, 2000), 0);
      const log = await deliveries.listDeliveries();
      assert.equal(log.length, 2);
      assert.deepEqual({ ...log[0], endpoint: undefined }, { messageId: 'msg_1_key_revoked', endpoint: undefined, eventType: 'key.revoked', payload: '{"seq":1}', auditSeq: 1, createdAt: 1000, status: 'pending', attempts: 0, nextAttemptAt: 1000, lastAttemptAt: null, lastStatus: null, lastError: null, deliveredAt: null });
    });

    it('claims due deliveries with a lease, so a second claim gets none until it ends', async () => {
      const { deliveries } = opened;
      await deliveries.enqueue([delivery(1), delivery(2)], 2, 1000);
      assert.deepEqual((await deliveries.claimDue(999, 5000, 10)).length, 0, 'not due yet');
      const claimed = await deliveries.claimDue(1000, 5000, 1);
      assert.deepEqual(claimed.map((each) => [each.messageId, each.nextAttemptAt]), [['msg_1_key_revoked', 5000]]);
      assert.deepEqual((await deliveries.claimDue(1000, 5000, 10)).map((each) => each.messageId), ['msg_2_key_revoked']);
      assert.equal((await deliveries.claimDue(4999, 9000, 10)).length, 0, 'leased');
      assert.equal((await deliveries.claimDue(5000, 9000, 10)).length, 2, 'the lease ran out');
    });

    it('records attempts: pending with the next time, delivered, failed; the log filters by status', async () => {
      const { deliveries } = opened;
      await deliveries.enqueue([delivery(1), delivery(2), delivery(3)], 3, 1000);
      await deliveries.recordAttempt('msg_1_key_revoked', 'https://hooks.example/a', { at: 1100, status: 'pending', httpStatus: 500, error: 'answered 500', nextAttemptAt: 6100 });
      await deliveries.recordAttempt('msg_1_key_revoked', 'https://hooks.example/a', { at: 6100, status: 'delivered', httpStatus: 204, error: null, nextAttemptAt: 6100 });
      await deliveries.recordAttempt('msg_2_key_revoked', 'https://hooks.example/a', { at: 1200, status: 'failed', httpStatus: null, error: 'connect ECONNREFUSED', nextAttemptAt: 1200 });
      const [first] = await deliveries.listDeliveries({ status: 'delivered' });
      assert.deepEqual([first?.attempts, first?.lastStatus, first?.deliveredAt, first?.lastError], [2, 204, 6100, null]);
      assert.deepEqual((await deliveries.listDeliveries({ status: 'failed' })).map((each) => [each.messageId, each.attempts, each.lastError]), [['msg_2_key_revoked', 1, 'connect ECONNREFUSED']]);
      assert.deepEqual((await deliveries.listDeliveries()).map((each) => each.auditSeq), [3, 2, 1], 'newest first');
      assert.deepEqual((await deliveries.listDeliveries({ beforeSeq: 3, limit: 1 })).map((each) => each.auditSeq), [2]);
      assert.equal((await deliveries.claimDue(100_000, 200_000, 10)).length, 1, 'only the pending one is claimed');
    });

    it('redelivers a message: pending again, due now, attempts counted afresh; to one endpoint or all', async () => {
      const { deliveries } = opened;
      await deliveries.enqueue([delivery(1), delivery(1, 'https://hooks.example/b'), delivery(2)], 2, 1000);
      await deliveries.recordAttempt('msg_1_key_revoked', 'https://hooks.example/a', { at: 1100, status: 'failed', httpStatus: 500, error: 'answered 500', nextAttemptAt: 1100 });
      await deliveries.recordAttempt('msg_1_key_revoked', 'https://hooks.example/b', { at: 1100, status: 'delivered', httpStatus: 200, error: null, nextAttemptAt: 1100 });
      assert.equal(await deliveries.redeliver('msg_1_key_revoked', 'https://hooks.example/a', 5000), 1);
      const byEndpoint = async () => Object.fromEntries((await deliveries.listDeliveries()).filter((each) => each.auditSeq === 1).map((each) => [each.endpoint, [each.status, each.attempts, each.nextAttemptAt]]));
      assert.deepEqual(await byEndpoint(), { 'https://hooks.example/a': ['pending', 0, 5000], 'https://hooks.example/b': ['delivered', 1, 1100] });
      assert.equal(await deliveries.redeliver('msg_1_key_revoked', null, 6000), 2);
      assert.deepEqual(await byEndpoint(), { 'https://hooks.example/a': ['pending', 0, 6000], 'https://hooks.example/b': ['pending', 0, 6000] });
      assert.equal(await deliveries.redeliver('msg_9_key_revoked', null, 6000), 0);
    });

    it('finds live keys expiring in a window, soonest first, leaving out those with a key.expiring delivery for that expiry', async () => {
      const { store, deliveries } = opened;
      const create = async (id: string, expiresAt: number | null) => {
        const { record } = fakeKey({ id, name: `client ${id}`, expiresAt });
        await store.createKey({ ...record, digest: id.padEnd(64, '0'), displayPrefix: 'pcl_x' } as never, 1000, CLI_ACTOR);
      };
      await create('key_b', 5000);
      await create('key_a', 3000);
      await create('key_edge', 2000);
      await create('key_late', 9001);
      await create('key_none', null);
      await create('key_revoked', 4000);
      await store.revokeKey('key_revoked', 'gone', 1500, CLI_ACTOR);
      const found = await deliveries.keysExpiringBetween(2000, 9000, 10);
      assert.deepEqual(found, [{ id: 'key_a', name: 'client key_a', expiresAt: 3000 }, { id: 'key_b', name: 'client key_b', expiresAt: 5000 }]);
      assert.deepEqual((await deliveries.keysExpiringBetween(2000, 9000, 1)).map((each) => each.id), ['key_a'], 'at most limit');
      await deliveries.enqueue([{ messageId: expiringMessageId('key_a', 3000), endpoint: 'https://hooks.example/a', eventType: 'key.expiring', payload: '{}', auditSeq: 0 }], 0, 1000);
      assert.deepEqual((await deliveries.keysExpiringBetween(2000, 9000, 10)).map((each) => each.id), ['key_b'], 'already queued for that expiry');
      await store.updateKey('key_a', { expiresAt: 6000 }, 1600, CLI_ACTOR);
      assert.deepEqual((await deliveries.keysExpiringBetween(2000, 9000, 10)).map((each) => [each.id, each.expiresAt]), [['key_b', 5000], ['key_a', 6000]], 'a new expiry is found again');
    });
  });
}

runDeliverySuite('SQLite webhook deliveries', async () => {
  const directory = temporaryDirectory();
  return openBoth(join(directory.path, 'w.db'), async () => directory.remove());
});

const postgres = await checkTestPostgres();
describeNeeding(postgres, 'PostgreSQL webhook deliveries', () => {
  runDeliverySuite('PostgreSQL webhook deliveries (a fresh schema per test)', async () => {
    const schema = await createTestSchema();
    return openBoth(schema.url, () => schema.drop());
  });
});
