import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, constants, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { startRecordingUpstream, type RecordedRequest, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { runTool } from '../support/tools.ts';
import { makeTlsFixtures, type TlsFixtures } from '../support/tls-fixtures.ts';
import { itNeeding, requireTools } from '../support/required-service.ts';
import { connectRawHttp2, FLAG, FRAME, getRequestBlock, literalHeader, type RawHttp2Connection } from '../support/raw-http2.ts';

const ORDERS_API = resolve(import.meta.dirname, '..', 'fixtures', 'openapi', 'orders-api.yaml');
const VALID_ORDER = JSON.stringify({ customer: { email: 'ada@example.com', name: 'Ada', address: { street: 'Main St 1', country: 'GB' } }, items: [{ sku: 'ABC-1234', quantity: 2 }], shipping: 'express', note: null });
const INVALID_ORDER = JSON.stringify({ customer: { email: 'ada@example.com' }, items: [{ sku: 'ABC-1234', quantity: 'two' }], shipping: 'teleport' });

interface Answer {
  status: number;
  contentType: string | undefined;
  code: string | null;
  body: string;
}

function answerOf(status: number, contentType: string | undefined, body: string): Answer {
  const code = contentType === 'application/problem+json' ? (JSON.parse(body) as { code: string }).code : null;
  return { status, contentType, code, body };
}

/** Headers the upstream saw that differ per request whatever the protocol. */
const PER_REQUEST = new Set(['x-request-id', 'content-length']);

function comparableHeaders(recorded: RecordedRequest): Record<string, string | string[] | undefined> {
  return Object.fromEntries(Object.entries(recorded.headers).filter(([name]) => !PER_REQUEST.has(name)));
}

describe('HTTP/2 on the TLS listener (tls.http2)', () => {
  const directory = temporaryDirectory();
  let fixtures: TlsFixtures;
  let upstream: RecordingUpstream;
  const bodies: string[] = [];
  let gateway: TestGateway;
  let key: string;
  let port: number;
  let session: ClientHttp2Session;

  before(async () => {
    fixtures = await makeTlsFixtures(directory.path);
    upstream = await startRecordingUpstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        bodies.push(Buffer.concat(chunks).toString('utf8'));
        res.writeHead(200, { 'content-type': 'application/json', 'x-upstream': 'yes' });
        res.end(JSON.stringify({ ok: true, path: req.url }));
      });
    });
    const storePath = join(directory.path, 'keys.db');
    ({ key } = await createKeyInStore(storePath, { scopes: ['*'] }));
    gateway = await startTestGateway(upstream.url, storePath, {
      env: {
        PORTCULLIS_TLS_CERT: fixtures.server.certPath,
        PORTCULLIS_TLS_KEY: fixtures.server.keyPath,
        PORTCULLIS_TLS_HTTP2: 'true',
        PORTCULLIS_OPENAPI_FILE: ORDERS_API,
        PORTCULLIS_HTTP2_MAX_RESETS: '20',
        PORTCULLIS_HTTP2_MAX_PINGS: '5',
        PORTCULLIS_HTTP2_MAX_SETTINGS: '5',
        PORTCULLIS_HTTP2_MAX_CONCURRENT_STREAMS: '10',
        PORTCULLIS_HTTP2_MAX_REJECTED_STREAMS: '5',
      },
    });
    port = Number(new URL(gateway.url).port);
    session = connect(`https://localhost:${port}`, { ca: fixtures.ca.cert });
  });
  after(async () => {
    session.close();
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  function viaHttp2(method: string, path: string, headers: OutgoingHttpHeaders = {}, body?: string, on = session): Promise<Answer> {
    return new Promise((resolvePromise, reject) => {
      const stream = on.request({ ':method': method, ':path': path, ...headers });
      let status = 0;
      let contentType: string | undefined;
      const chunks: Buffer[] = [];
      stream.on('response', (responseHeaders) => {
        status = Number(responseHeaders[':status']);
        contentType = responseHeaders['content-type'] as string | undefined;
      });
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolvePromise(answerOf(status, contentType, Buffer.concat(chunks).toString('utf8'))));
      stream.on('error', reject);
      stream.end(body);
    });
  }

  function viaHttp1(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
    return new Promise((resolvePromise, reject) => {
      const outgoing = httpsRequest({ host: '127.0.0.1', port, servername: 'localhost', ca: fixtures.ca.cert, method, path, headers: { host: `localhost:${port}`, ...headers }, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolvePromise(answerOf(response.statusCode ?? 0, response.headers['content-type'], Buffer.concat(chunks).toString('utf8'))));
      });
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  /** The same request over HTTP/1.1 and HTTP/2: the answers, and what the upstream saw for each (null: nothing). */
  async function both(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
    const before1 = upstream.requests.length;
    const http1 = await viaHttp1(method, path, headers, body);
    const seen1 = upstream.requests.length > before1 ? (upstream.requests.at(-1) as RecordedRequest) : null;
    const before2 = upstream.requests.length;
    const http2 = await viaHttp2(method, path, headers, body);
    const seen2 = upstream.requests.length > before2 ? (upstream.requests.at(-1) as RecordedRequest) : null;
    return { http1, http2, seen1, seen2 };
  }

  it('a good key: 200 from the upstream on both protocols, which sees the same headers (no pseudo-headers, key stripped)', async () => {
    const { http1, http2, seen1, seen2 } = await both('GET', '/orders?status=open', { 'x-api-key': key, 'x-custom': 'kept' });
    assert.equal(http1.status, 200, http1.body);
    assert.deepEqual(http2, http1);
    assert.ok(seen1 !== null && seen2 !== null);
    assert.equal(seen2.url, '/orders?status=open');
    assert.deepEqual(comparableHeaders(seen2), comparableHeaders(seen1));
    assert.equal(seen2.headers['x-forwarded-host'], `localhost:${port}`, ':authority is the Host the checks and the upstream see');
    assert.equal(seen2.headers['x-custom'], 'kept');
    assert.equal(seen2.headers['x-api-key'], undefined, 'the key is stripped');
    assert.ok(seen2.rawHeaders.every((name, index) => index % 2 === 1 || !name.startsWith(':')), `no pseudo-header upstream: ${seen2.rawHeaders.join(' ')}`);
  });

  it('no key: the same 401 problem+json, and nothing reaches the upstream', async () => {
    const { http1, http2, seen1, seen2 } = await both('GET', '/orders');
    assert.equal(http1.code, 'key_missing');
    assert.deepEqual({ ...http2, body: '' }, { ...http1, body: '' });
    assert.equal(seen1, null);
    assert.equal(seen2, null);
  });

  it('path traversal and encoded paths: the same refusal on both protocols', async () => {
    for (const path of ['/orders/%2e%2e/admin', '/orders/..%2F..%2Fetc/passwd', '/orders/../health', '/orders%00']) {
      const { http1, http2, seen2 } = await both('GET', path, { 'x-api-key': key });
      assert.ok(http1.status >= 400 && http1.code !== null, `${path}: HTTP/1.1 refuses (${http1.status})`);
      assert.equal(http2.status, http1.status, path);
      assert.equal(http2.code, http1.code, path);
      assert.equal(seen2, null, `${path}: nothing reaches the upstream over HTTP/2`);
    }
  });

  it('a body validated against the OpenAPI document: the same 400 for an invalid one, the exact bytes upstream for a valid one', async () => {
    const json = { 'x-api-key': key, 'content-type': 'application/json' };
    const invalid = await both('POST', '/orders', json, INVALID_ORDER);
    assert.equal(invalid.http1.code, 'request_invalid');
    assert.deepEqual({ ...invalid.http2, body: '' }, { ...invalid.http1, body: '' });
    assert.equal(JSON.parse(invalid.http2.body).errors.length, JSON.parse(invalid.http1.body).errors.length);
    assert.equal(invalid.seen2, null);
    const valid = await both('POST', '/orders', json, VALID_ORDER);
    assert.equal(valid.http1.status, 200, valid.http1.body);
    assert.deepEqual(valid.http2, valid.http1);
    assert.equal(bodies.at(-1), VALID_ORDER);
    assert.equal(valid.seen2?.headers['content-length'], String(Buffer.byteLength(VALID_ORDER)));
  });

  it('refuses :authority with a different Host, and joins split cookies into one line', async () => {
    const before = upstream.requests.length;
    const confused = await viaHttp2('GET', '/orders', { ':authority': `localhost:${port}`, host: 'internal.example', 'x-api-key': key });
    assert.equal(confused.status, 400);
    assert.equal(confused.code, 'request_invalid');
    assert.equal(upstream.requests.length, before);
    const cookies = await viaHttp2('GET', '/orders', { 'x-api-key': key, cookie: ['a=1', 'b=2'] });
    assert.equal(cookies.status, 200, cookies.body);
    const seen = upstream.requests.at(-1) as RecordedRequest;
    assert.deepEqual(seen.rawHeaders.filter((_value, index) => seen.rawHeaders[index - 1]?.toLowerCase() === 'cookie'), ['a=1; b=2']);
  });

  it('a refused request whose body is still arriving ends its stream alone: the connection serves the next request', async () => {
    const stream = session.request({ ':method': 'POST', ':path': '/orders', 'content-type': 'application/json' });
    const answered = new Promise<number>((resolveStatus, reject) => {
      stream.on('response', (headers) => resolveStatus(Number(headers[':status'])));
      stream.on('error', reject);
    });
    stream.write('{"items": [');
    assert.equal(await answered, 401);
    stream.resume();
    stream.on('error', () => {});
    const next = await viaHttp2('GET', '/orders', { 'x-api-key': key });
    assert.equal(next.status, 200, 'the same connection serves the next request');
  });

  itNeeding(requireTools('curl'), 'curl --http2 and curl --http1.1 on one port get the same answers', async () => {
    const curl = async (flag: string, extra: string[], path: string) => {
      const result = await runTool('curl', ['-sS', '--path-as-is', flag, '--cacert', fixtures.ca.certPath, '-o', '-', '-w', '\n%{http_version} %{http_code}', ...extra, `https://localhost:${port}${path}`]);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.split('\n');
      const [version, status] = (lines.pop() as string).split(' ');
      return { version, status, body: lines.join('\n') };
    };
    const cases: Array<[string[], string, string]> = [
      [['-H', `x-api-key: ${key}`], '/orders?status=open', '200'],
      [[], '/orders', '401'],
      [['-H', `x-api-key: ${key}`], '/orders/%2e%2e/admin', ''],
      [['-H', `x-api-key: ${key}`, '-H', 'content-type: application/json', '--data-binary', INVALID_ORDER], '/orders', '400'],
      [['-H', `x-api-key: ${key}`, '-H', 'content-type: application/json', '--data-binary', VALID_ORDER], '/orders', '200'],
    ];
    for (const [extra, path, expected] of cases) {
      const over2 = await curl('--http2', extra, path);
      const over1 = await curl('--http1.1', extra, path);
      assert.equal(over2.version, '2', `${path}: curl negotiated h2`);
      assert.equal(over1.version, '1.1');
      if (expected !== '') assert.equal(over1.status, expected, `${path}: ${over1.body}`);
      assert.equal(over2.status, over1.status, path);
      const codeOf = (body: string) => (body.startsWith('{') ? (JSON.parse(body) as { code?: string }).code : undefined);
      assert.equal(codeOf(over2.body), codeOf(over1.body), path);
    }
  });

  /** Resolves when `closed` settles, or fails after `ms`: a flood must end the connection promptly. */
  async function within<T>(closed: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`${what}: the gateway did not close the connection within ${ms} ms`)), ms)));
    try {
      return await Promise.race([closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Another client, on its own connection, is still served. */
  async function othersStillServed(): Promise<void> {
    const answer = await viaHttp2('GET', '/orders', { 'x-api-key': key });
    assert.equal(answer.status, 200, answer.body);
    assert.equal((await viaHttp1('GET', '/orders', { 'x-api-key': key })).status, 200);
  }

  /** A raw connection whose SETTINGS exchange is done (the server's limits then apply). */
  async function settledRawConnection(): Promise<RawHttp2Connection> {
    const raw = await connectRawHttp2(port, fixtures.ca.cert);
    for (let waited = 0; !raw.frames.some((each) => each.type === FRAME.SETTINGS && (each.flags & FLAG.ACK) === 0); waited += 10) {
      if (waited > 2000) throw new Error('no SETTINGS from the server');
      await new Promise((wait) => setTimeout(wait, 10));
    }
    return raw;
  }

  const ENHANCE_YOUR_CALM = constants.NGHTTP2_ENHANCE_YOUR_CALM;
  const authority = () => `localhost:${port}`;

  it('rapid reset (CVE-2023-44487): a client resetting more streams than http2.maxResets gets GOAWAY ENHANCE_YOUR_CALM; others are served', async () => {
    const raw = await settledRawConnection();
    const block = Buffer.concat([getRequestBlock(authority(), '/orders'), literalHeader('x-api-key', key)]);
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(constants.NGHTTP2_CANCEL);
    // In batches under http2.maxConcurrentStreams, so that the streams are reset, not refused
    // (refused streams are the next test's defence).
    for (let stream = 1; stream < 2 * 60 && !raw.socket.destroyed; stream += 2) {
      raw.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, stream, block);
      raw.send(FRAME.RST_STREAM, 0, stream, cancel);
      if (stream % 8 === 7) await new Promise((wait) => setTimeout(wait, 20));
    }
    await within(raw.closed, 5000, 'rapid reset');
    assert.equal(raw.goAwayCode(), ENHANCE_YOUR_CALM);
    await othersStillServed();
  });

  it('a client within http2.maxResets keeps its connection', async () => {
    const raw = await settledRawConnection();
    const block = Buffer.concat([getRequestBlock(authority(), '/orders'), literalHeader('x-api-key', key)]);
    const cancel = Buffer.alloc(4);
    cancel.writeUInt32BE(constants.NGHTTP2_CANCEL);
    for (let stream = 1; stream < 2 * 10; stream += 2) {
      raw.send(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, stream, block);
      raw.send(FRAME.RST_STREAM, 0, stream, cancel);
    }
    await new Promise((wait) => setTimeout(wait, 300));
    assert.equal(raw.goAwayCode(), null);
    assert.equal(raw.socket.destroyed, false);
    raw.socket.destroy();
  });

  for (const [flood, send] of [
    ['PING', (client: ClientHttp2Session, index: number) => client.ping(Buffer.alloc(8, index), () => {})],
    ['SETTINGS', (client: ClientHttp2Session, index: number) => client.settings({ initialWindowSize: 65_535 + index }, () => {})],
  ] as const) {
    it(`${flood} flood (Node's client): over http2.max${flood === 'PING' ? 'Pings' : 'Settings'} the connection gets GOAWAY ENHANCE_YOUR_CALM; others are served`, async () => {
      const flooder = connect(`https://localhost:${port}`, { ca: fixtures.ca.cert, maxOutstandingPings: 100, ...{ maxOutstandingSettings: 100 } });
      flooder.on('error', () => {});
      const goAway = new Promise<number>((resolveCode) => flooder.once('goaway', (code: number) => resolveCode(code)));
      const closed = new Promise<void>((resolveClose) => flooder.once('close', () => resolveClose()));
      await new Promise<void>((resolveConnect) => flooder.once('connect', () => resolveConnect()));
      // `maxOutstandingSettings` (a client option missing from @types/node) lets the client send SETTINGS without waiting for ACKs.
      for (let index = 0; index < 20 && !flooder.destroyed; index++) {
        try {
          send(flooder, index);
        } catch {
          await new Promise((wait) => setTimeout(wait, 10));
        }
      }
      assert.equal(await within(goAway, 5000, flood), ENHANCE_YOUR_CALM);
      await within(closed, 5000, flood);
      await othersStillServed();
    });
  }

  it('too many streams (raw frames): streams over http2.maxConcurrentStreams are refused and the connection closed; others are served', async () => {
    const raw = await settledRawConnection();
    await new Promise((wait) => setTimeout(wait, 50));
    // Streams that stay open: HEADERS without END_STREAM (a body that never comes).
    const block = getRequestBlock(authority(), '/orders');
    for (let stream = 1; stream < 2 * 60; stream += 2) if (!raw.send(FRAME.HEADERS, FLAG.END_HEADERS, stream, block)) break;
    await within(raw.closed, 5000, 'too many streams');
    const refused = raw.frames.filter((each) => each.type === FRAME.RST_STREAM && each.payload.readUInt32BE(0) === constants.NGHTTP2_REFUSED_STREAM).length;
    const goAway = raw.goAwayCode();
    assert.ok(refused > 0 || (goAway !== null && goAway !== constants.NGHTTP2_NO_ERROR), `refused ${refused} streams, GOAWAY ${String(goAway)}`);
    await othersStillServed();
  });

  it('CONTINUATION flood (raw frames): a header block that never ends is cut off and the connection closed; others are served', async () => {
    const raw = await settledRawConnection();
    raw.send(FRAME.HEADERS, FLAG.END_STREAM, 1, getRequestBlock(authority(), '/orders'));
    const padding = literalHeader('x-pad', 'a'.repeat(100));
    for (let index = 0; index < 2000; index++) if (!raw.send(FRAME.CONTINUATION, 0, 1, padding)) break;
    await within(raw.closed, 5000, 'CONTINUATION flood');
    const goAway = raw.goAwayCode();
    assert.ok(goAway !== null && goAway !== constants.NGHTTP2_NO_ERROR, `GOAWAY with an error code, got ${String(goAway)}`);
    await othersStillServed();
  });
});

