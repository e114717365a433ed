/**
 * Anomaly detection on a running gateway (SQLite, the store write thread): a key that has
 * learned its owners' network is used from a new /24 at a multiple of its rate; the finding
 * is audited (`key.anomaly`), the key quarantined through the store, and the change feed
 * brings the 403 `key_quarantined`. The profile survives a restart: released, then used from
 * yet another network right after the restart, the key is quarantined again. On two nodes
 * sharing PostgreSQL, a thief using both at once makes one finding, and both nodes refuse the key.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { checkTestPostgres, createTestSchema, type TestSchema } from '../support/postgres.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { describeNeeding } from '../support/required-service.ts';

/** The bound on the wait, generous for a shared 2-CPU machine; the time each run reaches is printed. */
const DETECT_LIMIT_MS = 5000;

/** A request with the key from `address` (the gateway trusts 127.0.0.1's X-Forwarded-For): status and problem code. */
async function callFrom(gateway: TestGateway, key: string, address: string): Promise<{ status: number; code: string | null }> {
  const response = await request(`${gateway.url}/orders`, { headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': address } });
  const text = await response.body.text();
  return { status: response.statusCode, code: response.statusCode === 200 ? null : (JSON.parse(text) as { code: string }).code };
}

function anomalyEnv(learningWindow: string): Record<string, string> {
  return {
    PORTCULLIS_ANOMALY_ENABLED: 'true',
    PORTCULLIS_ANOMALY_LEARNING_WINDOW: learningWindow,
    PORTCULLIS_ANOMALY_TAG_ACTIONS: 'public=quarantine',
    PORTCULLIS_ANOMALY_FLUSH_INTERVAL: '200ms',
    PORTCULLIS_NETWORK_TRUST_PROXY: '127.0.0.1/32',
  };
}

/** Sends `count` requests from the new network at once (a thief's burst) until the key is refused; the milliseconds from the first. */
async function attackUntilQuarantined(gateway: TestGateway, key: string, prefix: string, limit = DETECT_LIMIT_MS): Promise<number> {
  const started = performance.now();
  let sent = 0;
  await waitFor(async () => {
    const outcomes = await Promise.all(Array.from({ length: 10 }, () => callFrom(gateway, key, `${prefix}.${1 + (sent++ % 250)}`)));
    return outcomes.some((outcome) => outcome.code === 'key_quarantined');
  }, limit, 'the key is quarantined');
  return performance.now() - started;
}

describe('anomaly detection on a running gateway (SQLite)', () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway | null = null;
  before(async () => {
    upstream = await startRecordingUpstream();
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('quarantines a key used from a new /24 at 10× its rate, audits the finding, and remembers the profile across a restart', async (t) => {
    const { id, key } = await createKeyInStore(store, { tags: ['public'] });
    gateway = await startTestGateway(upstream.url, store, { env: anomalyEnv('1s') });
    const firstRequest = Date.now();
    // The owners: a request every 100 ms from their /24, past the learning window.
    const learningUntil = Date.now() + 1500;
    while (Date.now() < learningUntil) {
      assert.equal((await callFrom(gateway, key, `198.51.100.${10 + (Date.now() % 3)}`)).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal((await callFrom(gateway, key, '198.51.100.99')).status, 200, 'a new address of a known /24 is fine');

    const delay = await attackUntilQuarantined(gateway, key, '203.0.113');
    t.diagnostic(`quarantined ${Math.round(delay)} ms after the first request from 203.0.113.0/24 (bursts of 10 concurrent requests)`);
    assert.deepEqual(await callFrom(gateway, key, '198.51.100.10'), { status: 403, code: 'key_quarantined' }, 'refused from the owners\' network too, until released');

    await gateway.stop();
    gateway = null;
    const opened = await openKeyStore(store);
    try {
      const entries = (await opened.listAuditEntries({ target: id })).filter((entry) => entry.actor === 'anomaly-detection');
      assert.deepEqual(entries.map((entry) => entry.action), ['key.quarantined', 'key.anomaly']);
      const details = JSON.parse(entries[1]!.details) as { kind: string; action: string; evidence: { network: string } };
      assert.deepEqual([details.kind, details.action, details.evidence.network], ['new_network', 'quarantine', '203.0.113.0/24']);
      const [profile] = await opened.loadKeyProfiles({ limit: 10, networksPerKey: 10 });
      assert.equal(profile?.keyId, id);
      assert.deepEqual(profile.networks.map((seen) => seen.network).sort(), ['198.51.100.0/24', '203.0.113.0/24']);
      await opened.releaseKey(id, 'checked with the owner', Date.now(), CLI_ACTOR);
    } finally {
      await opened.close();
    }

    // A fresh gateway with a learning window of 4 s, restarted when the stored profile is over
    // 5 s old: with it, the key is past learning; without it, the key would learn again for 4 s
    // from its first request, longer than this attack is given (300 ms, then 2.5 s).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstRequest + 5000 - Date.now())));
    gateway = await startTestGateway(upstream.url, store, { env: anomalyEnv('4s') });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await callFrom(gateway, key, '198.51.100.10')).status, 200, 'released');
    const again = await attackUntilQuarantined(gateway, key, '192.0.2', 2500);
    t.diagnostic(`after the restart and release: quarantined again ${Math.round(again)} ms after the first request from 192.0.2.0/24`);
  });
});

describeNeeding(await checkTestPostgres(), 'anomaly detection on two gateway nodes sharing PostgreSQL', () => {
  let schema: TestSchema;
  let upstream: RecordingUpstream;
  const gateways: TestGateway[] = [];
  before(async () => {
    schema = await createTestSchema();
    upstream = await startRecordingUpstream();
  });
  after(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await upstream?.close();
    await schema?.drop();
  });

  it('a thief on both nodes at once: one finding, one quarantine, refused on both', async (t) => {
    const { id, key } = await createKeyInStore(schema.url, { tags: ['public'] });
    const first = await startTestGateway(upstream.url, schema.url, { env: anomalyEnv('1s') });
    gateways.push(first);
    const learningUntil = Date.now() + 1500;
    while (Date.now() < learningUntil) {
      assert.equal((await callFrom(first, key, '198.51.100.10')).status, 200);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // The second node starts once the first has written the profile (every 200 ms): it reads
    // it, so it knows the key is past learning and where its owners are.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const second = await startTestGateway(upstream.url, schema.url, { env: anomalyEnv('1s') });
    gateways.push(second);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal((await callFrom(second, key, '198.51.100.11')).status, 200, 'the owners\' network is known to the second node too');

    const delays = await Promise.all([attackUntilQuarantined(first, key, '203.0.113'), attackUntilQuarantined(second, key, '203.0.113')]);
    t.diagnostic(`quarantined on both nodes ${delays.map((delay) => `${Math.round(delay)} ms`).join(', ')} after the first requests from 203.0.113.0/24`);
    for (const gateway of gateways) assert.deepEqual(await callFrom(gateway, key, '198.51.100.10'), { status: 403, code: 'key_quarantined' });
    const opened = await openKeyStore(schema.url);
    try {
      const actions = (await opened.listAuditEntries({ target: id })).filter((entry) => entry.actor === 'anomaly-detection').map((entry) => entry.action);
      assert.deepEqual(actions, ['key.quarantined', 'key.anomaly'], 'one finding, one quarantine');
    } finally {
      await opened.close();
    }
  });
});
