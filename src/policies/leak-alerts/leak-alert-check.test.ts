import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { fakeContext, fakeKey, recordingLogger } from '../../../test/support/fake-context.ts';
import { digestKey } from '../../keys/key-digest.ts';
import type { KeyRecord } from '../../keys/key-record.ts';
import { ANSWERED, type Check } from '../request-context.ts';
import { parseAlertPublicKeys } from './alert-public-keys.ts';
import { LeakAlertCheck, type AlertedKeyStore, type LeakAlertAction } from './leak-alert-check.ts';

const PATH = '/.well-known/portcullis/secret-scanning';
const pair = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const publicKeys = parseAlertPublicKeys(JSON.stringify({ public_keys: [{ key_identifier: 'k1', key: pair.publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }] }));
const LEAKED = 'pcl_leaked';

/** A store holding one key (LEAKED), recording what is done to it. */
function fakeStore(record: Partial<KeyRecord> = {}) {
  const calls: string[] = [];
  const held: KeyRecord = fakeKey({ id: 'key_1', ...record }).record;
  const store: AlertedKeyStore = {
    getKeyByDigest: async (digest) => (digest === digestKey(LEAKED) ? held : null),
    quarantineKey: async (id, _reason, _at, by, evidence) => (calls.push(`quarantine ${id} by ${by.actor}@${by.address} ${JSON.stringify(evidence)}`), held),
    revokeKey: async (id, _reason, _at, by, evidence) => (calls.push(`revoke ${id} by ${by.actor}@${by.address} ${JSON.stringify(evidence)}`), held),
  };
  return { store, calls };
}

function checkWith(store: AlertedKeyStore, action: LeakAlertAction = 'quarantine', tagActions?: ReadonlyMap<string, LeakAlertAction>): Check {
  return new LeakAlertCheck({ path: PATH, publicKeys, action, ...(tagActions === undefined ? {} : { tagActions }), store, logger: recordingLogger().logger, onStoreError: () => {} });
}

function alert(body: string, signature = sign('sha256', Buffer.from(body), pair.privateKey).toString('base64'), identifier = 'k1') {
  return fakeContext({ method: 'POST', url: PATH, body, headers: ['Content-Length', String(Buffer.byteLength(body)), 'GITHUB-PUBLIC-KEY-IDENTIFIER', identifier, 'GITHUB-PUBLIC-KEY-SIGNATURE', signature] });
}

const BODY = JSON.stringify([{ token: LEAKED, type: 'portcullis_api_key', url: 'https://github.com/o/r', source: 'content' }, { token: 'pcl_other', type: 'portcullis_api_key', url: 'https://github.com/o/r', source: 'content' }]);

