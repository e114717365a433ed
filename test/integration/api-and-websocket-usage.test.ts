/**
 * Usage by API and WebSocket usage per key, from real requests through a gateway with two APIs
 * and a WebSocket echo upstream: `GET /api/usage/apis` sums each API's requests by outcome
 * (with or without a key), `GET /api/keys/{id}/usage` says how many WebSockets the key opened
 * and the most open at once, and `/metrics` has the key's open WebSockets while they are open.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { adminCall, createAdminToken } from '../support/admin-client.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { PROJECT_ROOT, runCli, temporaryDirectory } from '../support/processes.ts';
import { startEchoUpstream, type EchoUpstream } from '../support/websocket-echo-upstream.ts';

interface ApiFigures {
  api: string;
  requests: number;
  forwarded: number;
  denied: number;
  aborted: number;
  outcomes: Record<string, number>;
  points: Array<{ t: string; requests: number; denied: number }>;
}

interface KeyUsageAnswer {
  totals: { requests: number };
  websockets: { opened: number; peak: number; points: Array<{ t: string; opened: number; peak: number }> };
}

/** Resolves once the WebSocket is open; `closed` once it has closed. */
function openWebSocket(url: string, key: string): Promise<{ socket: WebSocket; closed: Promise<void> }> {
  const socket = new WebSocket(url, { headers: { 'x-api-key': key } } as never);
  const closed = new Promise<void>((resolve) => socket.addEventListener('close', () => resolve()));
  return new Promise((resolve, reject) => {
    socket.addEventListener('open', () => resolve({ socket, closed }));
    socket.addEventListener('error', () => reject(new Error('WebSocket did not open')));
  });
}

