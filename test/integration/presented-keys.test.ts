/**
 * Revoke by presenting, on a running gateway: a key POSTed to leaks.presentation.path is
 * quarantined (or revoked) on the gateway, with the finder's address and the reported URL in
 * the audit log; every well-formed report gets the same status and the same bytes, whether the
 * key is live, revoked, quarantined or unknown; an address is limited to its budget of reports.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { loadConfig } from '../../src/app/config.ts';
import { ConfigError } from '../../src/config/config-error.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { callWithKey, waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';

const PATH = '/.well-known/portcullis/revoke-key';
const LIMIT_MS = 2000;
const FOUND_AT = 'https://paste.example/raw/abc';

async function present(gateway: TestGateway, body: string | object) {
  const response = await request(`${gateway.url}${PATH}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const text = await response.body.text();
  return { status: response.statusCode, contentType: response.headers['content-type'], retryAfter: response.headers['retry-after'], text };
}

describe('revoke by presenting', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  before(async () => {
    upstream = await startRecordingUpstream();
  });
  after(async () => {
    await upstream?.close();
    directory.remove();
  });

  const env = (action: string, rate = '100/s') => ({ PORTCULLIS_LEAKS_PRESENTATION_ENABLED: 'true', PORTCULLIS_LEAKS_PRESENTATION_ACTION: action, PORTCULLIS_LEAKS_PRESENTATION_RATE: rate });

  describe('with the default action (quarantine)', () => {
    const storePath = join(directory.path, 'quarantine.db');
    let gateway: TestGateway;
    before(async () => {
      gateway = await startTestGateway(upstream.url, storePath, { env: env('quarantine') });
    });
    after(() => gateway?.stop());

    it('quarantines a presented key, with the finder\'s address and the URL in the audit log, never the key', async () => {
      const { id, key } = await createKeyInStore(storePath);
      assert.equal((await callWithKey(`${gateway.url}/q`, key)).status, 200);
      const answer = await present(gateway, { key, url: FOUND_AT });
      assert.equal(answer.status, 202);
      assert.equal(answer.contentType, 'application/json');
      await waitFor(async () => (await callWithKey(`${gateway.url}/q`, key)).code === 'key_quarantined', LIMIT_MS, 'the quarantine reaches the gateway');
      const entries = (await gateway.gateway.store.listAuditEntries()).filter((entry) => entry.target === id && entry.action === 'key.quarantined');
      assert.equal(entries.length, 1);
      assert.deepEqual([entries[0]!.actor, entries[0]!.address, entries[0]!.reason], ['key-presentation', '127.0.0.1', 'presented as leaked']);
      assert.deepEqual(JSON.parse(entries[0]!.details), { evidence: { url: FOUND_AT, source: 'presentation' } });
      assert.ok(!JSON.stringify(await gateway.gateway.store.listAuditEntries()).includes(key), 'the key is never in the audit log');

      // The admin API lists it as an incident (read role).
      const reader = await createAdminToken(gateway.gateway.store, 'read');
      const incidents = await adminCall<Array<Record<string, unknown>>>(gateway.gateway.admin!.url, 'GET', '/api/incidents?limit=5', { token: reader.token });
      assert.equal(incidents.status, 200, incidents.text);
      const mine = incidents.body.find((incident) => incident.keyId === id);
      assert.deepEqual(mine && [mine.kind, mine.action, mine.address, mine.url, mine.keyStatus, mine.keyName], ['presentation', 'quarantined', '127.0.0.1', FOUND_AT, 'quarantined', 'test']);
      assert.equal((await adminCall(gateway.gateway.admin!.url, 'GET', '/api/incidents')).status, 401);
    });

    it('answers a live, a revoked, a quarantined and an unknown key alike, and changes only the live one', async () => {
      const live = await createKeyInStore(storePath);
      const revoked = await createKeyInStore(storePath);
      const quarantined = await createKeyInStore(storePath);
      await gateway.gateway.store.revokeKey(revoked.id, 'test', Date.now(), CLI_ACTOR);
      await gateway.gateway.store.quarantineKey(quarantined.id, 'test', Date.now(), CLI_ACTOR);
      const before = (await gateway.gateway.store.auditHead()).seq;
      const answers = [];
      for (const key of [live.key, revoked.key, quarantined.key, 'pcl_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'anything at all']) {
        const { status, contentType, text } = await present(gateway, { key, url: FOUND_AT });
        answers.push({ status, contentType, text });
      }
      assert.equal(new Set(answers.map((answer) => JSON.stringify(answer))).size, 1, JSON.stringify(answers, null, 1));
      await waitFor(async () => (await callWithKey(`${gateway.url}/q`, live.key)).code === 'key_quarantined', LIMIT_MS, 'the live key quarantined');
      const written = (await gateway.gateway.store.listAuditEntries()).filter((entry) => entry.seq > before);
      assert.deepEqual(written.map((entry) => [entry.action, entry.target]), [['key.quarantined', live.id]]);
      assert.equal((await gateway.gateway.store.getKeyById(revoked.id))?.quarantinedAt, null, 'a revoked key stays as it was');
    });

    it('refuses a malformed body (400) and other methods (405), and leaves other paths to the pipeline', async () => {
      const bad = await present(gateway, '{"url":"https://a.example"}');
      assert.deepEqual([bad.status, (JSON.parse(bad.text) as { code: string }).code, bad.contentType], [400, 'request_invalid', 'application/problem+json']);
      const get = await request(`${gateway.url}${PATH}`);
      assert.deepEqual([get.statusCode, get.headers.allow], [405, 'POST']);
      await get.body.dump();
      const other = await request(`${gateway.url}${PATH}/more`, { method: 'POST', body: '{}' });
      assert.equal(((await other.body.json()) as { code: string }).code, 'key_missing');
    });
  });

  describe('with action revoke and a tight rate', () => {
    const storePath = join(directory.path, 'revoke.db');
    let gateway: TestGateway;
    before(async () => {
      gateway = await startTestGateway(upstream.url, storePath, { env: { ...env('revoke', '3/h'), PORTCULLIS_LIMITS_ADDRESS_RATE: '1000/s' } });
    });
    after(() => gateway?.stop());

    it('revokes a presented key, then refuses the address over its budget with 429 and Retry-After', async () => {
      const { key } = await createKeyInStore(storePath);
      assert.equal((await present(gateway, { key })).status, 202);
      await waitFor(async () => (await callWithKey(`${gateway.url}/q`, key)).code === 'key_revoked', LIMIT_MS, 'the revocation reaches the gateway');
      const victim = await createKeyInStore(storePath);
      assert.equal((await present(gateway, { key: 'pcl_guess1' })).status, 202);
      assert.equal((await present(gateway, { key: 'pcl_guess2' })).status, 202);
      const refused = await present(gateway, { key: victim.key });
      assert.deepEqual([refused.status, (JSON.parse(refused.text) as { code: string }).code], [429, 'rate_limited']);
      assert.ok(Number(refused.retryAfter) > 60, `Retry-After ${refused.retryAfter}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal((await callWithKey(`${gateway.url}/q`, victim.key)).status, 200, 'a refused report changes nothing');
    });
  });

  describe('configuration', () => {
    const load = (values: Record<string, string>) => loadConfig({ env: { PORTCULLIS_LOG_LEVEL: 'silent', ...values } });

    it('is off by default, quarantining at 10/h burst 5 when turned on', () => {
      const config = load({});
      assert.equal(config.leaks.presentation.enabled, false);
      assert.deepEqual([config.leaks.presentation.action, config.leaks.presentation.rate.text, config.leaks.presentation.path], ['quarantine', '10/h burst 5', PATH]);
    });

    it('names the field of a bad action or rate, and refuses the alerts path', () => {
      const problemsOf = (values: Record<string, string>) => {
        try {
          load(values);
        } catch (error) {
          if (error instanceof ConfigError) return error.problems.join('\n');
          throw error;
        }
        return assert.fail('expected the configuration to be refused');
      };
      assert.match(problemsOf({ PORTCULLIS_LEAKS_PRESENTATION_ACTION: 'delete' }), /leaks\.presentation\.action/);
      assert.match(problemsOf({ PORTCULLIS_LEAKS_PRESENTATION_RATE: 'lots' }), /leaks\.presentation\.rate/);
      const keysFile = join(directory.path, 'github-keys.json');
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      writeFileSync(keysFile, JSON.stringify({ public_keys: [{ key_identifier: 'k', key: publicKey.export({ type: 'spki', format: 'pem' }), is_current: true }] }));
      assert.match(problemsOf({ PORTCULLIS_LEAKS_PRESENTATION_ENABLED: 'true', PORTCULLIS_LEAKS_ALERTS_ENABLED: 'true', PORTCULLIS_LEAKS_ALERTS_PUBLIC_KEYS_FILE: keysFile, PORTCULLIS_LEAKS_PRESENTATION_PATH: '/.well-known/portcullis/secret-scanning' }), /^leaks\.presentation\.path: expected a path other than leaks\.alerts\.path/);
    });
  });
});
