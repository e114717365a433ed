import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { request } from 'undici';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { runCli, temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';

/**
 * Report-only mode end to end (docs/guide-protect-your-api.md, "Rolling out validation with
 * report-only"): input validation and rate limits in report mode let every request through to
 * the upstream unchanged, count each would-deny in /metrics, and tell the upstream (never the
 * client) in X-Portcullis-Would-Deny; what report mode cannot cover still refuses.
 */

function wouldDenyCount(metrics: string, code: string): number {
  const line = metrics.split('\n').find((text) => text.startsWith(`portcullis_would_deny_total{code="${code}"} `));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('report-only mode', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const openapiPath = join(directory.path, 'openapi.yaml');
  let upstream: RecordingUpstream;
  /** The body bytes each request brought to the upstream, in order. */
  const bodies: Buffer[] = [];
  let gateway: TestGateway;
  let token: string;

  before(async () => {
    writeFileSync(openapiPath, [
      'openapi: 3.1.0',
      'info: { title: t, version: "1" }',
      'paths:',
      '  /orders:',
      '    post:',
      '      requestBody:',
      '        required: true',
      '        content:',
      '          application/json:',
      '            schema: { type: object, required: [item], properties: { item: { type: string }, count: { type: integer, minimum: 1 } }, additionalProperties: false }',
      '      responses: { "200": { description: ok } }',
      '  /status:',
      '    get:',
      '      responses: { "200": { description: ok } }',
    ].join('\n'));
    upstream = await startRecordingUpstream((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        res.writeHead(200, { 'content-length': '2' });
        res.end('ok');
      });
    });
    gateway = await startTestGateway(upstream.url, storePath, {
      env: { PORTCULLIS_OPENAPI_FILE: openapiPath, PORTCULLIS_REPORT_ONLY_POLICIES: 'input-validation,rate-limits', PORTCULLIS_REPORT_ONLY_HEADER: 'true' },
    });
    token = (await createAdminToken(gateway.gateway.store, 'read')).token;
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  async function metrics(): Promise<string> {
    const response = await adminCall<string>(gateway.gateway.admin!.url, 'GET', '/metrics', { token });
    assert.equal(response.status, 200);
    return response.body;
  }

  async function post(key: string, body: string, contentType = 'application/json', extra: Record<string, string> = {}) {
    const response = await request(`${gateway.url}/orders`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': contentType, ...extra }, body });
    return { status: response.statusCode, headers: response.headers, text: await response.body.text() };
  }

  it('forwards every request that violates the schema, byte for byte, counting each and telling only the upstream', async () => {
    const { key } = await createKeyInStore(storePath);
    const before = await metrics();
    const violating: Array<[string, string]> = [
      ['{ "item": 7 }', 'application/json'],
      ['{"item":"tea","count":0}', 'application/json'],
      ['{"item":"tea","extra":true}', 'application/json'],
      ['{"item":"tea","item":"coffee"}', 'application/json'],
      ['{"item":\n  "tea", "count": "x"}', 'application/json; charset=utf-8'],
    ];
    const valid = ['{"item":"tea"}', '{ "item" : "tea", "count" : 2 }'];
    const requestsBefore = upstream.requests.length;
    for (const [body, contentType] of violating) {
      const response = await post(key, body, contentType);
      assert.equal(response.status, 200, body);
      assert.equal(response.text, 'ok');
      assert.equal(response.headers['x-portcullis-would-deny'], undefined, 'never to the client');
    }
    for (const body of valid) assert.equal((await post(key, body)).status, 200);
    // An unsupported media type is reported too, and the body streams on.
    assert.equal((await post(key, '<order/>', 'application/xml')).status, 200);

    const reached = upstream.requests.slice(requestsBefore);
    assert.equal(reached.length, violating.length + valid.length + 1);
    assert.deepEqual(bodies.slice(requestsBefore).map(String), [...violating.map(([body]) => body), ...valid, '<order/>']);
    assert.deepEqual(reached.map((seen) => seen.headers['x-portcullis-would-deny'] ?? null), [
      ...violating.map(() => 'request_invalid'), ...valid.map(() => null), 'unsupported_media_type',
    ]);
    const after = await metrics();
    assert.equal(wouldDenyCount(after, 'request_invalid') - wouldDenyCount(before, 'request_invalid'), violating.length);
    assert.equal(wouldDenyCount(after, 'unsupported_media_type') - wouldDenyCount(before, 'unsupported_media_type'), 1);
    assert.match(after, /portcullis_requests_total\{outcome="request_invalid"\} 0\n/, 'no request was refused');
  });

  it('still refuses what report mode cannot cover: a Content-Type sent twice, and a request without a key', async () => {
    const { key } = await createKeyInStore(storePath);
    const requestsBefore = upstream.requests.length;
    const twoTypes = await request(`${gateway.url}/orders`, { method: 'POST', headers: ['x-api-key', key, 'content-type', 'application/json', 'content-type', 'text/plain'], body: '{"item":"tea"}' });
    assert.equal(twoTypes.statusCode, 400);
    assert.equal(((await twoTypes.body.json()) as { code: string }).code, 'request_invalid');
    const noKey = await request(`${gateway.url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(noKey.statusCode, 401);
    await noKey.body.dump();
    assert.equal(upstream.requests.length, requestsBefore);
  });

  it('lets every request over a key\'s rate through, counting the excess', async () => {
    const { key } = await createKeyInStore(storePath, { rateLimit: '3/m' });
    const before = wouldDenyCount(await metrics(), 'rate_limited');
    const requestsBefore = upstream.requests.length;
    const sent = 10;
    for (let index = 0; index < sent; index++) {
      const response = await request(`${gateway.url}/status`, { headers: { 'x-api-key': key } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['x-portcullis-would-deny'], undefined);
      await response.body.dump();
    }
    const reached = upstream.requests.slice(requestsBefore);
    assert.equal(reached.length, sent);
    // A burst of 3: the first three are within the rate, the other seven would be refused.
    assert.deepEqual(reached.map((seen) => seen.headers['x-portcullis-would-deny'] ?? null), [null, null, null, ...Array<string>(sent - 3).fill('rate_limited')]);
    assert.equal(wouldDenyCount(await metrics(), 'rate_limited') - before, sent - 3);
  });

  it('keeps every would-deny in the store, and `portcullis report` sums them by code, route and key as /metrics counts them', async () => {
    const { key, id } = await createKeyInStore(storePath, { name: 'report-client' });
    for (const body of ['{"item":1}', '{"item":"tea","count":-1}']) assert.equal((await post(key, body)).status, 200);
    await gateway.gateway.flushUsage();
    const counted = await metrics();
    const result = await runCli(['report', '--since', '1h', '--json', '--store', storePath]);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { total: number; rows: Array<{ code: string; api: string; route: string; keyId: string | null; keyName: string | null; requests: number }> };
    const byCode = (code: string) => report.rows.filter((row) => row.code === code).reduce((sum, row) => sum + row.requests, 0);
    for (const code of ['request_invalid', 'unsupported_media_type', 'rate_limited']) assert.equal(byCode(code), wouldDenyCount(counted, code), code);
    assert.equal(report.total, byCode('request_invalid') + byCode('unsupported_media_type') + byCode('rate_limited'));
    assert.deepEqual(report.rows.filter((row) => row.keyId === id).map(({ code, api, route, keyName, requests }) => ({ code, api, route, keyName, requests })), [
      { code: 'request_invalid', api: 'default', route: 'POST /orders', keyName: 'report-client', requests: 2 },
    ]);
    const api = await adminCall<{ total: number; rows: Array<{ keyId: string | null; keyName: string | null; code: string; route: string; requests: number }> }>(gateway.gateway.admin!.url, 'GET', '/api/would-denies?window=1h', { token });
    assert.equal(api.status, 200);
    assert.equal(api.body.total, report.total, 'the dashboard reads what the CLI reads');
    assert.deepEqual(api.body.rows.filter((row) => row.keyId === id).map(({ keyName, code, route, requests }) => ({ keyName, code, route, requests })), [{ keyName: 'report-client', code: 'request_invalid', route: 'POST /orders', requests: 2 }]);
    const text = await runCli(['report', '--store', storePath]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /request_invalid\s+\d+/);
    assert.match(text.stdout, /report-client \(key_[^)]+\)\s+2\n/);
  });
});

describe('report-only mode on one operation (x-portcullis-report-only, a route rule\'s reportOnly)', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const openapiPath = join(directory.path, 'openapi.yaml');
  const configPath = join(directory.path, 'portcullis.yaml');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;

  before(async () => {
    const order = '{ type: object, required: [item], properties: { item: { type: string } }, additionalProperties: false }';
    writeFileSync(openapiPath, [
      'openapi: 3.1.0',
      'info: { title: t, version: "1" }',
      'paths:',
      '  /orders:',
      '    post:',
      '      x-portcullis-report-only: [input-validation]',
      `      requestBody: { required: true, content: { application/json: { schema: ${order} } } }`,
      '      responses: { "200": { description: ok } }',
      '  /invoices:',
      '    post:',
      `      requestBody: { required: true, content: { application/json: { schema: ${order} } } }`,
      '      responses: { "200": { description: ok } }',
      '  /refunds:',
      '    post:',
      `      requestBody: { required: true, content: { application/json: { schema: ${order} } } }`,
      '      responses: { "200": { description: ok } }',
    ].join('\n'));
    writeFileSync(configPath, `openapi:\n  file: ${openapiPath}\nroutes:\n  - { method: POST, path: /refunds, reportOnly: [input-validation] }\n`);
    upstream = await startRecordingUpstream((req: IncomingMessage, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    gateway = await startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_CONFIG: configPath } });
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('lets a bad body through on the operations in report mode only, and counts it by route', async () => {
    const { key, id } = await createKeyInStore(storePath);
    const send = async (path: string) => {
      const response = await request(`${gateway.url}${path}`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: '{"item": 7}' });
      await response.body.dump();
      return response.statusCode;
    };
    const before = upstream.requests.length;
    assert.deepEqual([await send('/orders'), await send('/refunds'), await send('/invoices')], [200, 200, 400]);
    assert.deepEqual(upstream.requests.slice(before).map((seen) => seen.url), ['/orders', '/refunds']);
    await gateway.gateway.flushUsage();
    const report = await runCli(['report', '--json', '--store', storePath]);
    assert.equal(report.code, 0, report.stderr);
    const rows = (JSON.parse(report.stdout) as { rows: Array<{ route: string; keyId: string; code: string; requests: number }> }).rows;
    assert.deepEqual(rows.filter((row) => row.keyId === id).map((row) => [row.route, row.code, row.requests]).sort(), [['POST /orders', 'request_invalid', 1], ['POST /refunds', 'request_invalid', 1]]);
  });
});

describe('report-only configuration', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  it('exits 2 naming the field when a policy that always enforces is named', async () => {
    const configPath = join(directory.path, 'portcullis.yaml');
    writeFileSync(configPath, 'reportOnly:\n  policies: [input-validation, key-auth]\n');
    const result = await runCli(['serve', '--config', configPath, '--store', join(directory.path, 'keys.db'), '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.match(result.stderr, /reportOnly\.policies\.1 \(from .*portcullis\.yaml\): key-auth cannot run in report mode: authentication/);
    const flag = await runCli(['serve', '--report-only', 'path-canonical', '--store', join(directory.path, 'keys.db'), '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    assert.equal(flag.code, 2, flag.stdout + flag.stderr);
    assert.match(flag.stderr, /reportOnly\.policies\.0 \(from --report-only\): path-canonical cannot run in report mode/);
    const unknown = await runCli(['serve', '--report-only', 'validation', '--store', join(directory.path, 'keys.db'), '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
    assert.match(unknown.stderr, /reportOnly\.policies\.0 \(from --report-only\): expected a policy that can run in report mode: network-access, route-match, scopes, input-validation, rate-limits, quotas, found "validation"/);
  });
});
