/**
 * Several APIs behind one gateway (`apis`): three upstreams matched by exact host, wildcard
 * host and path prefix (stripped); each API's own OpenAPI document; a key bound to one API
 * refused on another (403 key_wrong_api) without reaching it; and what an attacker might send
 * to steer a request to another API (X-Forwarded-Host, an absolute-form target, two Host
 * headers) never moves it.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { makeTlsFixtures } from '../support/tls-fixtures.ts';

/** What an upstream saw of one request. */
interface Seen {
  upstream: string;
  url: string;
  host: string | undefined;
  forwardedHost: string | undefined;
}

/** An upstream that answers every request with what it saw, and keeps it. */
async function startEcho(name: string, seen: Seen[]): Promise<{ url: string; server: Server }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const entry: Seen = { upstream: name, url: req.url as string, host: req.headers.host, forwardedHost: req.headers['x-forwarded-host'] as string | undefined };
    seen.push(entry);
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify(entry);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

interface Answer {
  status: number;
  body: string;
  code: string | null;
}

/** One request written byte for byte (request line and every header line as given) on a fresh connection. */
function send(port: number, requestLine: string, headers: Array<[string, string]>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      const lines = [requestLine, ...headers.map(([name, value]) => `${name}: ${value}`), 'Connection: close'];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const body = text.slice(text.indexOf('\r\n\r\n') + 4);
      let code: string | null = null;
      if (/content-type: application\/problem\+json/i.test(text)) code = (JSON.parse(body) as { code: string }).code;
      resolve({ status, body, code });
    });
  });
}

const ORDERS_DOCUMENT = {
  openapi: '3.0.3',
  info: { title: 'orders', version: '1' },
  paths: {
    '/items': { get: { parameters: [{ name: 'limit', in: 'query', schema: { type: 'integer', maximum: 10 } }], responses: { 200: { description: 'ok' } } } },
  },
};

const BILLING_DOCUMENT = {
  openapi: '3.0.3',
  info: { title: 'billing', version: '1' },
  paths: {
    '/invoices/{id}': { get: { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }, { name: 'full', in: 'query', schema: { type: 'integer' } }], responses: { 200: { description: 'ok' } } } },
  },
};

