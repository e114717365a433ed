import { CLI_ACTOR } from '../../src/store/audit-log.ts';
/**
 * Fault test against a real PostgreSQL that the test starts itself and stops mid-run: a
 * gateway keeps cached keys working, keeps a key revoked just before the outage revoked,
 * refuses unknown keys with 503, reports itself degraded, and recovers on its own (LISTEN
 * included) when the database returns. It runs with `health.readyWhileStoreUnreachable`, so
 * the node stays ready until staleFor; the default (not ready once the store is unreachable)
 * is tested in store-outage.test.ts and test/faults/postgres-hung.test.ts.
 *
 * Not covered here: Redis-backed limits during a Redis outage (they arrive with the limits
 * issue).
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { generateKey } from '../../src/keys/key-format.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { callWithKey as call, probeHealth, waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { checkPrivatePostgres, PrivatePostgres } from '../support/private-postgres.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { describeNeeding } from '../support/required-service.ts';

async function report(origin: string) {
  return (await probeHealth(origin)).report;
}

/** Revokes a key straight in the database, as another node or the CLI would. */
async function revokeInStore(url: string, id: string, reason: string): Promise<void> {
  const store = await openKeyStore(url);
  try {
    await store.revokeKey(id, reason, Date.now(), CLI_ACTOR);
  } finally {
    await store.close();
  }
}

describeNeeding(checkPrivatePostgres(), 'PostgreSQL stopped under a running gateway', () => {
  let database: PrivatePostgres;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let health: string;
  let known: { id: string; key: string };
  let revokedBefore: { id: string; key: string };
  let neverSeen: { id: string; key: string };

  before(async () => {
    database = await PrivatePostgres.create();
    known = await createKeyInStore(database.url);
    revokedBefore = await createKeyInStore(database.url);
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, database.url, {
      env: { PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '50ms', PORTCULLIS_CHANGE_FEED_STALE_FOR: '2s', PORTCULLIS_HEALTH_LISTEN: '127.0.0.1:0', PORTCULLIS_HEALTH_READY_WHILE_STORE_UNREACHABLE: 'true' },
    });
    health = `http://127.0.0.1:${gateway.gateway.healthAddress!.port}`;
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    await database?.destroy();
  });

  it('serves keys and applies a revocation while PostgreSQL is up', async () => {
    assert.equal((await call(gateway.url, known.key)).status, 200);
    assert.equal((await call(gateway.url, revokedBefore.key)).status, 200);
    await revokeInStore(database.url, revokedBefore.id, 'just before the outage');
    await waitFor(async () => (await call(gateway.url, revokedBefore.key)).code === 'key_revoked', 2000, 'revocation applied');
    neverSeen = await createKeyInStore(database.url);
    assert.deepEqual(await report(health).then((r) => [r.status, r.changeFeed.notifications]), ['ok', 'listening']);
  });

  it('while PostgreSQL is stopped: cached keys work, the revoked key stays revoked, unknown keys get 503', async () => {
    await database.stop('immediate');
    await waitFor(async () => (await report(health)).status === 'degraded', 3000, 'health reports degraded');
    assert.deepEqual(await call(gateway.url, known.key), { status: 200, code: null, retryAfter: null });
    assert.deepEqual(await call(gateway.url, revokedBefore.key), { status: 401, code: 'key_revoked', retryAfter: null });
    assert.deepEqual(await call(gateway.url, neverSeen.key), { status: 503, code: 'store_unavailable', retryAfter: '5' });
    assert.deepEqual(await call(gateway.url, generateKey('pcl')), { status: 503, code: 'store_unavailable', retryAfter: '5' });
    assert.equal((await report(health)).ready, true);
  });

  it('past changeFeed.staleFor: cached keys get 503 too, the revoked key is still refused as revoked', async () => {
    await waitFor(async () => (await call(gateway.url, known.key)).status === 503, 4000, 'known key refused after staleFor');
    assert.deepEqual(await call(gateway.url, revokedBefore.key), { status: 401, code: 'key_revoked', retryAfter: null });
    assert.deepEqual(await report(health).then((r) => [r.status, r.ready]), ['not_ready', false]);
  });

  it('recovers by itself when PostgreSQL returns, notifications included', async () => {
    await database.start();
    await waitFor(async () => (await call(gateway.url, known.key)).status === 200, 5000, 'known key works again');
    assert.deepEqual(await call(gateway.url, neverSeen.key), { status: 200, code: null, retryAfter: null });
    assert.deepEqual(await call(gateway.url, revokedBefore.key), { status: 401, code: 'key_revoked', retryAfter: null });
    assert.deepEqual(await call(gateway.url, generateKey('pcl')), { status: 401, code: 'key_invalid', retryAfter: null });
    await waitFor(async () => (await report(health)).changeFeed.notifications === 'listening', 10_000, 'LISTEN reconnected');
    assert.equal((await report(health)).status, 'ok');

    await revokeInStore(database.url, known.id, 'after recovery');
    await waitFor(async () => (await call(gateway.url, known.key)).code === 'key_revoked', 2000, 'a revocation after recovery applied');
  });
});