describe('HTTP/2 with client certificates: the checks read the connection through the request', () => {
  const directory = temporaryDirectory();
  let fixtures: TlsFixtures;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let bound: string;
  let port: number;

  before(async () => {
    fixtures = await makeTlsFixtures(directory.path);
    upstream = await startRecordingUpstream();
    const storePath = join(directory.path, 'keys.db');
    ({ key: bound } = await createKeyInStore(storePath, { certFingerprint: fixtures.clientA.fingerprint }));
    await createKeyInStore(storePath, { name: 'device-a', certFingerprint: fixtures.clientA.fingerprint });
    gateway = await startTestGateway(upstream.url, storePath, {
      env: {
        PORTCULLIS_TLS_CERT: fixtures.server.certPath,
        PORTCULLIS_TLS_KEY: fixtures.server.keyPath,
        PORTCULLIS_TLS_HTTP2: 'true',
        PORTCULLIS_TLS_CLIENT_CA: fixtures.ca.certPath,
        PORTCULLIS_TLS_CLIENT_AUTH: 'optional',
        PORTCULLIS_TLS_CERTIFICATE_IDENTITY: 'true',
      },
    });
    port = Number(new URL(gateway.url).port);
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  async function get(client: { cert: string; key: string } | null, headers: OutgoingHttpHeaders = {}): Promise<{ status: number; code: string | null }> {
    const session = connect(`https://localhost:${port}`, { ca: fixtures.ca.cert, ...(client ?? {}) });
    try {
      return await new Promise((resolvePromise, reject) => {
        const stream = session.request({ ':path': '/hello', ...headers });
        let status = 0;
        const chunks: Buffer[] = [];
        stream.on('response', (response) => (status = Number(response[':status'])));
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolvePromise({ status, code: status >= 400 ? (JSON.parse(text) as { code: string }).code : null });
        });
        stream.on('error', reject);
      });
    } finally {
      session.close();
    }
  }

  it('a certificate a key is bound to authenticates over HTTP/2 (tls.certificateIdentity)', async () => {
    assert.deepEqual(await get({ cert: fixtures.clientA.cert, key: fixtures.clientA.key }), { status: 200, code: null });
    assert.deepEqual(await get(null), { status: 401, code: 'key_missing' });
    assert.deepEqual(await get({ cert: fixtures.clientB.cert, key: fixtures.clientB.key }), { status: 401, code: 'key_missing' });
  });

  it('a key bound to a certificate is refused over HTTP/2 on a connection with another certificate', async () => {
    assert.equal((await get({ cert: fixtures.clientA.cert, key: fixtures.clientA.key }, { 'x-api-key': bound })).status, 200);
    assert.deepEqual(await get({ cert: fixtures.clientB.cert, key: fixtures.clientB.key }, { 'x-api-key': bound }), { status: 401, code: 'key_certificate_mismatch' });
  });
});

