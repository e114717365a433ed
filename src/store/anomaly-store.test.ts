/**
 * Anomaly profiles and findings in both stores (one suite, run against SQLite and PostgreSQL):
 * profiles merged across nodes and read back at start; a finding recorded once, however many
 * nodes make it, with its `key.anomaly` audit entry and then its action.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import type { AnomalyFinding, KeyProfileWrite } from './anomaly-store.ts';
import { CLI_ACTOR } from './audit-log.ts';
import { keyStatus } from '../keys/key-record.ts';
import { openKeyStore } from './open-key-store.ts';
import type { Store } from './store.ts';
import { keyRow } from '../../test/support/key-rows.ts';
import { checkTestPostgres, createTestSchema, type TestSchema } from '../../test/support/postgres.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';
import { describeNeeding } from '../../test/support/required-service.ts';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;

function profile(keyId: string, settings: Partial<KeyProfileWrite> = {}): KeyProfileWrite {
  return { keyId, firstSeen: T0, updatedAt: T0 + HOUR, activeMinutes: 60, rateBaseline: 12.5, addressBaseline: 2, denialBaseline: 0.05, networks: [], ...settings };
}

function finding(keyId: string, settings: Partial<AnomalyFinding> = {}): AnomalyFinding {
  return { keyId, kind: 'new_network', windowStart: T0 + 2 * HOUR, at: T0 + 2 * HOUR + 5000, action: 'quarantine', evidence: { network: '203.0.113.0/24', address: '203.0.113.5', knownNetworks: 1 }, ...settings };
}

/** The suite: `open` gives a new connection to one shared store (a node), each call. */
function anomalyStoreSuite(open: () => Promise<Store>): void {
  let node: Store;
  let other: Store;
  beforeEach(async () => {
    node = await open();
    other = await open();
  });
  afterEach(async () => {
    await node.close();
    await other.close();
  });

  it('keeps profiles from several nodes as one: the earliest start, the latest baselines, the networks of both, newest first', async () => {
    await node.recordKeyProfiles([profile('k1', { networks: [{ network: '198.51.100.0/24', lastSeen: T0 + 10 }, { network: '2001:db8:1::/48', lastSeen: T0 + 20 }] }), profile('k2', { updatedAt: T0 })]);
    await other.recordKeyProfiles([profile('k1', { firstSeen: T0 - HOUR, updatedAt: T0 + 2 * HOUR, activeMinutes: 70, rateBaseline: 20, networks: [{ network: '192.0.2.0/24', lastSeen: T0 + 30 }, { network: '198.51.100.0/24', lastSeen: T0 + 40 }] })]);
    const loaded = await node.loadKeyProfiles({ limit: 10, networksPerKey: 10 });
    assert.deepEqual(loaded.map((saved) => saved.keyId), ['k1', 'k2'], 'most recently updated first');
    assert.deepEqual(loaded[0], profile('k1', {
      firstSeen: T0 - HOUR, updatedAt: T0 + 2 * HOUR, activeMinutes: 70, rateBaseline: 20,
      networks: [{ network: '198.51.100.0/24', lastSeen: T0 + 40 }, { network: '192.0.2.0/24', lastSeen: T0 + 30 }, { network: '2001:db8:1::/48', lastSeen: T0 + 20 }],
    }));
    const capped = await node.loadKeyProfiles({ limit: 1, networksPerKey: 2 });
    assert.deepEqual(capped.map((saved) => [saved.keyId, saved.networks.map((seen) => seen.network)]), [['k1', ['198.51.100.0/24', '192.0.2.0/24']]]);
  });

  it('records a finding once, with its key.anomaly entry, then quarantines the key (an event the change feed carries)', async () => {
    const key = await node.createKey(keyRow('key_seen'), T0, CLI_ACTOR);
    const before = (await node.eventsSince(0, 1000)).length;
    assert.deepEqual(await node.recordAnomalyFindings([finding(key.id)]), [{ keyId: key.id, kind: 'new_network', windowStart: T0 + 2 * HOUR, recorded: true }]);
    assert.deepEqual(await other.recordAnomalyFindings([finding(key.id, { at: T0 + 2 * HOUR + 9000 })]), [{ keyId: key.id, kind: 'new_network', windowStart: T0 + 2 * HOUR, recorded: false }]);
    const record = await node.getKeyById(key.id);
    assert.equal(record?.quarantinedAt, T0 + 2 * HOUR + 5000);
    assert.equal(record?.quarantinedReason, 'anomaly detected: new network');
    const events = (await node.eventsSince(0, 1000)).slice(before);
    assert.deepEqual(events.map((event) => event.kind), ['quarantined']);
    const entries = (await node.listAuditEntries({ target: key.id })).map(({ action, actor, reason, details }) => ({ action, actor, reason, details: JSON.parse(details) as Record<string, unknown> }));
    assert.deepEqual(entries.map((entry) => entry.action), ['key.quarantined', 'key.anomaly', 'key.created']);
    assert.deepEqual(entries[1], { action: 'key.anomaly', actor: 'anomaly-detection', reason: 'anomaly detected: new network', details: { kind: 'new_network', windowStart: T0 + 2 * HOUR, action: 'quarantine', evidence: { network: '203.0.113.0/24', address: '203.0.113.5', knownNetworks: 1 } } });
    assert.deepEqual(entries[0]!.details.evidence, { anomaly: 'new_network', network: '203.0.113.0/24', address: '203.0.113.5', knownNetworks: '1' });
  });

  it('two nodes recording the same finding at once: one records it and acts', async () => {
    const key = await node.createKey(keyRow('key_raced'), T0, CLI_ACTOR);
    const results = await Promise.all([node.recordAnomalyFindings([finding(key.id, { kind: 'rate_spike' })]), other.recordAnomalyFindings([finding(key.id, { kind: 'rate_spike' })])]);
    assert.deepEqual(results.map(([result]) => result!.recorded).sort(), [false, true]);
    const actions = (await node.listAuditEntries({ target: key.id })).map((entry) => entry.action);
    assert.deepEqual(actions, ['key.quarantined', 'key.anomaly', 'key.created']);
  });

  it('keeps the countries of several nodes (earliest first use, latest use) and reads them back only when asked; a country stored by another node is no finding', async () => {
    await node.recordKeyProfiles([profile('k1', { countries: [{ country: 'NL', firstSeen: T0 + 10, lastSeen: T0 + 50 }, { country: 'JP', firstSeen: T0 + 20, lastSeen: T0 + 20 }] })]);
    await other.recordKeyProfiles([profile('k1', { countries: [{ country: 'NL', firstSeen: T0 + 5, lastSeen: T0 + 30 }, { country: 'US', firstSeen: T0 + 60, lastSeen: T0 + 60 }] })]);
    const [loaded] = await node.loadKeyProfiles({ limit: 10, networksPerKey: 10, countriesPerKey: 10 });
    assert.deepEqual(loaded?.countries, [{ country: 'US', firstSeen: T0 + 60, lastSeen: T0 + 60 }, { country: 'NL', firstSeen: T0 + 5, lastSeen: T0 + 50 }, { country: 'JP', firstSeen: T0 + 20, lastSeen: T0 + 20 }]);
    assert.equal((await node.loadKeyProfiles({ limit: 10, networksPerKey: 10 }))[0]?.countries, undefined, 'not read without countriesPerKey');
    const key = await node.createKey(keyRow('key_countries'), T0, CLI_ACTOR);
    await other.recordKeyProfiles([profile(key.id, { countries: [{ country: 'NL', firstSeen: T0, lastSeen: T0 }] })]);
    const evidence = (country: string) => ({ country, network: '203.0.113.0/24', address: '203.0.113.5', knownCountries: 1 });
    assert.deepEqual((await node.recordAnomalyFindings([finding(key.id, { kind: 'new_country', evidence: evidence('NL') })]))[0]?.recorded, false, 'another node saw it');
    assert.deepEqual((await node.recordAnomalyFindings([finding(key.id, { kind: 'new_country', evidence: evidence('BR') })]))[0]?.recorded, true);
    assert.equal(keyStatus((await node.getKeyById(key.id))!, T0 + 3 * HOUR), 'quarantined');
  });

  it('a network new to one node but stored by another is no finding', async () => {
    const key = await node.createKey(keyRow('key_roams_nodes'), T0, CLI_ACTOR);
    await other.recordKeyProfiles([profile(key.id, { networks: [{ network: '203.0.113.0/24', lastSeen: T0 }] })]);
    assert.deepEqual((await node.recordAnomalyFindings([finding(key.id)])).map((result) => result.recorded), [false]);
    assert.deepEqual((await node.recordAnomalyFindings([finding(key.id, { evidence: { network: '192.0.2.0/24', address: '192.0.2.1', knownNetworks: 1 } })])).map((result) => result.recorded), [true]);
    assert.deepEqual((await node.listAuditEntries({ target: key.id })).map((entry) => entry.action), ['key.quarantined', 'key.anomaly', 'key.created']);
  });

  it('a finding of another kind or window is new; notify only audits; revoke revokes', async () => {
    const key = await node.createKey(keyRow('key_kinds'), T0, CLI_ACTOR);
    const results = await node.recordAnomalyFindings([
      finding(key.id, { action: 'notify' }),
      finding(key.id, { action: 'notify', kind: 'denial_spike' }),
      finding(key.id, { action: 'notify', windowStart: T0 + 3 * HOUR, at: T0 + 3 * HOUR }),
    ]);
    assert.deepEqual(results.map((result) => result.recorded), [true, true, true]);
    assert.equal((await node.getKeyById(key.id))?.quarantinedAt, null, 'notify changes nothing');
    await node.recordAnomalyFindings([finding(key.id, { action: 'revoke', kind: 'many_addresses' })]);
    const record = await node.getKeyById(key.id);
    assert.equal(record?.revokedAt, T0 + 2 * HOUR + 5000);
    assert.equal(record?.revokedReason, 'anomaly detected: many addresses');
    const actions = (await node.listAuditEntries({ target: key.id })).map((entry) => entry.action);
    assert.deepEqual(actions, ['key.revoked', 'key.anomaly', 'key.anomaly', 'key.anomaly', 'key.anomaly', 'key.created']);
  });
}

describe('anomaly profiles and findings (SQLite)', () => {
  const directory = temporaryDirectory();
  let count = 0;
  let path = '';
  beforeEach(() => {
    path = join(directory.path, `anomaly-${++count}.db`);
  });
  after(() => directory.remove());
  anomalyStoreSuite(() => openKeyStore(path));
});

describeNeeding(await checkTestPostgres(), 'anomaly profiles and findings (PostgreSQL)', () => {
  let schema: TestSchema | null = null;
  beforeEach(async () => {
    schema = await createTestSchema();
  });
  anomalyStoreSuite(() => openKeyStore((schema as TestSchema).url));
  // After the suite's own afterEach has closed both connections.
  afterEach(async () => {
    await schema?.drop();
  });
});
