/**
 * Delegated browser tokens end to end, on a gateway started in this process (SQLite): a
 * frontend server's key obtains a token for a browser's DPoP key; a request with the token and a
 * proof reaches the upstream as the parent key, with the token's narrowed scopes and its id;
 * every way of reusing the token without the key (no proof, another key's proof, a replayed
 * proof, a proof for another URL or method) is refused with its documented code; the server
 * nonce challenge works; revoking the parent key ends the token within the revocation target.
 * Then on two nodes sharing PostgreSQL: a token and a nonce of one node work on the other, and
 * revoking the parent ends the token on both.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { dpopProof, proofKey, thumbprintOf, tokenHash, type ProofKey } from '../support/dpop-proofs.ts';
import { checkTestPostgres, createTestSchema, type TestSchema } from '../support/postgres.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { describeNeeding } from '../support/required-service.ts';

const API = [
  'openapi: 3.1.0',
  'info: { title: Delegation, version: 1.0.0 }',
  'paths:',
  '  /orders:',
  '    get:',
  '      x-portcullis-scopes: [orders:read]',
  '      parameters: [{ name: page, in: query, schema: { type: integer } }]',
  '      responses: { "200": { description: ok } }',
  '    post:',
  '      x-portcullis-scopes: [orders:write]',
  '      responses: { "200": { description: ok } }',
].join('\n');

const ORIGIN = 'https://app.example';

interface Answer {
  status: number;
  code: string | null;
  headers: Headers;
  body: Record<string, unknown>;
}

async function answer(response: Response): Promise<Answer> {
  const text = await response.text();
  const body = (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>;
  return { status: response.status, code: typeof body.code === 'string' ? body.code : null, headers: response.headers, body };
}

describe('delegated DPoP-bound tokens on a running gateway', () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let parent: { id: string; key: string };
  const browser = proofKey('ES256');
  let token: string;
  let nonce: string;

  before(async () => {
    const apiFile = join(directory.path, 'api.yaml');
    writeFileSync(apiFile, API);
    upstream = await startRecordingUpstream();
    parent = await createKeyInStore(store, { scopes: ['orders:read', 'orders:write'] });
    gateway = await startTestGateway(upstream.url, store, { env: { PORTCULLIS_OPENAPI_FILE: apiFile, PORTCULLIS_DPOP_ENABLED: 'true' } });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  function issue(body: unknown, key = parent.key): Promise<Answer> {
    return fetch(`${gateway.url}/.well-known/portcullis/token`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(answer);
  }

  function proofFor(key: ProofKey, method: string, url: string, changes: Record<string, unknown> = {}): string {
    return dpopProof(key, { jti: randomUUID(), htm: method, htu: url, iat: Math.floor(Date.now() / 1000), ath: tokenHash(token), nonce, ...changes });
  }

  function call(method: string, path: string, headers: Record<string, string>): Promise<Answer> {
    return fetch(`${gateway.url}${path}`, { method, headers: { authorization: `DPoP ${token}`, origin: ORIGIN, ...headers } }).then(answer);
  }

  it('issues a token to a key for a subset of its scopes, and refuses a scope it does not hold or a request without a key', async () => {
    const refused = await issue({ jkt: thumbprintOf(browser), scopes: ['orders:read', 'admin'], origins: [ORIGIN] });
    assert.deepEqual([refused.status, refused.code], [403, 'scope_missing']);
    const anonymous = await fetch(`${gateway.url}/.well-known/portcullis/token`, { method: 'POST', body: '{}' }).then(answer);
    assert.deepEqual([anonymous.status, anonymous.code], [401, 'key_missing']);
    const issued = await issue({ jkt: thumbprintOf(browser), scopes: ['orders:read'], origins: [ORIGIN] });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    assert.equal(issued.headers.get('cache-control'), 'no-store');
    assert.deepEqual([issued.body.token_type, issued.body.key_id, issued.body.scopes, issued.body.expires_in], ['DPoP', parent.id, ['orders:read'], 600]);
    token = issued.body.token as string;
    const keys = await gateway.gateway.store.listTokenSigningKeys(Date.now());
    assert.equal(keys.length, 1, 'the first token made the signing key');
  });

  it('challenges a proof without the server nonce with use_dpop_nonce and a DPoP-Nonce to retry with', async () => {
    const url = `${gateway.url}/orders`;
    const first = await call('GET', '/orders', { dpop: dpopProof(browser, { jti: randomUUID(), htm: 'GET', htu: url, iat: Math.floor(Date.now() / 1000), ath: tokenHash(token) }) });
    assert.deepEqual([first.status, first.code], [401, 'dpop_nonce_required']);
    assert.match(first.headers.get('www-authenticate') ?? '', /^DPoP .*error="use_dpop_nonce"/);
    nonce = first.headers.get('dpop-nonce') as string;
    assert.match(nonce, /^[A-Za-z0-9_-]{43}$/);
  });

  it('forwards a request with a valid proof as the parent key, with the token id and its narrowed scopes, and no token or proof', async () => {
    const before = upstream.requests.length;
    const ok = await call('GET', '/orders?page=2', { dpop: proofFor(browser, 'GET', `${gateway.url}/orders`) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(upstream.requests.length, before + 1);
    const seen = upstream.requests.at(-1)!;
    assert.equal(seen.headers['x-portcullis-key-id'], parent.id);
    assert.match(String(seen.headers['x-portcullis-token-id']), /^[A-Za-z0-9_-]{22}$/);
    assert.equal(seen.headers['x-portcullis-token-scopes'], 'orders:read');
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers.dpop, undefined);
    assert.equal(ok.headers.get('dpop-nonce'), nonce);
    // The parent holds orders:write; the token does not.
    const narrowed = await call('POST', '/orders', { dpop: proofFor(browser, 'POST', `${gateway.url}/orders`) });
    assert.deepEqual([narrowed.status, narrowed.code], [403, 'scope_missing']);
  });

  it('refuses the token copied without its key: no proof, another key\'s proof, a replayed proof, another URL, another method, another origin', async () => {
    const url = `${gateway.url}/orders`;
    const before = upstream.requests.length;
    const noProof = await call('GET', '/orders', {});
    assert.deepEqual([noProof.status, noProof.code], [401, 'dpop_proof_invalid']);
    assert.match(noProof.headers.get('www-authenticate') ?? '', /^DPoP realm="portcullis", error="invalid_dpop_proof", algs="ES256"$/);
    const otherKey = await call('GET', '/orders', { dpop: proofFor(proofKey('ES256'), 'GET', url) });
    assert.deepEqual([otherKey.status, otherKey.code], [401, 'dpop_token_invalid']);
    assert.match(otherKey.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    const proof = proofFor(browser, 'GET', url);
    assert.equal((await call('GET', '/orders', { dpop: proof })).status, 200);
    const replayed = await call('GET', '/orders', { dpop: proof });
    assert.deepEqual([replayed.status, replayed.code], [401, 'dpop_proof_replayed']);
    const otherUrl = await call('GET', '/orders', { dpop: proofFor(browser, 'GET', `${gateway.url}/admin`) });
    assert.deepEqual([otherUrl.status, otherUrl.code, otherUrl.body.detail], [401, 'dpop_proof_invalid', 'The DPoP proof htu claim does not match the request URI (without query and fragment).']);
    const otherMethod = await call('GET', '/orders', { dpop: proofFor(browser, 'DELETE', url) });
    assert.deepEqual([otherMethod.status, otherMethod.code, otherMethod.body.detail], [401, 'dpop_proof_invalid', 'The DPoP proof htm claim does not match the request method.']);
    const otherOrigin = await call('GET', '/orders', { dpop: proofFor(browser, 'GET', url), origin: 'https://evil.example' });
    assert.deepEqual([otherOrigin.status, otherOrigin.code], [401, 'dpop_origin_not_allowed']);
    const asBearer = await fetch(url, { headers: { authorization: `Bearer ${token}` } }).then(answer);
    assert.deepEqual([asBearer.status, asBearer.code], [401, 'key_invalid']);
    assert.equal(upstream.requests.length, before + 1, 'only the one valid request reached the upstream');
  });

  it('ends the token when its parent key is revoked, within the revocation target', async (t) => {
    const url = `${gateway.url}/orders`;
    assert.equal((await call('GET', '/orders', { dpop: proofFor(browser, 'GET', url) })).status, 200);
    await gateway.gateway.store.revokeKey(parent.id, 'frontend compromised', Date.now(), CLI_ACTOR);
    const delay = await waitFor(async () => (await call('GET', '/orders', { dpop: proofFor(browser, 'GET', url) })).code === 'key_revoked', 1000, 'the revocation reaches the token');
    t.diagnostic(`token refused ${Math.round(delay)} ms after the parent's revocation (poll every 20 ms)`);
    const refused = await call('GET', '/orders', { dpop: proofFor(browser, 'GET', url) });
    assert.deepEqual([refused.status, refused.code], [401, 'key_revoked']);
    assert.match(refused.headers.get('www-authenticate') ?? '', /^DPoP .*error="invalid_token"/);
    const reissue = await issue({ jkt: thumbprintOf(browser), scopes: [], origins: [ORIGIN] });
    assert.deepEqual([reissue.status, reissue.code], [401, 'key_revoked']);
  });
});

describeNeeding(await checkTestPostgres(), 'delegated tokens across two gateway nodes sharing PostgreSQL', () => {
  let schema: TestSchema;
  let upstream: RecordingUpstream;
  const nodes: TestGateway[] = [];
  let parent: { id: string; key: string };

  before(async () => {
    schema = await createTestSchema();
    upstream = await startRecordingUpstream();
    parent = await createKeyInStore(schema.url, { scopes: ['orders:read'] });
    for (let index = 0; index < 2; index++) nodes.push(await startTestGateway(upstream.url, schema.url, { env: { PORTCULLIS_DPOP_ENABLED: 'true' } }));
  });
  after(async () => {
    for (const node of nodes) await node.stop();
    await upstream?.close();
    await schema?.drop();
  });

  it('a token issued by one node, with the nonce it handed out, works on the other; revoking the parent ends it on both', async (t) => {
    const browser = proofKey('ES256');
    const [first, second] = nodes as [TestGateway, TestGateway];
    // The second node reads the (still empty) key set before the first node makes the key.
    const early = await fetch(`${second.url}/orders`, { headers: { authorization: 'DPoP x.y.z', dpop: 'p' } }).then(answer);
    assert.equal(early.code, 'dpop_token_invalid');
    const earlyAt = Date.now();
    const issued = await fetch(`${first.url}/.well-known/portcullis/token`, { method: 'POST', headers: { 'x-api-key': parent.key }, body: JSON.stringify({ jkt: thumbprintOf(browser), scopes: ['orders:read'], origins: [ORIGIN] }) }).then(answer);
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    const token = issued.body.token as string;
    const proof = (node: TestGateway, nonce?: string) => dpopProof(browser, { jti: randomUUID(), htm: 'GET', htu: `${node.url}/orders`, iat: Math.floor(Date.now() / 1000), ath: tokenHash(token), ...(nonce === undefined ? {} : { nonce }) });
    const call = (node: TestGateway, nonce?: string) => fetch(`${node.url}/orders`, { headers: { authorization: `DPoP ${token}`, dpop: proof(node, nonce) } }).then(answer);
    const challenged = await call(first);
    assert.equal(challenged.code, 'dpop_nonce_required');
    const nonce = challenged.headers.get('dpop-nonce') as string;
    // The second node has not seen the new kid; once 5 s have passed since its last read of the
    // keys it reads them again for the unknown kid (never more often), and accepts.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, earlyAt + 5100 - Date.now())));
    const onSecond = await call(second, nonce);
    assert.equal(onSecond.status, 200, JSON.stringify(onSecond.body));
    assert.equal(upstream.requests.at(-1)?.headers['x-portcullis-key-id'], parent.id);
    assert.equal((await call(first, nonce)).status, 200);
    await first.gateway.store.revokeKey(parent.id, 'frontend retired', Date.now(), CLI_ACTOR);
    const delays = await Promise.all(nodes.map((node) => waitFor(async () => (await call(node, nonce)).code === 'key_revoked', 1000, 'the revocation reaches the node')));
    t.diagnostic(`token refused on both nodes ${delays.map((delay) => `${Math.round(delay)} ms`).join(', ')} after the parent's revocation`);
  });
});