describe('HTTP/2: a stream the client resets aborts its upstream request', () => {
  const directory = temporaryDirectory();
  let fixtures: TlsFixtures;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let key: string;
  const upstreamClosed: Array<Promise<void>> = [];

  before(async () => {
    fixtures = await makeTlsFixtures(directory.path);
    // Holds every request without answering, and notes when the gateway gives up on it.
    upstream = await startRecordingUpstream((req) => upstreamClosed.push(new Promise((resolveClose) => req.socket.once('close', () => resolveClose()))));
    const storePath = join(directory.path, 'keys.db');
    ({ key } = await createKeyInStore(storePath));
    gateway = await startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_TLS_CERT: fixtures.server.certPath, PORTCULLIS_TLS_KEY: fixtures.server.keyPath, PORTCULLIS_TLS_HTTP2: 'true' } });
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('the upstream connection of a reset stream is closed, and the gateway stops cleanly', async () => {
    const session = connect(`https://localhost:${new URL(gateway.url).port}`, { ca: fixtures.ca.cert });
    session.on('error', () => {});
    const stream = session.request({ ':path': '/hold', 'x-api-key': key });
    stream.on('error', () => {});
    for (let waited = 0; upstreamClosed.length === 0; waited += 10) {
      assert.ok(waited < 5000, 'the request reached the upstream');
      await new Promise((wait) => setTimeout(wait, 10));
    }
    stream.close(constants.NGHTTP2_CANCEL);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([upstreamClosed[0], new Promise((_resolve, reject) => (timer = setTimeout(() => reject(new Error('the upstream request was not aborted')), 3000)))]);
    clearTimeout(timer);
    session.close();
  });
});

