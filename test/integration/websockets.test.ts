/**
 * WebSockets through the gateway (websockets.enabled): the upgrade request goes down the one
 * pipeline (key, route and scopes, validation of its query), then the gateway tunnels it to a
 * WebSocket echo upstream; message size and idle limits; per-key count and limit; `keys
 * revoke` closes the open WebSocket with 1008 within the revocation target; `Upgrade: h2c`
 * is still not switched to.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { checkTestPostgres, createTestSchema, type TestSchema } from '../support/postgres.ts';
import { makeTlsFixtures, type TlsFixtures } from '../support/tls-fixtures.ts';
import { runCli, spawnGateway, temporaryDirectory, type GatewayProcess } from '../support/processes.ts';
import { describeNeeding } from '../support/required-service.ts';
import { startEchoUpstream, type EchoUpstream } from '../support/websocket-echo-upstream.ts';

const API = `openapi: 3.0.3
info: { title: feeds, version: '1' }
paths:
  /feed:
    get:
      x-portcullis-scopes: [feed:read]
      parameters:
        - { name: room, in: query, required: false, schema: { type: string, maxLength: 8 } }
      responses: { '200': { description: ok } }
  /admin-feed:
    get:
      x-portcullis-scopes: [feed:admin]
      responses: { '200': { description: ok } }
  /refuse:
    get:
      responses: { '200': { description: ok } }
`;

/** Generous for a shared 2-CPU machine; the delays reached are printed as diagnostics. */
const REVOCATION_LIMIT_MS = 1000;

interface Opened {
  socket: WebSocket;
  messages: unknown[];
  closed: Promise<{ code: number; reason: string; at: number }>;
}

function openWebSocket(gateway: TestGateway | string, path: string, key: string | null): Promise<Opened> {
  const base = typeof gateway === 'string' ? gateway : gateway.url;
  const socket = new WebSocket(`${base.replace('http', 'ws')}${path}`, (key === null ? {} : { headers: { 'x-api-key': key } }) as never);
  socket.binaryType = 'arraybuffer';
  const messages: unknown[] = [];
  socket.addEventListener('message', (event) => messages.push(event.data));
  // Fails the test instead of hanging it when the gateway never closes the WebSocket.
  const closed = new Promise<{ code: number; reason: string; at: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the WebSocket was not closed within 8 s')), 8000);
    socket.addEventListener('close', (event) => {
      clearTimeout(timer);
      resolve({ code: event.code, reason: event.reason, at: performance.now() });
    });
  });
  closed.catch(() => socket.close());
  return new Promise((resolve, reject) => {
    socket.addEventListener('open', () => resolve({ socket, messages, closed }));
    socket.addEventListener('error', () => reject(new Error('WebSocket did not open')));
  });
}

async function nextMessage(opened: Opened, count: number): Promise<unknown> {
  for (let waited = 0; opened.messages.length < count; waited += 10) {
    if (waited > 5000) throw new Error('no message');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return opened.messages[count - 1];
}

/** An upgrade request on a raw socket; the whole answer until the gateway closes the connection. */
function rawUpgrade(gateway: TestGateway, path: string, headers: Record<string, string>): Promise<{ status: number; head: string; body: string }> {
  const port = gateway.gateway.address.port;
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: Upgrade', ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`)];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), head: text.slice(0, end), body: text.slice(end + 4) });
    });
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