/** Asks `read` again until `done` holds of its answer (the usage recorder flushes every 100 ms), or fails after 5 s with the last answer. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (const started = Date.now(); !done(value); value = await read()) {
    if (Date.now() - started > 5000) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return value;
}

describe('usage by API and WebSockets per key, through a gateway with two APIs', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: EchoUpstream;
  let gateway: RunningGateway;
  let base: string;
  let admin: string;
  let token: string;
  let key: { id: string; key: string };
  let other: { id: string; key: string };

  before(async () => {
    upstream = await startEchoUpstream();
    const configFile = join(directory.path, 'portcullis.yaml');
    writeFileSync(configFile, [
      'apis:',
      '  - name: orders',
      '    pathPrefix: /orders',
      `    upstream: { url: "${upstream.url}" }`,
      '  - name: feeds',
      '    pathPrefix: /feeds',
      `    upstream: { url: "${upstream.url}" }`,
      '',
    ].join('\n'));
    key = await createKeyInStore(storePath, { name: 'feed-reader' });
    other = await createKeyInStore(storePath, { name: 'orders-job' });
    const config = loadConfig({
      configFile,
      cwd: directory.path,
      env: { PORTCULLIS_WEBSOCKETS_ENABLED: 'true', PORTCULLIS_USAGE_FLUSH_INTERVAL: '100ms', PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '20ms', PORTCULLIS_LOCKOUT_MAX_FAILURES: '0' },
      flags: [
        { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
        { field: 'store', value: storePath, flag: '--store' },
        { field: 'admin.listen', value: '127.0.0.1:0', flag: '--admin-listen' },
      ],
    });
    gateway = await startGateway(config, createLogger('silent'));
    base = `http://127.0.0.1:${gateway.address.port}`;
    admin = (gateway.admin as { url: string }).url;
    token = (await createAdminToken(gateway.store, 'read', 'usage reader')).token;
  });

  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('counts each API\'s requests by outcome, keyed or not, and each key\'s WebSockets opened and open at once', async () => {
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers }).then(async (response) => ({ status: response.status, body: await response.text() }));
    for (let i = 0; i < 3; i++) assert.equal((await get('/orders/items', { 'x-api-key': other.key })).status, 200);
    // A key of the right shape with a bad checksum: refused without a lookup, still the orders API's.
    const malformed = `${other.key.slice(0, -1)}${other.key.endsWith('A') ? 'B' : 'A'}`;
    for (let i = 0; i < 2; i++) assert.equal((await get('/orders/items', { 'x-api-key': malformed })).status, 401);
    assert.equal((await get('/feeds/latest')).status, 401);
    // Outside every API: counted in no API.
    assert.equal((await get('/nowhere', { 'x-api-key': other.key })).status, 404);

    const ws = `${base.replace('http', 'ws')}/feeds/live`;
    const first = await openWebSocket(ws, key.key);
    const second = await openWebSocket(ws, key.key);
    const metrics = await adminCall<string>(admin, 'GET', '/metrics', { token });
    assert.match(metrics.text, new RegExp(`portcullis_websockets_open\\{key_id="${key.id}"\\} 2\\b`));
    first.socket.close();
    await first.closed;
    const third = await openWebSocket(ws, key.key);

    const apiUsage = await eventually(
      async () => (await adminCall<{ window: string; apis: ApiFigures[] }>(admin, 'GET', '/api/usage/apis?window=1h', { token })).body,
      (body) => body.apis.find((api) => api.api === 'feeds')?.forwarded === 3 && body.apis.find((api) => api.api === 'orders')?.requests === 5,
    );
    assert.equal(apiUsage.window, '1h');
    const byName = new Map(apiUsage.apis.map((api) => [api.api, api]));
    assert.deepEqual([...byName.keys()].sort(), ['feeds', 'orders']);
    const orders = byName.get('orders') as ApiFigures;
    assert.deepEqual({ requests: orders.requests, forwarded: orders.forwarded, denied: orders.denied, aborted: orders.aborted, outcomes: orders.outcomes }, { requests: 5, forwarded: 3, denied: 2, aborted: 0, outcomes: { forwarded: 3, key_invalid: 2 } });
    const feeds = byName.get('feeds') as ApiFigures;
    // Three WebSocket upgrades forwarded (101) and one request without a key.
    assert.deepEqual({ requests: feeds.requests, forwarded: feeds.forwarded, denied: feeds.denied, outcomes: feeds.outcomes }, { requests: 4, forwarded: 3, denied: 1, outcomes: { forwarded: 3, key_missing: 1 } });
    assert.equal(orders.points.length, 60);
    assert.equal(orders.points.reduce((sum, point) => sum + point.requests, 0), 5);
    assert.equal(orders.points.reduce((sum, point) => sum + point.denied, 0), 2);

    const usage = await eventually(
      async () => (await adminCall<KeyUsageAnswer>(admin, 'GET', `/api/keys/${key.id}/usage?window=1h`, { token })).body,
      (body) => body.websockets.opened === 3,
    );
    assert.equal(usage.websockets.opened, 3);
    assert.equal(usage.websockets.peak, 2);
    assert.equal(usage.websockets.points.reduce((sum, point) => sum + point.opened, 0), 3);
    assert.equal(Math.max(...usage.websockets.points.map((point) => point.peak)), 2);
    assert.equal(usage.totals.requests, 3);
    const quiet = (await adminCall<KeyUsageAnswer>(admin, 'GET', `/api/keys/${other.id}/usage?window=1h`, { token })).body;
    assert.deepEqual({ opened: quiet.websockets.opened, peak: quiet.websockets.peak }, { opened: 0, peak: 0 });

    second.socket.close();
    third.socket.close();
    await Promise.all([second.closed, third.closed]);

    // The CLI reads the same rows from the store.
    const cli = await runCli(['usage', 'apis', '--store', storePath, '--since', '1h', '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    const printed = JSON.parse(cli.stdout) as { apis: Array<Omit<ApiFigures, 'points'>> };
    const schemas = join(PROJECT_ROOT, 'docs', 'cli-json');
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    (addFormatsPlugin as unknown as (instance: Ajv2020) => void)(ajv);
    for (const file of readdirSync(schemas).filter((name) => name.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(schemas, file), 'utf8')) as object);
    const validate = ajv.getSchema('https://portcullis.invalid/cli-json/v1/usage-apis.schema.json');
    assert.ok(validate?.(printed), ajv.errorsText(validate?.errors));
    assert.deepEqual(printed.apis.map((api) => [api.api, api.requests, api.forwarded, api.denied]), [['orders', 5, 3, 2], ['feeds', 4, 3, 1]]);
    assert.deepEqual(printed.apis[0]?.outcomes, { forwarded: 3, key_invalid: 2 });
    const text = await runCli(['usage', 'apis', '--store', storePath, '--since', '1h']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^orders\s+5\s+3\s+2\s+key_invalid 2$/m);
    assert.equal((await runCli(['usage', 'apis', '--store', storePath, '--since', 'soon'])).code, 2);
  });

  it('documents the per-API usage operation and refuses it without a token', async () => {
    const document = await adminCall<{ paths: Record<string, { get?: { operationId: string } }> }>(admin, 'GET', '/openapi.json', { token });
    assert.equal(document.body.paths['/api/usage/apis']?.get?.operationId, 'getApiUsage');
    assert.equal((await adminCall(admin, 'GET', '/api/usage/apis')).status, 401);
  });
});
