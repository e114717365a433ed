/**
 * Quarantine on running gateways: a quarantined key gets 403 key_quarantined within the
 * revocation target (one change-feed poll; p99 ≤ 100 ms in docs/benchmarks.md) and works again
 * once released. On SQLite with one gateway process; on PostgreSQL with two, both of which must
 * refuse it (LISTEN/NOTIFY plus polling).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { callWithKey, waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { checkTestPostgres, createTestSchema, type TestSchema } from '../support/postgres.ts';
import { runCli, spawnGateway, temporaryDirectory, type GatewayProcess } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { describeNeeding } from '../support/required-service.ts';

/** Generous for a shared 2-CPU machine; the figures each run reaches are printed as diagnostics. */
const LIMIT_MS = 1000;

async function codeAt(gateway: GatewayProcess, key: string): Promise<string | null> {
  return (await callWithKey(`${gateway.url}/q`, key)).code;
}

/** Quarantines through the store (as any writer would), then waits until every gateway refuses; returns the slowest node's delay. */
async function quarantineAndWatch(t: TestContext, store: string, id: string, key: string, gateways: readonly GatewayProcess[]): Promise<void> {
  const opened = await openKeyStore(store);
  try {
    await opened.quarantineKey(id, 'found in a public repository', Date.now(), CLI_ACTOR);
  } finally {
    await opened.close();
  }
  const delays = await Promise.all(gateways.map((gateway) => waitFor(async () => (await codeAt(gateway, key)) === 'key_quarantined', LIMIT_MS, 'quarantine reaches the node')));
  t.diagnostic(`quarantine in force on ${gateways.length} node(s) after ${delays.map((delay) => `${Math.round(delay)} ms`).join(', ')} (probe every 20 ms)`);
  const refused = await callWithKey(`${gateways[0]!.url}/q`, key);
  assert.deepEqual([refused.status, refused.code], [403, 'key_quarantined']);
}

async function releaseAndWatch(t: TestContext, store: string, id: string, key: string, gateways: readonly GatewayProcess[]): Promise<void> {
  const released = await runCli(['keys', 'release', id, '--reason', 'rotated in the repository', '--store', store]);
  assert.equal(released.code, 0, released.stderr);
  const delays = await Promise.all(gateways.map((gateway) => waitFor(async () => (await codeAt(gateway, key)) === null, LIMIT_MS, 'release reaches the node')));
  t.diagnostic(`release in force on ${gateways.length} node(s) after ${delays.map((delay) => `${Math.round(delay)} ms`).join(', ')} (from the CLI's exit)`);
}

describe('quarantine on a running gateway (SQLite)', () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: GatewayProcess;
  before(async () => {
    upstream = await startRecordingUpstream();
    await runCli(['store', 'init', '--store', store]);
    gateway = await spawnGateway(['--upstream', upstream.url, '--store', store]);
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('refuses a quarantined key with 403 key_quarantined within the revocation target, and serves it again once released', async (t) => {
    const { id, key } = await createKeyInStore(store);
    assert.equal(await codeAt(gateway, key), null);
    await quarantineAndWatch(t, store, id, key, [gateway]);
    const forwarded = upstream.requests.length;
    assert.equal(await codeAt(gateway, key), 'key_quarantined');
    assert.equal(upstream.requests.length, forwarded, 'nothing reaches the upstream');
    await releaseAndWatch(t, store, id, key, [gateway]);
    const audit = await runCli(['audit', 'list', '--store', store, '--json']);
    const actions = (JSON.parse(audit.stdout) as Array<{ action: string; target: string }>).filter((entry) => entry.target === id).map((entry) => entry.action);
    assert.deepEqual(actions, ['key.released', 'key.quarantined', 'key.created']);
  });
});

describeNeeding(await checkTestPostgres(), 'quarantine on two gateway nodes sharing PostgreSQL', () => {
  let schema: TestSchema;
  let upstream: RecordingUpstream;
  const gateways: GatewayProcess[] = [];
  before(async () => {
    schema = await createTestSchema();
    upstream = await startRecordingUpstream();
    // A slow poll, so that what brings the change to the nodes in time is LISTEN/NOTIFY.
    for (let node = 0; node < 2; node++) gateways.push(await spawnGateway(['--upstream', upstream.url, '--store', schema.url], { env: { PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '2s' } }));
  });
  after(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await upstream?.close();
    await schema?.drop();
  });

  it('both nodes refuse a quarantined key within the revocation target, and both serve it again once released', async (t) => {
    const { id, key } = await createKeyInStore(schema.url);
    for (const gateway of gateways) assert.equal(await codeAt(gateway, key), null);
    await quarantineAndWatch(t, schema.url, id, key, gateways);
    await releaseAndWatch(t, schema.url, id, key, gateways);
  });
});