describe('several APIs: match by host and prefix, keys per API, per-API validation', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const seen: Seen[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const upstreams: Server[] = [];
  let gateway: RunningGateway;
  let port: number;
  let ordersKey: string;
  let everyApiKey: string;

  before(async () => {
    const [orders, reports, billing] = await Promise.all([startEcho('orders', seen), startEcho('reports', seen), startEcho('billing', seen)]);
    upstreams.push(orders.server, reports.server, billing.server);
    writeFileSync(join(directory.path, 'orders.json'), JSON.stringify(ORDERS_DOCUMENT));
    writeFileSync(join(directory.path, 'billing.json'), JSON.stringify(BILLING_DOCUMENT));
    const configFile = join(directory.path, 'portcullis.yaml');
    writeFileSync(configFile, [
      'apis:',
      '  - name: orders',
      '    hosts: [orders.example.test]',
      `    upstream: { url: "${orders.url}" }`,
      '    openapi: { file: orders.json }',
      '  - name: reports',
      "    hosts: ['*.reports.example.test']",
      `    upstream: { url: "${reports.url}" }`,
      '  - name: billing',
      '    pathPrefix: /billing',
      '    stripPrefix: true',
      `    upstream: { url: "${billing.url}" }`,
      '    openapi: { file: billing.json }',
      '',
    ].join('\n'));
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({
      configFile,
      cwd: directory.path,
      env: { PORTCULLIS_ADMIN_LISTEN: '', PORTCULLIS_LIMITS_ADDRESS_RATE: '', PORTCULLIS_LOCKOUT_MAX_FAILURES: '0', PORTCULLIS_LOG_ACCESS: 'true' },
      flags: [
        { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
        { field: 'store', value: storePath, flag: '--store' },
      ],
    });
    ordersKey = (await createKeyInStore(storePath, { apis: ['orders'] })).key;
    everyApiKey = (await createKeyInStore(storePath)).key;
    gateway = await startGateway(config, createLogger('info', sink));
    port = gateway.address.port;
  });
  after(async () => {
    await gateway?.stop();
    for (const server of upstreams) server.closeAllConnections();
    await Promise.all(upstreams.map((server) => new Promise((resolve) => server.close(resolve))));
    directory.remove();
  });

  const get = (target: string, host: string, key: string, more: Array<[string, string]> = []) => send(port, `GET ${target} HTTP/1.1`, [['Host', host], ['X-API-Key', key], ...more]);
  const lastSeen = () => seen.at(-1);

  it('sends a request to the API of its exact host, path unchanged', async () => {
    const answer = await get('/items?limit=5', 'orders.example.test', ordersKey);
    assert.equal(answer.status, 200, answer.body);
    assert.deepEqual(JSON.parse(answer.body), { upstream: 'orders', url: '/items?limit=5', host: lastSeen()?.host, forwardedHost: 'orders.example.test' });
  });

  it('matches the host in any letter case and with a port, and the upstream sees that same Host as X-Forwarded-Host', async () => {
    const answer = await get('/items', 'ORDERS.Example.test:8080', everyApiKey);
    assert.equal(answer.status, 200, answer.body);
    assert.equal(lastSeen()?.upstream, 'orders');
    assert.equal(lastSeen()?.forwardedHost, 'ORDERS.Example.test:8080');
  });

  it('sends a request for a wildcard host to its API', async () => {
    const answer = await get('/anything/at/all', 'eu.reports.example.test', everyApiKey);
    assert.equal(answer.status, 200, answer.body);
    assert.equal(lastSeen()?.upstream, 'reports');
    assert.equal(lastSeen()?.url, '/anything/at/all');
  });

  it('strips the prefix of a prefix-matched API: the upstream gets the rest of the path and the query', async () => {
    const answer = await get('/billing/invoices/7?full=1', 'api.example.test', everyApiKey);
    assert.equal(answer.status, 200, answer.body);
    assert.equal(lastSeen()?.upstream, 'billing');
    assert.equal(lastSeen()?.url, '/invoices/7?full=1');
  });

  it('refuses a key bound to one API on another (403 key_wrong_api), without reaching it', async () => {
    const before = seen.length;
    const answer = await get('/billing/invoices/7', 'api.example.test', ordersKey);
    assert.equal(answer.status, 403);
    assert.equal(answer.code, 'key_wrong_api');
    const wildcard = await get('/x', 'eu.reports.example.test', ordersKey);
    assert.equal(wildcard.code, 'key_wrong_api');
    assert.equal(seen.length, before, 'no upstream was reached');
    assert.equal((await get('/items', 'orders.example.test', ordersKey)).status, 200, 'the same key on its own API');
  });

  it('validates each API against its own document', async () => {
    const before = seen.length;
    assert.equal((await get('/billing/invoices/abc', 'api.example.test', everyApiKey)).code, 'request_invalid', 'billing: id is an integer');
    assert.equal((await get('/billing/items', 'api.example.test', everyApiKey)).code, 'route_not_found', 'billing has no /items');
    assert.equal((await get('/items?limit=50', 'orders.example.test', everyApiKey)).code, 'request_invalid', 'orders: limit at most 10');
    assert.equal((await get('/invoices/7', 'orders.example.test', everyApiKey)).code, 'route_not_found', 'orders has no /invoices');
    assert.equal(seen.length, before);
  });

  it('answers 404 api_not_found when no API matches', async () => {
    const answer = await get('/items', 'unknown.example.test', everyApiKey);
    assert.equal(answer.status, 404);
    assert.equal(answer.code, 'api_not_found');
    assert.equal((await get('/billingx/invoices/7', 'unknown.example.test', everyApiKey)).code, 'api_not_found', 'a prefix only on a segment boundary');
    assert.equal((await get('/items', 'reports.example.test', everyApiKey)).code, 'api_not_found', 'a wildcard never matches its bare domain');
  });

  it('is not steered by X-Forwarded-Host or Forwarded from the client', async () => {
    const before = seen.length;
    const answer = await get('/items', 'unknown.example.test', everyApiKey, [['X-Forwarded-Host', 'orders.example.test'], ['Forwarded', 'host=orders.example.test']]);
    assert.equal(answer.code, 'api_not_found');
    assert.equal(seen.length, before);
    const billing = await get('/billing/invoices/1', 'unknown.example.test', everyApiKey, [['X-Forwarded-Host', 'orders.example.test']]);
    assert.equal(billing.status, 200);
    assert.equal(lastSeen()?.upstream, 'billing');
    assert.equal(lastSeen()?.forwardedHost, 'unknown.example.test', 'the upstream is told the Host that was matched, not the client\'s header');
  });

  it('refuses an absolute-form target naming another host, and two Host headers, before any API is chosen', async () => {
    const before = seen.length;
    const absolute = await send(port, 'GET http://orders.example.test/items HTTP/1.1', [['Host', 'unknown.example.test'], ['X-API-Key', everyApiKey]]);
    assert.equal(absolute.status, 400, absolute.body);
    const twoHosts = await send(port, 'GET /items HTTP/1.1', [['Host', 'unknown.example.test'], ['Host', 'orders.example.test'], ['X-API-Key', everyApiKey]]);
    assert.equal(twoHosts.status, 400, twoHosts.body);
    assert.equal(seen.length, before, 'no upstream was reached');
  });

  it('counts requests by API in portcullis_api_requests_total and names the API in the access log', async () => {
    const metrics = (await gateway.metrics.render()).body;
    const value = (labels: string) => Number(metrics.split('\n').find((line) => line.startsWith(`portcullis_api_requests_total{${labels}} `))?.split(' ').at(-1) ?? 0);
    assert.ok(value('api="orders",outcome="forwarded"') >= 3, metrics.split('\n').filter((line) => line.includes('api_requests')).join('\n'));
    assert.equal(value('api="billing",outcome="key_wrong_api"'), 1);
    assert.equal(value('api="reports",outcome="key_wrong_api"'), 1);
    assert.equal(value('api="billing",outcome="route_not_found"'), 1);
    const requests = logs.filter((line) => line.msg === 'request');
    assert.ok(requests.some((line) => line.api === 'billing' && line.outcome === 'key_wrong_api'));
    assert.ok(requests.some((line) => line.api === null && line.outcome === 'api_not_found'), 'a request no API matched has none');
  });
});

describe('several APIs: each its own upstream TLS (private CA, mutual TLS) and timeouts', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const servers: Array<{ close(): void; closeAllConnections(): void }> = [];
  const clientNames: Array<string | null> = [];
  let gateway: RunningGateway;
  let port: number;
  let key: string;

  before(async () => {
    const fixtures = await makeTlsFixtures(directory.path);
    // An https upstream that requires a client certificate signed by the fixtures' CA.
    const mutual = createHttpsServer({ cert: fixtures.server.cert, key: fixtures.server.key, ca: fixtures.ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const commonName = (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN;
      clientNames.push(typeof commonName === 'string' ? commonName : null);
      req.resume();
      res.end('{"tls":true}');
    });
    mutual.on('tlsClientError', () => {});
    // A plain upstream that answers only after 1.5 s.
    const slow = createServer((req, res) => {
      req.resume();
      setTimeout(() => res.end('{"slow":true}'), 1500).unref();
    });
    await Promise.all([new Promise<void>((resolve) => mutual.listen(0, '127.0.0.1', resolve)), new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve))]);
    servers.push(mutual, slow);
    const configFile = join(directory.path, 'portcullis.yaml');
    writeFileSync(configFile, [
      'upstream:',
      '  headersTimeout: 5s',
      'apis:',
      '  - name: secure',
      '    pathPrefix: /secure',
      '    stripPrefix: true',
      '    upstream:',
      `      url: "https://127.0.0.1:${(mutual.address() as AddressInfo).port}"`,
      `      tls: { ca: "${fixtures.ca.certPath}", cert: "${fixtures.clientA.certPath}", key: "${fixtures.clientA.keyPath}" }`,
      '  - name: impatient',
      '    pathPrefix: /impatient',
      `    upstream: { url: "http://127.0.0.1:${(slow.address() as AddressInfo).port}", headersTimeout: 300ms }`,
      '  - name: patient',
      '    pathPrefix: /patient',
      `    upstream: { url: "http://127.0.0.1:${(slow.address() as AddressInfo).port}" }`,
      '',
    ].join('\n'));
    const config = loadConfig({
      configFile,
      cwd: directory.path,
      env: { PORTCULLIS_ADMIN_LISTEN: '', PORTCULLIS_LOG_LEVEL: 'silent' },
      flags: [
        { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
        { field: 'store', value: storePath, flag: '--store' },
      ],
    });
    key = (await createKeyInStore(storePath)).key;
    gateway = await startGateway(config, createLogger('silent'));
    port = gateway.address.port;
  });
  after(async () => {
    await gateway?.stop();
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise((resolve) => (server as Server).close(resolve))));
    directory.remove();
  });

  const get = (target: string) => send(port, `GET ${target} HTTP/1.1`, [['Host', 'api.example.test'], ['X-API-Key', key]]);

  it('reaches an API whose upstream needs its private CA and its client certificate', async () => {
    const answer = await get('/secure/data');
    assert.equal(answer.status, 200, answer.body);
    assert.equal(answer.body, '{"tls":true}');
    assert.equal(clientNames.at(-1), 'client-a');
  });

  it('applies each API\'s own response timeout, the top-level one for an API without one', async () => {
    const impatient = await get('/impatient/x');
    assert.equal(impatient.status, 504);
    assert.equal(impatient.code, 'upstream_timeout');
    const patient = await get('/patient/x');
    assert.equal(patient.status, 200, patient.body);
  });
});

