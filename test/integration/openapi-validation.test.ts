import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';

const ORDERS_API = resolve(import.meta.dirname, '..', 'fixtures', 'openapi', 'orders-api.yaml');

interface Problem {
  code: string;
  status: number;
  detail: string;
  errors?: Array<{ pointer: string; message: string }>;
}

const VALID_ORDER = {
  customer: { email: 'ada@example.com', name: 'Ada', address: { street: 'Main St 1', country: 'GB' } },
  items: [
    { sku: 'ABC-1234', quantity: 2 },
    { sku: 'XYZ-0001', quantity: 1 },
  ],
  shipping: 'express',
  note: null,
};

describe('requests validated against an OpenAPI document', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  const bodies: string[] = [];
  let gateway: TestGateway;
  let reader: string;
  let writer: string;
  let wildcard: string;
  let everything: string;

  before(async () => {
    upstream = await startRecordingUpstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"ok":true}');
      });
    });
    gateway = await startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_OPENAPI_FILE: ORDERS_API, PORTCULLIS_REQUESTS_MAX_JSON_BODY_SIZE: '4kb' } });
    reader = (await createKeyInStore(storePath, { scopes: ['orders:read'] })).key;
    writer = (await createKeyInStore(storePath, { scopes: ['orders:read', 'orders:write'] })).key;
    wildcard = (await createKeyInStore(storePath, { scopes: ['orders:*'] })).key;
    everything = (await createKeyInStore(storePath, { scopes: ['*'] })).key;
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  async function send(method: string, path: string, key: string | null, options: { body?: string | Readable; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...options.headers };
    if (key !== null) headers['x-api-key'] = key;
    const response = await request(`${gateway.url}${path}`, { method: method as 'GET', headers, body: options.body ?? null });
    const text = await response.body.text();
    return { status: response.statusCode, headers: response.headers, text, problem: response.headers['content-type'] === 'application/problem+json' ? (JSON.parse(text) as Problem) : null };
  }

  /** Sends a request that must be refused with `code`, and asserts the upstream received nothing. */
  async function refused(code: string, method: string, path: string, key: string | null, options: Parameters<typeof send>[3] = {}): Promise<Problem> {
    const before = upstream.requests.length;
    const response = await send(method, path, key, options);
    assert.equal(response.problem?.code, code, `${method} ${path}: expected ${code}, got ${response.status} ${response.text.slice(0, 300)}`);
    assert.equal(upstream.requests.length, before, `${method} ${path}: the upstream must receive nothing`);
    return response.problem as Problem;
  }

  it('passes valid requests to the upstream unchanged: path, query, headers and body', async () => {
    const list = await send('GET', '/orders?status=open&limit=10&tag=red&tag=blue', reader, { headers: { 'x-request-id': '3b241101-e2bb-4255-8caf-4136c566a962' } });
    assert.equal(list.status, 200, list.text);
    assert.equal(upstream.requests.at(-1)!.url, '/orders?status=open&limit=10&tag=red&tag=blue');
    assert.equal(upstream.requests.at(-1)!.headers['x-request-id'], '3b241101-e2bb-4255-8caf-4136c566a962');

    const body = JSON.stringify(VALID_ORDER, null, 2); // the upstream must get these exact bytes, spacing included
    const created = await send('POST', '/orders', writer, { body, headers: { 'content-type': 'application/json; charset=utf-8' } });
    assert.equal(created.status, 200, created.text);
    assert.equal(upstream.requests.at(-1)!.method, 'POST');
    assert.equal(bodies.at(-1), body);

    for (const path of ['/orders/42', '/orders/42.csv', '/health']) assert.equal((await send('GET', path, reader)).status, 200, path);
    assert.equal((await send('HEAD', '/orders/42', reader)).status, 200, 'HEAD is allowed where GET is declared');
  });

  it('streams a declared non-JSON body within its operation limit', async () => {
    const response = await send('PUT', '/orders/7/attachments', writer, { body: 'x'.repeat(1000), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(response.status, 200, response.text);
    assert.equal(bodies.at(-1), 'x'.repeat(1000));
  });

  it('answers 404 route_not_found for undocumented paths', async () => {
    for (const path of ['/nothing', '/orders/42/unknown', '/admin', '/orders/42/attachments/x']) await refused('route_not_found', 'GET', path, reader);
  });

  it('answers 405 method_not_allowed with Allow for undocumented methods', async () => {
    const before = upstream.requests.length;
    const response = await send('PATCH', '/orders', writer, { body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 405);
    assert.equal(response.problem?.code, 'method_not_allowed');
    assert.equal(response.headers.allow, 'GET, HEAD, POST');
    assert.equal((await send('DELETE', '/health', everything)).headers.allow, 'GET, HEAD');
    assert.equal(upstream.requests.length, before);
  });

  it('refuses invalid path, query and header parameters with 400 request_invalid and a pointer', async () => {
    const cases: Array<[string, Record<string, string>, string]> = [
      ['/orders/abc', {}, '/path/orderId'],
      ['/orders/0', {}, '/path/orderId'],
      ['/orders/42.pdf', {}, '/path/format'],
      ['/orders?status=lost', {}, '/query/status'],
      ['/orders?limit=1000', {}, '/query/limit'],
      ['/orders?limit=ten', {}, '/query/limit'],
      ['/orders?limit=1&limit=2', {}, '/query/limit'],
      ['/orders?debug=true', {}, '/query/debug'],
      ['/orders?tag=a&tag=b&tag=c&tag=d&tag=e&tag=f', {}, '/query/tag'],
      ['/orders?status=%ZZ', {}, '/query'],
      ['/orders', { 'x-request-id': 'not-a-uuid' }, '/headers/X-Request-Id'],
    ];
    for (const [path, headers, pointer] of cases) {
      const problem = await refused('request_invalid', 'GET', path, reader, { headers });
      assert.equal(problem.status, 400);
      assert.equal(problem.errors?.[0]?.pointer, pointer, `${path}: ${JSON.stringify(problem.errors)}`);
      assert.equal(typeof problem.errors?.[0]?.message, 'string');
    }
  });

  it('refuses invalid JSON bodies, nested objects and enums included, with a pointer into the body', async () => {
    const invalid = (change: (order: typeof VALID_ORDER & Record<string, unknown>) => void) => {
      const order = structuredClone(VALID_ORDER) as typeof VALID_ORDER & Record<string, unknown>;
      change(order);
      return JSON.stringify(order);
    };
    const cases: Array<[string, string]> = [
      [invalid((order) => (order.items[1]!.sku = 'abc')), '/body/items/1/sku'],
      [invalid((order) => (order.items[0]!.quantity = 0)), '/body/items/0/quantity'],
      [invalid((order) => (order.shipping = 'teleport')), '/body/shipping'],
      [invalid((order) => (order.customer.address.country = 'XX')), '/body/customer/address/country'],
      [invalid((order) => (order.customer.email = 'nobody')), '/body/customer/email'],
      [invalid((order) => delete (order.customer as Partial<typeof order.customer>).email), '/body/customer/email'],
      [invalid((order) => (order.items = [])), '/body/items'],
      [invalid((order) => (order.isAdmin = true)), '/body/isAdmin'],
      [invalid((order) => (order.note = 5 as unknown as null)), '/body/note'],
    ];
    for (const [body, pointer] of cases) {
      const problem = await refused('request_invalid', 'POST', '/orders', writer, { body, headers: { 'content-type': 'application/json' } });
      assert.equal(problem.errors?.[0]?.pointer, pointer, `${body}: ${JSON.stringify(problem.errors)}`);
    }
    const missing = await refused('request_invalid', 'POST', '/orders', writer);
    assert.equal(missing.errors?.[0]?.pointer, '/body');
    const malformed = await refused('request_invalid', 'POST', '/orders', writer, { body: '{"customer": ', headers: { 'content-type': 'application/json' } });
    assert.equal(malformed.errors?.[0]?.pointer, '/body/customer', 'the member where the JSON broke off');
    const undeclared = await refused('request_invalid', 'GET', '/orders/5', reader, { body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(undeclared.errors?.[0]?.pointer, '/body');
  });

  it('refuses duplicate keys and prototype-pollution payloads', async () => {
    const payloads = [
      '{"customer":{"email":"a@b.co"},"items":[{"sku":"ABC-1234","quantity":1}],"shipping":"standard","shipping":"express"}',
      '{"customer":{"email":"a@b.co"},"items":[{"sku":"ABC-1234","quantity":1,"quantity":-5}]}',
      '{"customer":{"email":"a@b.co"},"items":[{"sku":"ABC-1234","quantity":1}],"__proto__":{"isAdmin":true}}',
      '{"customer":{"email":"a@b.co","constructor":{"prototype":{"isAdmin":true}}},"items":[{"sku":"ABC-1234","quantity":1}]}',
      '{"customer":{"email":"a@b.co"},"items":[{"sku":"ABC-1234","quantity":1}],"note":' + '['.repeat(40) + ']'.repeat(40) + '}',
    ];
    for (const body of payloads) {
      const problem = await refused('request_invalid', 'POST', '/orders', writer, { body, headers: { 'content-type': 'application/json' } });
      assert.match(problem.errors?.[0]?.message ?? '', /duplicate key|forbidden key|nesting deeper/);
    }
    assert.equal(({} as Record<string, unknown>)['isAdmin'], undefined);
  });

  it('answers 415 unsupported_media_type for content types the operation does not declare', async () => {
    for (const headers of [{ 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'application/json; charset=latin1' }, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, {} as Record<string, string>]) {
      await refused('unsupported_media_type', 'POST', '/orders', writer, { body: JSON.stringify(VALID_ORDER), headers });
    }
    await refused('unsupported_media_type', 'PUT', '/orders/7/attachments', writer, { body: 'x', headers: { 'content-type': 'application/json' } });
  });

  it('refuses two Content-Type headers, which the upstream might read differently', async () => {
    const response = await request(`${gateway.url}/orders`, { method: 'POST', headers: ['x-api-key', writer, 'content-type', 'application/json', 'content-type', 'text/plain'], body: JSON.stringify(VALID_ORDER) });
    assert.equal(response.statusCode, 400);
    assert.equal(((await response.body.json()) as Problem).errors?.[0]?.pointer, '/headers/content-type');
  });

  it('answers 413 body_too_large against the JSON limit and the operation limit, declared or streamed', async () => {
    const big = JSON.stringify({ ...VALID_ORDER, note: 'n'.repeat(5000) });
    await refused('body_too_large', 'POST', '/orders', writer, { body: big, headers: { 'content-type': 'application/json' } });
    // Chunked (no Content-Length): the limit is enforced while reading.
    await refused('body_too_large', 'POST', '/orders', writer, { body: Readable.from([Buffer.from(big)]), headers: { 'content-type': 'application/json' } });
    await refused('body_too_large', 'PUT', '/orders/7/attachments', writer, { body: 'x'.repeat(1025), headers: { 'content-type': 'application/octet-stream' } });
    // A streamed body without Content-Length is cut off when it passes the operation's limit.
    const streamed = await send('PUT', '/orders/7/attachments', writer, { body: Readable.from([Buffer.alloc(800, 0x61), Buffer.alloc(800, 0x62)]), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(streamed.status, 413);
    assert.equal(streamed.problem?.code, 'body_too_large');
    const withinLimit = await send('PUT', '/orders/7/attachments', writer, { body: Readable.from([Buffer.alloc(500, 0x61), Buffer.alloc(500, 0x62)]), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(withinLimit.status, 200);
    assert.equal(bodies.at(-1), 'a'.repeat(500) + 'b'.repeat(500));
  });

  it('never buffers a 1 GB body: refused by its declared length at once, or while it streams', async () => {
    const GB = 1024 ** 3;
    for (const declared of [true, false]) {
      let pulled = 0;
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const body = new Readable({
        read() {
          if (pulled >= GB) return void this.push(null);
          pulled += chunk.length;
          this.push(chunk);
        },
      });
      const headers: Record<string, string> = { 'content-type': declared ? 'application/json' : 'application/octet-stream' };
      if (declared) headers['content-length'] = String(GB);
      const path = declared ? '/orders' : '/orders/7/attachments';
      const before = upstream.requests.length;
      const response = await request(`${gateway.url}${path}`, { method: declared ? 'POST' : 'PUT', headers: { ...headers, 'x-api-key': writer }, body }).catch((error: unknown) => error as Error);
      // The gateway answers 413 and closes; a client still sending may see the close as a reset instead.
      if (!(response instanceof Error)) {
        assert.equal(response.statusCode, 413);
        await response.body.dump();
      }
      body.destroy();
      assert.ok(pulled < 64 * 1024 * 1024, `the client was made to send ${pulled} bytes`);
      if (declared) assert.equal(upstream.requests.length, before, 'nothing reaches the upstream');
    }
  });

  it('enforces scopes after authentication: 403 scope_missing, wildcards granted', async () => {
    const problem = await refused('scope_missing', 'POST', '/orders', reader, { body: JSON.stringify(VALID_ORDER), headers: { 'content-type': 'application/json' } });
    assert.equal(problem.status, 403);
    assert.match(problem.detail, /orders:write/);
    assert.equal((await send('POST', '/orders', wildcard, { body: JSON.stringify(VALID_ORDER), headers: { 'content-type': 'application/json' } })).status, 200);
    // x-portcullis-scopes needs both orders:write and admin.
    await refused('scope_missing', 'DELETE', '/orders/3', wildcard);
    await refused('scope_missing', 'GET', '/admin/stats', writer);
    assert.equal((await send('DELETE', '/orders/3', everything)).status, 200);
    assert.equal((await send('GET', '/admin/stats', everything)).status, 200);
    // `security: []` needs no scope, but still a key.
    await refused('key_missing', 'GET', '/health', null);
  });

  it('checks the key before the body: an unauthenticated request is refused before validation', async () => {
    await refused('key_missing', 'POST', '/orders', null, { body: '{"__proto__":1}', headers: { 'content-type': 'application/json' } });
    await refused('key_missing', 'GET', '/orders?limit=ten', null);
  });

  it('never echoes large input in error responses', async () => {
    const huge = 'k'.repeat(50_000);
    const response = await send('POST', '/orders', writer, { body: JSON.stringify({ ...VALID_ORDER, [huge]: 1 }), headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 413); // over the 4 KB JSON limit
    const query = await send('GET', `/orders?${'q'.repeat(8000)}=1`, reader);
    assert.equal(query.problem?.code, 'request_invalid');
    assert.ok(query.text.length < 1000, `response of ${query.text.length} bytes`);
    const body = await send('POST', '/orders', writer, { body: JSON.stringify({ ...VALID_ORDER, [huge.slice(0, 3000)]: 1 }), headers: { 'content-type': 'application/json' } });
    assert.equal(body.problem?.code, 'request_invalid');
    assert.ok(body.text.length < 1000, `response of ${body.text.length} bytes`);
  });
});