const WEBSOCKET_HEADERS = { Upgrade: 'websocket', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version': '13' };

async function openSocketsMetric(gateway: TestGateway): Promise<string[]> {
  const text = await gateway.gateway.metrics.registry.metrics();
  return text.split('\n').filter((line) => line.startsWith('portcullis_websockets_open{'));
}

describe('WebSockets through the gateway', { timeout: 60_000 }, () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'keys.db');
  let upstream: EchoUpstream;
  let gateway: TestGateway;
  let reader: { id: string; key: string };
  before(async () => {
    const apiFile = join(directory.path, 'api.yaml');
    writeFileSync(apiFile, API);
    upstream = await startEchoUpstream();
    reader = await createKeyInStore(store, { scopes: ['feed:read'] });
    gateway = await startTestGateway(upstream.url, store, {
      env: { PORTCULLIS_OPENAPI_FILE: apiFile, PORTCULLIS_WEBSOCKETS_ENABLED: 'true', PORTCULLIS_WEBSOCKETS_MAX_MESSAGE_SIZE: '1kb', PORTCULLIS_WEBSOCKETS_MAX_PER_KEY: '2', PORTCULLIS_LIMITS_ADDRESS_RATE: '' },
    });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('echoes text and binary messages; the upstream gets the key id, never the key, and no compression offer', async () => {
    const opened = await openWebSocket(gateway, '/feed?room=lobby', reader.key);
    opened.socket.send('hello');
    assert.equal(await nextMessage(opened, 1), 'hello');
    opened.socket.send(new Uint8Array([1, 2, 3]));
    assert.deepEqual([...new Uint8Array((await nextMessage(opened, 2)) as ArrayBuffer)], [1, 2, 3]);
    const seen = upstream.upgrades.at(-1)!;
    assert.equal(seen['x-portcullis-key-id'], reader.id);
    assert.equal(seen['x-api-key'], undefined);
    assert.equal(seen['sec-websocket-extensions'], undefined);
    assert.deepEqual(await openSocketsMetric(gateway), [`portcullis_websockets_open{key_id="${reader.id}"} 1`]);
    opened.socket.close(1000, 'done');
    assert.equal((await opened.closed).code, 1000);
    for (let waited = 0; (await openSocketsMetric(gateway)).length > 0 && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(await openSocketsMetric(gateway), []);
  });

  it('refuses an upgrade without a key with 401 problem+json; no upgrade reaches the upstream', async () => {
    const before = upstream.upgrades.length;
    const answer = await rawUpgrade(gateway, '/feed', WEBSOCKET_HEADERS);
    assert.equal(answer.status, 401);
    assert.match(answer.head, /content-type: application\/problem\+json/i);
    assert.match(answer.head, /www-authenticate: Bearer/i);
    assert.equal(JSON.parse(answer.body).code, 'key_missing');
    assert.equal(upstream.upgrades.length, before);
  });

  it('refuses an upgrade on a route the key lacks the scope for (403 scope_missing), and one whose query fails validation', async () => {
    const before = upstream.upgrades.length;
    const scope = await rawUpgrade(gateway, '/admin-feed', { ...WEBSOCKET_HEADERS, 'X-API-Key': reader.key });
    assert.deepEqual([scope.status, JSON.parse(scope.body).code], [403, 'scope_missing']);
    const invalid = await rawUpgrade(gateway, '/feed?room=far-too-long-a-room', { ...WEBSOCKET_HEADERS, 'X-API-Key': reader.key });
    assert.deepEqual([invalid.status, JSON.parse(invalid.body).code], [400, 'request_invalid']);
    const unknown = await rawUpgrade(gateway, '/nowhere', { ...WEBSOCKET_HEADERS, 'X-API-Key': reader.key });
    assert.deepEqual([unknown.status, JSON.parse(unknown.body).code], [404, 'route_not_found']);
    assert.equal(upstream.upgrades.length, before);
  });

  it('refuses a malformed handshake (bad Sec-WebSocket-Key, version) with 400 before any check', async () => {
    const badKey = await rawUpgrade(gateway, '/feed', { ...WEBSOCKET_HEADERS, 'Sec-WebSocket-Key': 'short', 'X-API-Key': reader.key });
    assert.deepEqual([badKey.status, JSON.parse(badKey.body).code], [400, 'request_invalid']);
    const badVersion = await rawUpgrade(gateway, '/feed', { ...WEBSOCKET_HEADERS, 'Sec-WebSocket-Version': '8', 'X-API-Key': reader.key });
    assert.equal(badVersion.status, 400);
    assert.match(badVersion.head, /sec-websocket-version: 13/i);
  });

  it('relays the upstream\'s refusal of the upgrade as its response', async () => {
    const refused = await rawUpgrade(gateway, '/refuse', { ...WEBSOCKET_HEADERS, 'X-API-Key': reader.key });
    assert.equal(refused.status, 403);
    assert.equal(refused.body, 'refused');
  });

  it('closes with 1009 a message bigger than websockets.maxMessageSize, in either direction, without relaying it', async () => {
    const fromClient = await openWebSocket(gateway, '/feed', reader.key);
    const closesBefore = upstream.closes.length;
    fromClient.socket.send('x'.repeat(2000));
    assert.equal((await fromClient.closed).code, 1009);
    assert.deepEqual(fromClient.messages, [], 'the big message was not echoed: it never reached the upstream');
    for (let waited = 0; upstream.closes.length === closesBefore && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(upstream.closes.at(-1)?.code, 1009);

    const fromUpstream = await openWebSocket(gateway, '/feed', reader.key);
    fromUpstream.socket.send('send:1000');
    assert.equal(((await nextMessage(fromUpstream, 1)) as ArrayBuffer).byteLength, 1000, 'a message within the limit passes');
    fromUpstream.socket.send('send:1025');
    assert.equal((await fromUpstream.closed).code, 1009);
    assert.equal(fromUpstream.messages.length, 1);
  });

  it('refuses one WebSocket more than websockets.maxPerKey with 429 websocket_limit', async () => {
    const first = await openWebSocket(gateway, '/feed', reader.key);
    const second = await openWebSocket(gateway, '/feed', reader.key);
    const third = await rawUpgrade(gateway, '/feed', { ...WEBSOCKET_HEADERS, 'X-API-Key': reader.key });
    assert.deepEqual([third.status, JSON.parse(third.body).code], [429, 'websocket_limit']);
    assert.match(third.head, /retry-after: 5/i);
    first.socket.close();
    await first.closed;
    second.socket.close();
    await second.closed;
  });

  it('does not switch to h2c: the Upgrade is ignored and the request forwarded as an ordinary one', async () => {
    const answer = await rawUpgrade(gateway, '/feed', { Upgrade: 'h2c', 'HTTP2-Settings': 'AAMAAABkAAQAoAAAAAIAAAAA', 'X-API-Key': reader.key });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'plain GET /feed');
    assert.equal(upstream.requests.at(-1)?.upgrade, undefined);
  });

  it('keys revoke closes the key\'s open WebSocket with 1008 within the revocation target', async (t) => {
    const doomed = await createKeyInStore(store, { scopes: ['feed:read'] });
    const opened = await openWebSocket(gateway, '/feed', doomed.key);
    opened.socket.send('still here');
    await nextMessage(opened, 1);
    const closesBefore = upstream.closes.length;
    const cliStarted = performance.now();
    const revoked = await runCli(['keys', 'revoke', doomed.id, '--reason', 'test', '--store', store]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const cliDone = performance.now();
    const closed = await opened.closed;
    t.diagnostic(`WebSocket closed ${Math.round(closed.at - cliStarted)} ms after the CLI started, ${Math.round(closed.at - cliDone)} ms after it exited (change feed polled every 20 ms)`);
    assert.deepEqual([closed.code, closed.reason], [1008, 'key revoked']);
    assert.ok(closed.at - cliDone < REVOCATION_LIMIT_MS, `closed after ${Math.round(closed.at - cliDone)} ms`);
    for (let waited = 0; upstream.closes.length === closesBefore && waited < 2000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(upstream.closes.at(-1)?.code, 1008);
  });
  it('keys quarantine closes the key\'s WebSocket with 1008; a key that expires has its WebSocket closed at expiry', async () => {
    const suspect = await createKeyInStore(store, { scopes: ['feed:read'] });
    const held = await openWebSocket(gateway, '/feed', suspect.key);
    const quarantined = await runCli(['keys', 'quarantine', suspect.id, '--reason', 'test', '--store', store]);
    assert.equal(quarantined.code, 0, quarantined.stderr);
    assert.deepEqual(await held.closed.then(({ code, reason }) => [code, reason]), [1008, 'key quarantined']);

    const expiresAt = Date.now() + 2000;
    const shortLived = await createKeyInStore(store, { scopes: ['feed:read'], expiresAt });
    const expiring = await openWebSocket(gateway, '/feed', shortLived.key);
    const closed = await expiring.closed;
    assert.deepEqual([closed.code, closed.reason], [1008, 'key expired']);
    assert.ok(Date.now() >= expiresAt, 'not closed before the key expired');
  });
});

describe('WebSockets: idle timeout, and off by default', { timeout: 30_000 }, () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'keys.db');
  let upstream: EchoUpstream;
  let idle: TestGateway;
  let off: TestGateway;
  let key: { id: string; key: string };
  before(async () => {
    upstream = await startEchoUpstream();
    key = await createKeyInStore(store);
    idle = await startTestGateway(upstream.url, store, { env: { PORTCULLIS_WEBSOCKETS_ENABLED: 'true', PORTCULLIS_WEBSOCKETS_IDLE_TIMEOUT: '300ms' } });
    off = await startTestGateway(upstream.url, store);
  });
  after(async () => {
    await idle?.stop();
    await off?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('closes a WebSocket with no frame either way for websockets.idleTimeout (1001)', async () => {
    const opened = await openWebSocket(idle, '/ticks', key.key);
    const openedAt = performance.now();
    const closed = await opened.closed;
    assert.deepEqual([closed.code, closed.reason], [1001, 'idle timeout']);
    assert.ok(closed.at - openedAt >= 290, `closed after ${Math.round(closed.at - openedAt)} ms`);
  });

  it('stopping the gateway closes its WebSockets with 1001 first, so the drain does not wait for them', async () => {
    const stopping = await startTestGateway(upstream.url, store, { env: { PORTCULLIS_WEBSOCKETS_ENABLED: 'true' } });
    const opened = await openWebSocket(stopping, '/ticks', key.key);
    const startedAt = performance.now();
    await stopping.stop();
    const closed = await opened.closed;
    assert.deepEqual([closed.code, closed.reason], [1001, 'gateway shutting down']);
    // server.drainTimeout is 30 s: a drain that waited for the WebSocket would take that long.
    assert.ok(performance.now() - startedAt < 10_000, `stopped after ${Math.round(performance.now() - startedAt)} ms`);
  });

  it('without websockets.enabled, an upgrade is forwarded as a plain GET: no 101, no Upgrade upstream', async () => {
    const before = upstream.upgrades.length;
    const answer = await rawUpgrade(off, '/feed', { ...WEBSOCKET_HEADERS, 'X-API-Key': key.key, Connection: 'close' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body, 'plain GET /feed');
    assert.equal(upstream.upgrades.length, before);
  });
});

describe('WebSockets to a TLS upstream', { timeout: 30_000 }, () => {
  const directory = temporaryDirectory();
  let fixtures: TlsFixtures;
  let upstream: EchoUpstream;
  const gateways: TestGateway[] = [];
  before(async () => {
    fixtures = await makeTlsFixtures(directory.path);
    upstream = await startEchoUpstream({ cert: fixtures.server.cert, key: fixtures.server.key, ca: fixtures.ca.cert });
  });
  after(async () => {
    for (const gateway of gateways) await gateway.stop();
    await upstream?.close();
    directory.remove();
  });

  async function gatewayWith(env: Record<string, string>): Promise<{ gateway: TestGateway; key: string }> {
    const store = join(directory.path, `g${gateways.length}.db`);
    const { key } = await createKeyInStore(store);
    const gateway = await startTestGateway(upstream.url, store, { env: { PORTCULLIS_WEBSOCKETS_ENABLED: 'true', ...env } });
    gateways.push(gateway);
    return { gateway, key };
  }

  it('opens the upgrade with the API\'s TLS settings: its CA verifies the upstream, its client certificate is presented', async () => {
    const { gateway, key } = await gatewayWith({ PORTCULLIS_UPSTREAM_TLS_CA: fixtures.ca.certPath, PORTCULLIS_UPSTREAM_TLS_CERT: fixtures.clientA.certPath, PORTCULLIS_UPSTREAM_TLS_KEY: fixtures.clientA.keyPath });
    const opened = await openWebSocket(gateway, '/secure', key);
    opened.socket.send('over TLS');
    assert.equal(await nextMessage(opened, 1), 'over TLS');
    assert.equal(upstream.clientNames.at(-1), 'client-a');
    opened.socket.close();
    await opened.closed;
  });

  it('refuses with 502 when the upstream\'s certificate is not trusted (no upstream CA configured)', async () => {
    const { gateway, key } = await gatewayWith({});
    const before = upstream.upgrades.length;
    const answer = await rawUpgrade(gateway, '/secure', { ...WEBSOCKET_HEADERS, 'X-API-Key': key });
    assert.deepEqual([answer.status, JSON.parse(answer.body).code], [502, 'upstream_unavailable']);
    assert.equal(upstream.upgrades.length, before);
  });
});

describeNeeding(await checkTestPostgres(), 'WebSockets on three gateway nodes sharing PostgreSQL', () => {
  let schema: TestSchema;
  let upstream: EchoUpstream;
  const nodes: GatewayProcess[] = [];
  before(async () => {
    schema = await createTestSchema();
    upstream = await startEchoUpstream();
    // A slow poll, so that what brings the revocation to the nodes in time is LISTEN/NOTIFY.
    for (let node = 0; node < 3; node++) nodes.push(await spawnGateway(['--upstream', upstream.url, '--store', schema.url], { env: { PORTCULLIS_WEBSOCKETS_ENABLED: 'true', PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '2s' } }));
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop()));
    await upstream?.close();
    await schema?.drop();
  });

  it('keys revoke closes the key\'s WebSocket on every node with 1008 within the revocation target', { timeout: 60_000 }, async (t) => {
    const { id, key } = await createKeyInStore(schema.url);
    const opened = await Promise.all(nodes.map((node) => openWebSocket(node.url, '/live', key)));
    for (const [index, each] of opened.entries()) {
      each.socket.send(`node ${index}`);
      assert.equal(await nextMessage(each, 1), `node ${index}`);
    }
    const revoked = await runCli(['keys', 'revoke', id, '--reason', 'test', '--store', schema.url]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const cliDone = performance.now();
    const closed = await Promise.all(opened.map((each) => each.closed));
    t.diagnostic(`closed on 3 nodes ${closed.map((each) => `${Math.round(each.at - cliDone)} ms`).join(', ')} after the CLI exited (poll every 2 s: LISTEN/NOTIFY)`);
    for (const each of closed) {
      assert.deepEqual([each.code, each.reason], [1008, 'key revoked']);
      assert.ok(each.at - cliDone < REVOCATION_LIMIT_MS, `closed after ${Math.round(each.at - cliDone)} ms`);
    }
  });
});
