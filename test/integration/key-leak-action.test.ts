/**
 * A key's own leak action (`leakAction`, store migration 15) over its tags' and the global
 * default, through a real store on SQLite and on PostgreSQL: a secret-scanning alert and an
 * anomaly finding each apply the key's own action, read from the store as the gateway reads it
 * (by digest), and the store applies it (quarantine or revocation, audited).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { parseIpAddress, type IpAddress } from '../../src/http/ip-address.ts';
import { ANOMALY_KINDS, type AnomalyAction, type AnomalyFinding } from '../../src/store/anomaly-store.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import type { Store } from '../../src/store/store.ts';
import { keyStatus, type LeakAction } from '../../src/keys/key-record.ts';
import { KeyProfiles } from '../../src/limits/anomaly/key-profiles.ts';
import { AnomalyCheck } from '../../src/policies/anomaly/anomaly-check.ts';
import { parseAlertPublicKeys } from '../../src/policies/leak-alerts/alert-public-keys.ts';
import { LeakAlertCheck, type LeakAlertAction } from '../../src/policies/leak-alerts/leak-alert-check.ts';
import type { RequestContext } from '../../src/policies/request-context.ts';
import { fakeContext, recordingLogger } from '../support/fake-context.ts';
import { mintedKeyRow } from '../support/key-rows.ts';
import { checkTestPostgres, createTestSchema, type TestSchema } from '../support/postgres.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { describeNeeding } from '../support/required-service.ts';

const ALERT_PATH = '/.well-known/portcullis/secret-scanning';
const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const publicKeys = parseAlertPublicKeys(JSON.stringify({ public_keys: [{ key_identifier: 'k1', key: pair.publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }] }));
const MINUTE = 60_000;
const T0 = Date.parse('2026-12-01T00:00:00Z');

/** Three keys: the tag asks revoke (one key asks quarantine for itself), the tag asks quarantine (one key asks revoke), and a control that inherits its tag's. */
const KEYS: ReadonlyArray<{ name: string; tags: string[]; own: LeakAction | null; alert: LeakAlertAction; anomaly: AnomalyAction }> = [
  { name: 'softened', tags: ['internal'], own: 'quarantine', alert: 'quarantine', anomaly: 'quarantine' },
  { name: 'hardened', tags: ['publishable'], own: 'revoke', alert: 'revoke', anomaly: 'revoke' },
  { name: 'inherits', tags: ['internal'], own: null, alert: 'revoke', anomaly: 'revoke' },
];

async function createKeys(store: Store) {
  const created = [];
  for (const each of KEYS) {
    const { key, row } = mintedKeyRow({ name: each.name, tags: each.tags, leakAction: each.own });
    created.push({ ...each, key, record: await store.createKey(row, T0, CLI_ACTOR) });
  }
  return created;
}

function alert(tokens: string[]): RequestContext {
  const body = JSON.stringify(tokens.map((token) => ({ token, type: 'portcullis_api_key', url: 'https://github.com/o/r', source: 'content' })));
  const signature = sign('sha256', Buffer.from(body), pair.privateKey).toString('base64');
  return fakeContext({ method: 'POST', url: ALERT_PATH, body, headers: ['Content-Length', String(Buffer.byteLength(body)), 'GITHUB-PUBLIC-KEY-IDENTIFIER', 'k1', 'GITHUB-PUBLIC-KEY-SIGNATURE', signature] });
}

function suite(open: () => Promise<Store>): void {
  let store: Store;
  beforeEach(async () => {
    store = await open();
  });
  afterEach(async () => {
    await store.close();
  });

  it('a secret-scanning alert takes each key\'s own action over its tag\'s and the default', async () => {
    const keys = await createKeys(store);
    // Global default quarantine; the tags ask revoke (internal) and quarantine (publishable).
    const check = new LeakAlertCheck({ path: ALERT_PATH, publicKeys, action: 'quarantine', tagActions: new Map([['internal', 'revoke'], ['publishable', 'quarantine']]), store, logger: recordingLogger().logger, onStoreError: (error) => { throw error; } });
    await check.run(alert(keys.map((each) => each.key)));
    for (const each of keys) {
      const stored = await store.getKeyById(each.record.id);
      assert.equal(keyStatus(stored!, T0 + 1), each.alert === 'revoke' ? 'revoked' : 'quarantined', each.name);
    }
  });

  it('an anomaly finding takes each key\'s own action over its tag\'s and the default', async () => {
    const keys = await createKeys(store);
    const written: Array<Promise<unknown>> = [];
    const reported: AnomalyFinding[] = [];
    const recorder = { report: (finding: AnomalyFinding) => void (reported.push(finding), written.push(store.recordAnomalyFindings([finding]))) };
    // Global default notify; the tags ask revoke (internal) and quarantine (publishable).
    const check = new AnomalyCheck({
      profiles: new KeyProfiles({ learningWindow: 60 * MINUTE, detect: new Set(ANOMALY_KINDS), maxNetworksPerKey: 64, rateMultiple: 5, minRequestsPerMinute: 120, addressesPerMinute: 20, denialRatio: 0.5, minDenialsPerMinute: 30 }, 10),
      recorder,
      actions: { action: 'notify', tagActions: new Map<string, AnomalyAction>([['internal', 'revoke'], ['publishable', 'quarantine']]) },
    });
    for (const each of keys) {
      // As the gateway holds it: read by digest.
      const record = (await store.getKeyByDigest(each.record.digest))!;
      const cached = { record, nameHeaderValue: record.name, usageBucket: null, cacheSlot: null };
      const request = (address: string, now: number) => ({ key: cached, presentedKey: cached, clientAddress: address, client: { address, ip: parseIpAddress(address) as IpAddress, chain: [address] }, now, res: { writableEnded: false } }) as unknown as RequestContext;
      for (let minute = 0; minute < 70; minute++) check.run(request('198.51.100.7', T0 + minute * MINUTE));
      check.run(request('203.0.113.9', T0 + 80 * MINUTE));
    }
    await Promise.all(written);
    assert.deepEqual(reported.map((finding) => [finding.kind, finding.action]), keys.map((each) => ['new_network', each.anomaly]));
    for (const each of keys) {
      const stored = await store.getKeyById(each.record.id);
      assert.equal(keyStatus(stored!, T0 + 81 * MINUTE), each.anomaly === 'revoke' ? 'revoked' : 'quarantined', each.name);
    }
  });
}

describe('a key\'s own leak action (SQLite)', () => {
  const directory = temporaryDirectory();
  let count = 0;
  after(() => directory.remove());
  suite(() => openKeyStore(join(directory.path, `leak-action-${++count}.db`)));
});

describeNeeding(await checkTestPostgres(), 'a key\'s own leak action (PostgreSQL)', () => {
  let schema: TestSchema | null = null;
  beforeEach(async () => {
    schema = await createTestSchema();
  });
  suite(() => openKeyStore((schema as TestSchema).url));
  afterEach(async () => {
    await schema?.drop();
  });
});