describe('the APIs of a key through the admin API, on a gateway without apis (one API, default)', () => {
  const directory = temporaryDirectory();
  let upstream: { url: string; server: Server };
  let gateway: TestGateway;
  let admin: string;
  let token: string;

  before(async () => {
    upstream = await startEcho('only', []);
    gateway = await startTestGateway(upstream.url, join(directory.path, 'keys.db'));
    admin = (gateway.gateway.admin as { url: string }).url;
    token = (await createAdminToken(gateway.gateway.store, 'write', 'ops')).token;
  });
  after(async () => {
    await gateway.stop();
    upstream.server.closeAllConnections();
    await new Promise((resolve) => upstream.server.close(resolve));
    directory.remove();
  });

  const call = (key: string) => send(gateway.gateway.address.port, 'GET /items HTTP/1.1', [['Host', 'api.example.test'], ['X-API-Key', key]]);

  it('creates a key for other APIs (refused here: 403 key_wrong_api), then adds this one', async () => {
    const created = await adminCall<{ id: string; key: string; apis: string[] }>(admin, 'POST', '/api/keys', { token, body: { name: 'billing-job', apis: ['billing'] } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.apis, ['billing']);
    assert.equal((await call(created.body.key)).code, 'key_wrong_api');
    const updated = await adminCall<{ apis: string[] }>(admin, 'PATCH', `/api/keys/${created.body.id}`, { token, body: { apis: ['billing', 'default'] } });
    assert.deepEqual(updated.body.apis, ['billing', 'default']);
    await waitUntil(async () => (await call(created.body.key)).status === 200);
    const refused = await adminCall(admin, 'PATCH', `/api/keys/${created.body.id}`, { token, body: { apis: ['Not An API'] } });
    assert.equal(refused.status, 400);
  });

  it('leaves a key created without apis on every API', async () => {
    const created = await adminCall<{ key: string; apis: string[] }>(admin, 'POST', '/api/keys', { token, body: { name: 'web-1' } });
    assert.deepEqual(created.body.apis, []);
    await waitUntil(async () => (await call(created.body.key)).status === 200);
  });
});

async function waitUntil(predicate: () => Promise<boolean>, limit = 3000): Promise<void> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > limit) throw new Error(`condition not met within ${limit} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