describe('LeakAlertCheck', () => {
  it('passes every other path on, whatever its method', () => {
    const { store, calls } = fakeStore();
    assert.equal(checkWith(store).run(fakeContext({ method: 'POST', url: `${PATH}/x` })), null);
    assert.equal(checkWith(store).run(fakeContext({ url: '/orders' })), null);
    assert.deepEqual(calls, []);
  });

  it('answers other methods on its path with 405 and Allow: POST', () => {
    const outcome = checkWith(fakeStore().store).run(fakeContext({ url: PATH }));
    assert.deepEqual(outcome, { code: 'method_not_allowed', status: 405, detail: 'Secret-scanning alerts are sent with POST.', headers: [['allow', 'POST']] });
  });

  it('refuses a missing header or an unknown key identifier before reading the body', () => {
    const { store, calls } = fakeStore();
    const unsigned = fakeContext({ method: 'POST', url: PATH, body: BODY });
    assert.equal((checkWith(store).run(unsigned) as { code: string }).code, 'alert_signature_invalid');
    assert.equal((checkWith(store).run(alert(BODY, undefined, 'k2')) as { code: string }).code, 'alert_signature_invalid');
    assert.deepEqual(calls, []);
  });

  it('refuses a wrong signature after reading the body, changing nothing', async () => {
    const { store, calls } = fakeStore();
    const otherBody = sign('sha256', Buffer.from('[]'), pair.privateKey).toString('base64');
    assert.equal(((await checkWith(store).run(alert(BODY, otherBody))) as { code: string }).code, 'alert_signature_invalid');
    assert.deepEqual(calls, []);
  });

  it('quarantines a reported key with the evidence and answers the labels', async () => {
    const { store, calls } = fakeStore();
    const context = alert(BODY);
    assert.equal(await checkWith(store).run(context), ANSWERED);
    assert.equal(context.res.statusCode, 200);
    assert.deepEqual(calls, ['quarantine key_1 by secret-scanning@192.0.2.10 {"url":"https://github.com/o/r","source":"content"}']);
  });

  it('revokes with action revoke, and leaves an already revoked key alone', async () => {
    const live = fakeStore();
    await checkWith(live.store, 'revoke').run(alert(BODY));
    assert.deepEqual(live.calls, ['revoke key_1 by secret-scanning@192.0.2.10 {"url":"https://github.com/o/r","source":"content"}']);
    const revoked = fakeStore({ revokedAt: 1 });
    assert.equal(await checkWith(revoked.store, 'revoke').run(alert(BODY)), ANSWERED);
    assert.deepEqual(revoked.calls, []);
  });

  it('takes the action of the key\'s tags over the default: a publishable key is quarantined where others are revoked', async () => {
    const tagActions = new Map<string, LeakAlertAction>([['publishable', 'quarantine'], ['internal', 'revoke']]);
    const publishable = fakeStore({ tags: ['publishable'] });
    await checkWith(publishable.store, 'revoke', tagActions).run(alert(BODY));
    assert.deepEqual(publishable.calls.map((call) => call.split(' by ')[0]), ['quarantine key_1']);
    const both = fakeStore({ tags: ['publishable', 'internal'] });
    await checkWith(both.store, 'quarantine', tagActions).run(alert(BODY));
    assert.deepEqual(both.calls.map((call) => call.split(' by ')[0]), ['revoke key_1'], 'the strongest of its tags');
    const untagged = fakeStore({ tags: ['other'] });
    await checkWith(untagged.store, 'revoke', tagActions).run(alert(BODY));
    assert.deepEqual(untagged.calls.map((call) => call.split(' by ')[0]), ['revoke key_1'], 'the default');
    const quarantined = fakeStore({ tags: ['publishable'], quarantinedAt: 1 });
    await checkWith(quarantined.store, 'revoke', tagActions).run(alert(BODY));
    assert.deepEqual(quarantined.calls, [], 'already quarantined, as its tag asks');
  });

  it('takes the key\'s own action over its tags\' and the default; its notify holds the key (quarantine)', async () => {
    const tagActions = new Map<string, LeakAlertAction>([['publishable', 'quarantine'], ['internal', 'revoke']]);
    const hardened = fakeStore({ tags: ['publishable'], leakAction: 'revoke' });
    await checkWith(hardened.store, 'quarantine', tagActions).run(alert(BODY));
    assert.deepEqual(hardened.calls.map((call) => call.split(' by ')[0]), ['revoke key_1'], 'over its tag and the default');
    const softened = fakeStore({ tags: ['internal'], leakAction: 'quarantine' });
    await checkWith(softened.store, 'revoke', tagActions).run(alert(BODY));
    assert.deepEqual(softened.calls.map((call) => call.split(' by ')[0]), ['quarantine key_1'], 'weaker than its tag and the default');
    const notify = fakeStore({ tags: ['internal'], leakAction: 'notify' });
    await checkWith(notify.store, 'revoke', tagActions).run(alert(BODY));
    assert.deepEqual(notify.calls.map((call) => call.split(' by ')[0]), ['quarantine key_1'], 'a leak report never does less than quarantine');
  });

  it('answers 400 for a signed body that is not an alert, and 503 when the store fails', async () => {
    const { store } = fakeStore();
    assert.equal(((await checkWith(store).run(alert('{}'))) as { code: string }).code, 'request_invalid');
    const failing: AlertedKeyStore = { ...store, getKeyByDigest: () => Promise.reject(new Error('down')) };
    assert.equal(((await checkWith(failing).run(alert(BODY))) as { code: string }).code, 'store_unavailable');
  });
});
