/**
 * One delegated token revoked alone, on a gateway started in this process (SQLite): two tokens
 * of the same parent key work; `portcullis tokens revoke TOKEN_ID` (the real CLI, on the same
 * store) makes the running gateway refuse the first with 401 `dpop_token_revoked` and the
 * `invalid_token` challenge within a second, while the second, and the parent key itself, still work.
 * Then on two nodes sharing PostgreSQL: a revocation made through the store reaches both.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { dpopProof, proofKey, thumbprintOf, tokenHash } from '../support/dpop-proofs.ts';
import { checkTestPostgres, createTestSchema, type TestSchema } from '../support/postgres.ts';
import { runCli, temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { describeNeeding } from '../support/required-service.ts';

const API = [
  'openapi: 3.1.0',
  'info: { title: Revocation, version: 1.0.0 }',
  'paths:',
  '  /orders:',
  '    get:',
  '      x-portcullis-scopes: [orders:read]',
  '      responses: { "200": { description: ok } }',
].join('\n');
const ORIGIN = 'https://app.example';

describe('a delegated token revoked alone with portcullis tokens revoke', () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'keys.db');
  const browser = proofKey('ES256');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let parent: { id: string; key: string };
  let nonce: string | undefined;

  before(async () => {
    const apiFile = join(directory.path, 'api.yaml');
    writeFileSync(apiFile, API);
    upstream = await startRecordingUpstream();
    parent = await createKeyInStore(store, { scopes: ['orders:read'] });
    gateway = await startTestGateway(upstream.url, store, { env: { PORTCULLIS_OPENAPI_FILE: apiFile, PORTCULLIS_DPOP_ENABLED: 'true' } });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  async function issue(): Promise<{ token: string; id: string }> {
    const response = await fetch(`${gateway.url}/.well-known/portcullis/token`, { method: 'POST', headers: { authorization: `Bearer ${parent.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ jkt: thumbprintOf(browser), scopes: ['orders:read'], origins: [ORIGIN] }) });
    const body = (await response.json()) as { token: string; token_id: string };
    assert.equal(response.status, 200, JSON.stringify(body));
    return { token: body.token, id: body.token_id };
  }

  /** A GET /orders with the token and a fresh proof; once, again with the server nonce when asked for it. */
  async function call(token: string): Promise<{ status: number; code: string | null; challenge: string | null }> {
    for (let attempt = 0; ; attempt++) {
      const proof = dpopProof(browser, { jti: randomUUID(), htm: 'GET', htu: `${gateway.url}/orders`, iat: Math.floor(Date.now() / 1000), ath: tokenHash(token), ...(nonce === undefined ? {} : { nonce }) });
      const response = await fetch(`${gateway.url}/orders`, { headers: { authorization: `DPoP ${token}`, dpop: proof, origin: ORIGIN } });
      const text = await response.text();
      const code = text === '' ? null : ((JSON.parse(text) as { code?: string }).code ?? null);
      nonce = response.headers.get('dpop-nonce') ?? nonce;
      if (code !== 'dpop_nonce_required' || attempt > 0) return { status: response.status, code, challenge: response.headers.get('www-authenticate') };
    }
  }

  it('refuses the revoked token on the running gateway within a second; its sibling and its parent still work', async (t) => {
    const copied = await issue();
    const sibling = await issue();
    assert.equal((await call(copied.token)).status, 200);
    assert.equal((await call(sibling.token)).status, 200);
    const revoked = await runCli(['tokens', 'revoke', copied.id, '--key', parent.id, '--reason', 'copied out of the page', '--store', store]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, /^Revoked token /);
    const delay = await waitFor(async () => (await call(copied.token)).code === 'dpop_token_revoked', 1000, 'the token revocation reaches the gateway');
    t.diagnostic(`token refused ${Math.round(delay)} ms after tokens revoke returned`);
    const refused = await call(copied.token);
    assert.equal(refused.status, 401);
    assert.match(refused.challenge ?? '', /^DPoP .*error="invalid_token"/);
    assert.equal((await call(sibling.token)).status, 200, 'another token of the same parent still works');
    const direct = await fetch(`${gateway.url}/orders`, { headers: { authorization: `Bearer ${parent.key}` } });
    assert.equal(direct.status, 200, 'the parent key itself still works');
    const audited = (await gateway.gateway.store.listAuditEntries()).filter((entry) => entry.action === 'token.revoked');
    assert.deepEqual(audited.map((entry) => [entry.target, entry.actor, entry.reason]), [[copied.id, 'cli', 'copied out of the page']]);
  });
});

describeNeeding(await checkTestPostgres(), 'a delegated token revoked alone, on two gateway nodes sharing PostgreSQL', () => {
  let schema: TestSchema;
  let upstream: RecordingUpstream;
  const nodes: TestGateway[] = [];
  let parent: { id: string; key: string };
  const browser = proofKey('ES256');

  before(async () => {
    schema = await createTestSchema();
    upstream = await startRecordingUpstream();
    parent = await createKeyInStore(schema.url, { scopes: ['orders:read'] });
    for (let index = 0; index < 2; index++) nodes.push(await startTestGateway(upstream.url, schema.url, { env: { PORTCULLIS_DPOP_ENABLED: 'true', PORTCULLIS_DPOP_NONCE: 'false' } }));
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await upstream?.close();
    await schema?.drop();
  });

  async function issue(node: TestGateway): Promise<{ token: string; id: string }> {
    const response = await fetch(`${node.url}/.well-known/portcullis/token`, { method: 'POST', headers: { 'x-api-key': parent.key }, body: JSON.stringify({ jkt: thumbprintOf(browser), scopes: ['orders:read'], origins: [ORIGIN] }) });
    const body = (await response.json()) as { token: string; token_id: string };
    assert.equal(response.status, 200, JSON.stringify(body));
    return { token: body.token, id: body.token_id };
  }

  async function code(node: TestGateway, token: string): Promise<string | null> {
    const proof = dpopProof(browser, { jti: randomUUID(), htm: 'GET', htu: `${node.url}/orders`, iat: Math.floor(Date.now() / 1000), ath: tokenHash(token) });
    const response = await fetch(`${node.url}/orders`, { headers: { authorization: `DPoP ${token}`, dpop: proof } });
    const text = await response.text();
    return response.status === 200 ? null : ((JSON.parse(text) as { code?: string }).code ?? String(response.status));
  }

  it('a revocation made on one node is in force on both within a second; the sibling token works on both', async (t) => {
    const [first] = nodes as [TestGateway, TestGateway];
    const copied = await issue(first);
    const sibling = await issue(first);
    // A node that has not seen the new signing key reads the keys again at most every 5 s.
    for (const node of nodes) await waitFor(async () => (await code(node, copied.token)) === null, 7000, 'the token works on the node');
    assert.equal(await first.gateway.store.revokeToken(copied.id, parent.id, Date.now() + 3_600_000, 'copied', Date.now(), { actor: 'test', address: null }), true);
    const delays = await Promise.all(nodes.map((node) => waitFor(async () => (await code(node, copied.token)) === 'dpop_token_revoked', 1000, 'the token revocation reaches the node')));
    t.diagnostic(`token refused on both nodes ${delays.map((delay) => `${Math.round(delay)} ms`).join(', ')} after its revocation`);
    for (const node of nodes) assert.equal(await code(node, sibling.token), null, 'the sibling token still works');
  });
});
