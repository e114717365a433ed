/**
 * Secret-scanning alerts on a running gateway (GitHub's partner programme): a payload signed
 * with a test key pair quarantines (or revokes) the reported key and answers true_positive;
 * a bad signature, the same body with a signature of another body, an unknown key identifier
 * or no signature at all get 401 and change nothing.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { loadConfig } from '../../src/app/config.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { digestKey } from '../../src/keys/key-digest.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { callWithKey, waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';

const PATH = '/.well-known/portcullis/secret-scanning';
const KEY_ID = 'test-key-1';
const signer = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const LIMIT_MS = 2000;

interface Reported {
  token: string;
  type: string;
  url: string;
  source: string;
}

function report(...tokens: string[]): Buffer {
  return Buffer.from(JSON.stringify(tokens.map((token): Reported => ({ token, type: 'portcullis_api_key', url: 'https://github.com/acme/app/blob/abc/.env', source: 'content' }))));
}

const signatureOf = (body: Buffer) => sign('sha256', body, signer.privateKey).toString('base64');

async function postAlert(gateway: TestGateway, body: Buffer, headers: Record<string, string> = { 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': signatureOf(body) }) {
  const response = await request(`${gateway.url}${PATH}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const text = await response.body.text();
  return { status: response.statusCode, contentType: response.headers['content-type'], json: JSON.parse(text) as unknown };
}

const codeOf = (answer: { json: unknown }) => (answer.json as { code?: string }).code;

describe('secret-scanning alerts', () => {
  const directory = temporaryDirectory();
  const keysFile = join(directory.path, 'github-keys.json');
  let upstream: RecordingUpstream;

  before(async () => {
    writeFileSync(keysFile, JSON.stringify({ public_keys: [{ key_identifier: KEY_ID, key: signer.publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }] }));
    upstream = await startRecordingUpstream();
  });
  after(async () => {
    await upstream?.close();
    directory.remove();
  });

  const alertsEnv = (action: string) => ({ PORTCULLIS_LEAKS_ALERTS_ENABLED: 'true', PORTCULLIS_LEAKS_ALERTS_PUBLIC_KEYS_FILE: keysFile, PORTCULLIS_LEAKS_ALERTS_ACTION: action });

  describe('with the default action (quarantine)', () => {
    const storePath = join(directory.path, 'quarantine.db');
    let gateway: TestGateway;
    before(async () => {
      gateway = await startTestGateway(upstream.url, storePath, { env: alertsEnv('quarantine') });
    });
    after(() => gateway?.stop());

    it('refuses unsigned, wrongly signed and unknown-key alerts with 401 and changes nothing', async () => {
      const { key } = await createKeyInStore(storePath);
      const body = report(key);
      const refusals = {
        'no headers': {},
        'no signature': { 'github-public-key-identifier': KEY_ID },
        'a garbage signature': { 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': Buffer.from('garbage').toString('base64') },
        'the signature of another body (replayed with this one)': { 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': signatureOf(report('pcl_other')) },
        'an unknown key identifier': { 'github-public-key-identifier': 'another-key', 'github-public-key-signature': signatureOf(body) },
      };
      for (const [name, headers] of Object.entries(refusals)) {
        const answer = await postAlert(gateway, body, headers);
        assert.deepEqual([answer.status, codeOf(answer)], [401, 'alert_signature_invalid'], name);
        assert.equal(answer.contentType, 'application/problem+json');
      }
      // Give a wrongly applied quarantine time to reach the key cache before asking.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(await callWithKey(`${gateway.url}/q`, key), { status: 200, code: null, retryAfter: null });
      assert.equal((await gateway.gateway.store.getKeyByDigest(digestKey(key)))?.quarantinedAt, null);
    });

    it('quarantines a reported key, answers true_positive, and records the evidence', async () => {
      const { id, key } = await createKeyInStore(storePath);
      assert.equal((await callWithKey(`${gateway.url}/q`, key)).status, 200);
      const answer = await postAlert(gateway, report(key, 'pcl_not_a_key_of_this_store'));
      assert.equal(answer.status, 200);
      assert.equal(answer.contentType, 'application/json');
      assert.deepEqual(answer.json, [
        { token_raw: key, token_type: 'portcullis_api_key', label: 'true_positive' },
        { token_raw: 'pcl_not_a_key_of_this_store', token_type: 'portcullis_api_key', label: 'false_positive' },
      ]);
      await waitFor(async () => (await callWithKey(`${gateway.url}/q`, key)).code === 'key_quarantined', LIMIT_MS, 'the quarantine reaches the gateway');
      assert.deepEqual(await callWithKey(`${gateway.url}/q`, key), { status: 403, code: 'key_quarantined', retryAfter: null });
      const entries = (await gateway.gateway.store.listAuditEntries()).filter((entry) => entry.target === id && entry.action === 'key.quarantined');
      assert.equal(entries.length, 1);
      assert.equal(entries[0]!.actor, 'secret-scanning');
      assert.equal(entries[0]!.address, '127.0.0.1');
      assert.deepEqual(JSON.parse(entries[0]!.details), { evidence: { url: 'https://github.com/acme/app/blob/abc/.env', source: 'content' } });
      assert.ok(!JSON.stringify(entries).includes(key), 'the key is never in the audit log');

      // Reported again: still a true positive (whatever its state), and the first quarantine stands.
      const again = await postAlert(gateway, report(key));
      assert.deepEqual(again.json, [{ token_raw: key, token_type: 'portcullis_api_key', label: 'true_positive' }]);
    });

    it('answers a replayed alert (same body, same signature) as before and changes nothing: a released key stays released', async () => {
      const { id, key } = await createKeyInStore(storePath);
      const body = report(key);
      const headers = { 'github-public-key-identifier': KEY_ID, 'github-public-key-signature': signatureOf(body) };
      const first = await postAlert(gateway, body, headers);
      assert.deepEqual(first.json, [{ token_raw: key, token_type: 'portcullis_api_key', label: 'true_positive' }]);
      await waitFor(async () => (await callWithKey(`${gateway.url}/q`, key)).code === 'key_quarantined', LIMIT_MS, 'quarantined');
      await gateway.gateway.store.releaseKey(id, 'false alarm', Date.now(), CLI_ACTOR);
      await waitFor(async () => (await callWithKey(`${gateway.url}/q`, key)).status === 200, LIMIT_MS, 'released');
      const replayed = await postAlert(gateway, body, headers);
      assert.equal(replayed.status, 200);
      assert.deepEqual(replayed.json, first.json);
      assert.equal((await callWithKey(`${gateway.url}/q`, key)).status, 200, 'the replay did not quarantine the released key again');
      const quarantines = (await gateway.gateway.store.listAuditEntries()).filter((entry) => entry.target === id && entry.action === 'key.quarantined');
      assert.equal(quarantines.length, 1);
    });

    it('answers false_positive for a token that is no key of this store', async () => {
      const answer = await postAlert(gateway, report('pcl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'));
      assert.deepEqual([answer.status, answer.json], [200, [{ token_raw: 'pcl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', token_type: 'portcullis_api_key', label: 'false_positive' }]]);
    });

    it('refuses a signed body that is not an alert (400), a body over 64 KiB (413) and other methods (405)', async () => {
      const malformed = Buffer.from('{"token":"pcl_x"}');
      const bad = await postAlert(gateway, malformed);
      assert.deepEqual([bad.status, codeOf(bad)], [400, 'request_invalid']);
      const large = report('x'.repeat(70 * 1024));
      const tooLarge = await postAlert(gateway, large);
      assert.deepEqual([tooLarge.status, codeOf(tooLarge)], [413, 'body_too_large']);
      const get = await request(`${gateway.url}${PATH}`);
      assert.equal(get.statusCode, 405);
      assert.equal(get.headers.allow, 'POST');
      await get.body.dump();
    });

    it('leaves every other path to the pipeline (a key is still needed)', async () => {
      const response = await request(`${gateway.url}${PATH}/more`, { method: 'POST', body: '[]' });
      assert.equal(response.statusCode, 401);
      assert.equal(((await response.body.json()) as { code: string }).code, 'key_missing');
    });
  });

  describe('with action revoke', () => {
    const storePath = join(directory.path, 'revoke.db');
    let gateway: TestGateway;
    before(async () => {
      gateway = await startTestGateway(upstream.url, storePath, { env: alertsEnv('revoke') });
    });
    after(() => gateway?.stop());

    it('revokes a reported key (401 key_revoked) and answers true_positive', async () => {
      const { key } = await createKeyInStore(storePath);
      const answer = await postAlert(gateway, report(key));
      assert.deepEqual([answer.status, answer.json], [200, [{ token_raw: key, token_type: 'portcullis_api_key', label: 'true_positive' }]]);
      await waitFor(async () => (await callWithKey(`${gateway.url}/q`, key)).code === 'key_revoked', LIMIT_MS, 'the revocation reaches the gateway');
      assert.equal((await callWithKey(`${gateway.url}/q`, key)).status, 401);
    });
  });

  describe('configuration', () => {
    const load = (env: Record<string, string>) => loadConfig({ env: { PORTCULLIS_LOG_LEVEL: 'silent', ...env } });
    const problemsOf = (env: Record<string, string>): string[] => {
      try {
        load(env);
      } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
      }
      assert.fail('expected the configuration to be refused');
    };

    it('is off by default', () => {
      assert.equal(load({}).leaks.alerts.enabled, false);
    });

    it('refuses to start without a usable public key file, naming the field', () => {
      assert.match(problemsOf({ PORTCULLIS_LEAKS_ALERTS_ENABLED: 'true' }).join('\n'), /^leaks\.alerts\.publicKeysFile: expected the file/);
      assert.match(problemsOf({ PORTCULLIS_LEAKS_ALERTS_ENABLED: 'true', PORTCULLIS_LEAKS_ALERTS_PUBLIC_KEYS_FILE: join(directory.path, 'missing.json') }).join('\n'), /^leaks\.alerts\.publicKeysFile: cannot read .*missing\.json \(ENOENT\)/);
      const bad = join(directory.path, 'bad-keys.json');
      writeFileSync(bad, JSON.stringify({ public_keys: [{ key_identifier: 'a', key: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }) }] }));
      assert.match(problemsOf({ PORTCULLIS_LEAKS_ALERTS_ENABLED: 'true', PORTCULLIS_LEAKS_ALERTS_PUBLIC_KEYS_FILE: bad }).join('\n'), /^leaks\.alerts\.publicKeysFile: .*bad-keys\.json: expected public_keys\[0\]\.key to be an ECDSA P-256 public key/);
      assert.match(problemsOf({ PORTCULLIS_LEAKS_ALERTS_ACTION: 'delete' }).join('\n'), /leaks\.alerts\.action/);
    });
  });
});

