/**
 * Signed requests (RFC 9421) through a started gateway: a key bound to a public key with
 * `keys create --signing-key` works only on requests signed by the private half
 * (packages/node-signer), each signature once; a body changed after signing never reaches the
 * upstream whole (Content-Digest checked on the bytes forwarded).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signRequest } from '../../packages/node-signer/src/index.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { createKeyWithCli, runCli, temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';

/** What the upstream received whole: method, path and body of every request whose body ended. */
interface Completed {
  method: string;
  url: string;
  body: string;
}

describe('signed requests through a running gateway (RFC 9421)', () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'keys.db');
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const completed: Completed[] = [];
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let key: { id: string; key: string };

  before(async () => {
    upstream = await startRecordingUpstream((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('error', () => {});
      req.on('end', () => {
        completed.push({ method: req.method as string, url: req.url as string, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    const publicKeyFile = join(directory.path, 'pub.pem');
    writeFileSync(publicKeyFile, pair.publicKey.export({ type: 'spki', format: 'pem' }));
    key = await createKeyWithCli(store, ['--signing-key', publicKeyFile]);
    gateway = await startTestGateway(upstream.url, store);
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  async function send(method: string, path: string, signed: Record<string, string> | null, body?: string): Promise<{ status: number; code: string | null }> {
    const response = await fetch(`${gateway.url}${path}`, { method, headers: { 'x-api-key': key.key, ...(signed ?? {}) }, ...(body === undefined ? {} : { body }) });
    const text = await response.text();
    const code = response.headers.get('content-type')?.startsWith('application/problem+json') ? (JSON.parse(text) as { code: string }).code : null;
    return { status: response.status, code };
  }

  const sign = (method: string, path: string, body?: string) => ({ ...signRequest({ method, url: `${gateway.url}${path}`, privateKey: pair.privateKey, keyId: key.id, ...(body === undefined ? {} : { body }) }) });

  it('keys create --signing-key binds the key (keys show names the algorithm); a private key file is a usage error', async () => {
    const shown = await runCli(['keys', 'show', key.id, '--store', store, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.equal((JSON.parse(shown.stdout) as { signingKey: { algorithm: string } }).signingKey.algorithm, 'ecdsa-p256-sha256');
    const privateFile = join(directory.path, 'private.pem');
    writeFileSync(privateFile, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const refused = await runCli(['keys', 'create', '--store', store, '--name', 'x', '--signing-key', privateFile]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--signing-key: .*expected a PEM public key/);
  });

  it('refuses the key alone, and a signature by another key', async () => {
    const before = completed.length;
    assert.deepEqual(await send('GET', '/orders', null), { status: 401, code: 'signature_missing' });
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const foreign = signRequest({ method: 'GET', url: `${gateway.url}/orders`, privateKey: other, keyId: key.id });
    assert.deepEqual(await send('GET', '/orders', { ...foreign }), { status: 401, code: 'signature_invalid' });
    assert.equal(completed.length, before, 'nothing reached the upstream');
  });

  it('forwards a signed request once; its replay, and the signature used on another method or path, are refused', async () => {
    const signed = sign('GET', '/orders?page=1');
    assert.deepEqual(await send('GET', '/orders?page=1', signed), { status: 200, code: null });
    assert.deepEqual(completed.at(-1), { method: 'GET', url: '/orders?page=1', body: '' });
    assert.deepEqual(await send('GET', '/orders?page=1', signed), { status: 401, code: 'signature_replayed' });
    assert.deepEqual(await send('DELETE', '/orders?page=1', sign('GET', '/orders?page=1')), { status: 401, code: 'signature_invalid' });
    assert.deepEqual(await send('GET', '/admin', sign('GET', '/orders')), { status: 401, code: 'signature_invalid' });
  });

  it('forwards a signed body as signed, and never forwards whole a body changed after signing', async () => {
    const body = JSON.stringify({ items: 'x'.repeat(300_000) });
    assert.deepEqual(await send('POST', '/orders', sign('POST', '/orders', body), body), { status: 200, code: null });
    assert.equal(completed.at(-1)?.body, body);
    const before = completed.length;
    const changed = body.replace('"items":"x', '"items":"y');
    assert.equal(changed.length, body.length);
    assert.deepEqual(await send('POST', '/orders', sign('POST', '/orders', body), changed), { status: 401, code: 'content_digest_mismatch' });
    assert.equal(completed.length, before, 'the upstream never received the changed body whole');
    // A body without a signed digest is refused before it is read.
    assert.deepEqual(await send('POST', '/orders', sign('POST', '/orders'), body), { status: 401, code: 'signature_invalid' });
  });

  it('the admin API binds and unbinds a key (signingKey, PEM); the gateway follows through the change feed', async () => {
    const admin = (gateway.gateway.admin as { url: string }).url;
    const writer = await createAdminToken(gateway.gateway.store, 'write', 'ops');
    const created = await adminCall<{ id: string; key: string; signingKey: string | null }>(admin, 'POST', '/api/keys', { token: writer.token, body: { name: 'svc-2', signingKey: pair.publicKey.export({ type: 'spki', format: 'pem' }) } });
    assert.equal(created.status, 201, created.text);
    assert.match(created.body.signingKey ?? '', /^-----BEGIN PUBLIC KEY-----/);
    const refused = await adminCall<{ code: string; errors: Array<{ pointer: string }> }>(admin, 'PATCH', `/api/keys/${created.body.id}`, { token: writer.token, body: { signingKey: 'not a key' } });
    assert.deepEqual([refused.status, refused.body.errors[0]?.pointer], [400, '/body/signingKey']);
    const call = async () => (await fetch(`${gateway.url}/orders`, { headers: { 'x-api-key': created.body.key } })).status;
    assert.equal(await call(), 401);
    assert.equal((await adminCall(admin, 'PATCH', `/api/keys/${created.body.id}`, { token: writer.token, body: { signingKey: null } })).status, 200);
    const deadline = Date.now() + 5000;
    while ((await call()) !== 200 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await call(), 200, 'unbound: the key alone works again');
  });
});

describe('signed requests with a validated JSON body (the body read for validation is the body checked)', () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'keys.db');
  const pair = generateKeyPairSync('ed25519');
  const bodies: string[] = [];
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let key: { id: string; key: string };

  before(async () => {
    upstream = await startRecordingUpstream((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString());
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    const description = join(directory.path, 'items.yaml');
    writeFileSync(description, [
      'openapi: 3.0.3',
      'info: { title: items, version: "1" }',
      'paths:',
      '  /items:',
      '    post:',
      '      requestBody:',
      '        required: true',
      '        content:',
      '          application/json:',
      '            schema: { type: object, required: [n], properties: { n: { type: integer } } }',
      '      responses: { "201": { description: created } }',
    ].join('\n'));
    const publicKeyFile = join(directory.path, 'pub.pem');
    writeFileSync(publicKeyFile, pair.publicKey.export({ type: 'spki', format: 'pem' }));
    key = await createKeyWithCli(store, ['--signing-key', publicKeyFile]);
    gateway = await startTestGateway(upstream.url, store, { env: { PORTCULLIS_OPENAPI_FILE: description } });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  async function post(signedBody: string, sentBody: string): Promise<{ status: number; code: string | null }> {
    const signed = signRequest({ method: 'POST', url: `${gateway.url}/items`, body: signedBody, privateKey: pair.privateKey, keyId: key.id, digest: 'sha-512' });
    const response = await fetch(`${gateway.url}/items`, { method: 'POST', body: sentBody, headers: { 'x-api-key': key.key, 'content-type': 'application/json', ...signed } });
    const text = await response.text();
    return { status: response.status, code: response.status >= 400 ? (JSON.parse(text) as { code: string }).code : null };
  }

  it('forwards the validated body as signed, and refuses a changed one before anything reaches the upstream', async () => {
    assert.deepEqual(await post('{"n":1}', '{"n":1}'), { status: 201, code: null });
    assert.deepEqual(bodies, ['{"n":1}']);
    assert.deepEqual(await post('{"n":1}', '{"n":2}'), { status: 401, code: 'content_digest_mismatch' });
    assert.deepEqual(bodies, ['{"n":1}'], 'the changed body never left the gateway');
  });
});
