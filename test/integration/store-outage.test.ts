import { CLI_ACTOR } from '../../src/store/audit-log.ts';
/**
 * Failure behaviour when the key store becomes unreachable, on the embedded store with a
 * wrapper that fails every call (the same scenario against a real PostgreSQL that is stopped
 * mid-run is in postgres-outage.test.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateKey } from '../../src/keys/key-format.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import type { Store } from '../../src/store/store.ts';
import { callWithKey as call, probeHealth as probe, waitFor } from '../support/gateway-probes.ts';
import { breakableStore, type BreakableStore } from '../support/breakable-store.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';

describe('store unreachable: fail closed, serve known keys for changeFeed.staleFor, recover', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let inner: Store;
  let breakable: BreakableStore;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let health: string;
  let known: { id: string; key: string };
  let revoked: { id: string; key: string };
  let brandNew: { id: string; key: string };

  before(async () => {
    known = await createKeyInStore(storePath);
    revoked = await createKeyInStore(storePath);
    upstream = await startRecordingUpstream();
    inner = await openKeyStore(storePath);
    breakable = breakableStore(inner);
    gateway = await startTestGateway(upstream.url, storePath, {
      store: breakable.store,
      // Ready while it serves known keys, so the suite can follow the whole outage through /readyz.
      env: { PORTCULLIS_CHANGE_FEED_STALE_FOR: '1500ms', PORTCULLIS_HEALTH_LISTEN: '127.0.0.1:0', PORTCULLIS_HEALTH_READY_WHILE_STORE_UNREACHABLE: 'true' },
    });
    health = `http://127.0.0.1:${gateway.gateway.healthAddress!.port}`;
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    await inner.close();
    directory.remove();
  });

  it('is healthy and ready while the store answers', async () => {
    assert.deepEqual((await call(gateway.url, known.key)).status, 200);
    assert.equal((await call(gateway.url, revoked.key)).status, 200);
    await inner.revokeKey(revoked.id, 'just before the outage', Date.now(), CLI_ACTOR);
    await waitFor(async () => (await call(gateway.url, revoked.key)).code === 'key_revoked', 2000, 'revocation applied');
    brandNew = await createKeyInStore(storePath);
    const ready = await probe(health, '/readyz');
    assert.deepEqual([ready.status, ready.report.status, ready.report.ready], [200, 'ok', true]);
  });

  it('keeps known keys working, revoked keys revoked, and refuses unknown keys with 503 while the store is down', async () => {
    breakable.break();
    await waitFor(async () => (await probe(health, '/healthz')).report.status === 'degraded', 2000, 'health reports degraded');
    assert.equal((await call(gateway.url, known.key)).status, 200);
    assert.equal((await call(gateway.url, revoked.key)).code, 'key_revoked');
    const unknown = await call(gateway.url, brandNew.key);
    assert.deepEqual(unknown, { status: 503, code: 'store_unavailable', retryAfter: '5' });
    assert.deepEqual((await call(gateway.url, generateKey('pcl'))).code, 'store_unavailable');
    const ready = await probe(health, '/readyz');
    assert.equal(ready.status, 200, 'degraded is still ready');
    assert.match(ready.report.reasons.join('\n'), /key store unreachable/);
  });

  it('refuses cached keys too once staleFor has passed, but still answers revoked keys as revoked', async () => {
    await waitFor(async () => (await call(gateway.url, known.key)).status === 503, 3000, 'known key refused after staleFor');
    assert.equal((await call(gateway.url, known.key)).code, 'store_unavailable');
    assert.equal((await call(gateway.url, revoked.key)).code, 'key_revoked');
    const ready = await probe(health, '/readyz');
    assert.deepEqual([ready.status, ready.report.status], [503, 'not_ready']);
    assert.equal((await probe(health, '/healthz')).status, 200, 'liveness does not fail on a store outage');
  });

  it('recovers on its own when the store answers again', async () => {
    breakable.repair();
    await waitFor(async () => (await call(gateway.url, known.key)).status === 200, 3000, 'known key works again');
    assert.equal((await call(gateway.url, brandNew.key)).status, 200, 'a key created before the outage is found now');
    assert.equal((await call(gateway.url, generateKey('pcl'))).code, 'key_invalid');
    assert.equal((await call(gateway.url, revoked.key)).code, 'key_revoked');
    assert.equal((await probe(health, '/readyz')).report.status, 'ok');
  });
});

describe('store unreachable, by default: known keys still served, but /readyz turns 503 at once', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let inner: Store;
  let breakable: BreakableStore;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let known: { id: string; key: string };

  before(async () => {
    known = await createKeyInStore(storePath);
    upstream = await startRecordingUpstream();
    inner = await openKeyStore(storePath);
    breakable = breakableStore(inner);
    gateway = await startTestGateway(upstream.url, storePath, { store: breakable.store, env: { PORTCULLIS_HEALTH_LISTEN: '127.0.0.1:0' } });
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    await inner.close();
    directory.remove();
  });

  it('says not ready while the store is unreachable, serves the known key meanwhile, and is ready again after', async () => {
    const health = `http://127.0.0.1:${gateway.gateway.healthAddress!.port}`;
    assert.equal((await call(gateway.url, known.key)).status, 200);
    assert.equal((await probe(health, '/readyz')).status, 200);
    breakable.break();
    await waitFor(async () => (await probe(health, '/readyz')).status === 503, 2000, '/readyz 503');
    const ready = await probe(health, '/readyz');
    assert.deepEqual([ready.report.status, ready.report.parts.store], ['not_ready', 'failed']);
    assert.match(ready.report.reasons.join('\n'), /health\.readyWhileStoreUnreachable/);
    assert.equal((await call(gateway.url, known.key)).status, 200, 'the node still serves what it knows');
    assert.equal((await probe(health, '/healthz')).status, 200, 'liveness does not fail on a store outage');
    breakable.repair();
    await waitFor(async () => (await probe(health, '/readyz')).status === 200, 3000, 'ready again');
  });
});
