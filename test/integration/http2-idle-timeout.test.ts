import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, constants, type ClientHttp2Session } from 'node:http2';
import { join } from 'node:path';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { makeTlsFixtures, type TlsFixtures } from '../support/tls-fixtures.ts';

const IDLE_TIMEOUT_MS = 600;
/** How long the upstream takes to answer `/slow`: well past the idle timeout. */
const SLOW_ANSWER_MS = 3 * IDLE_TIMEOUT_MS;

const wait = (ms: number) => new Promise((resolveWait) => setTimeout(resolveWait, ms));

describe('HTTP/2 idle timeout (http2.idleTimeout)', () => {
  const directory = temporaryDirectory();
  let fixtures: TlsFixtures;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let key: string;
  let port: number;

  before(async () => {
    fixtures = await makeTlsFixtures(directory.path);
    upstream = await startRecordingUpstream((req, res) => {
      req.resume();
      const answer = () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('done');
      };
      if (req.url === '/slow') setTimeout(answer, SLOW_ANSWER_MS);
      else answer();
    });
    const storePath = join(directory.path, 'keys.db');
    ({ key } = await createKeyInStore(storePath));
    gateway = await startTestGateway(upstream.url, storePath, {
      env: {
        PORTCULLIS_TLS_CERT: fixtures.server.certPath,
        PORTCULLIS_TLS_KEY: fixtures.server.keyPath,
        PORTCULLIS_TLS_HTTP2: 'true',
        PORTCULLIS_HTTP2_IDLE_TIMEOUT: `${IDLE_TIMEOUT_MS}ms`,
      },
    });
    port = Number(new URL(gateway.url).port);
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  /** A client connection, with when it got GOAWAY (and its code) and when it closed, in ms since it connected. */
  async function client(): Promise<{ session: ClientHttp2Session; goAway: Promise<{ code: number; at: number }>; closed: Promise<number> }> {
    const session = connect(`https://localhost:${port}`, { ca: fixtures.ca.cert });
    session.on('error', () => {});
    const connected = performance.now();
    const goAway = new Promise<{ code: number; at: number }>((resolveGoAway) => session.once('goaway', (code: number) => resolveGoAway({ code, at: performance.now() - connected })));
    const closed = new Promise<number>((resolveClose) => session.once('close', () => resolveClose(performance.now() - connected)));
    await new Promise<void>((resolveConnect, reject) => {
      session.once('connect', () => resolveConnect());
      session.once('error', reject);
    });
    return { session, goAway, closed };
  }

  function get(session: ClientHttp2Session, path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolveAnswer, reject) => {
      const stream = session.request({ ':path': path, 'x-api-key': key });
      let status = 0;
      const chunks: Buffer[] = [];
      stream.on('response', (headers) => (status = Number(headers[':status'])));
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => resolveAnswer({ status, body: Buffer.concat(chunks).toString('utf8') }));
      stream.on('error', reject);
    });
  }

  /** `promise`, or `null` if it has not settled after `ms`. */
  function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | null> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([promise, new Promise<null>((resolveNull) => (timer = setTimeout(() => resolveNull(null), ms)))]).finally(() => clearTimeout(timer));
  }

  it('a connection without a stream for the idle timeout gets GOAWAY NO_ERROR and is closed; not before', async () => {
    const { session, goAway, closed } = await client();
    assert.equal((await get(session, '/hello')).status, 200);
    const servedAt = performance.now();
    assert.equal(await settledWithin(goAway, IDLE_TIMEOUT_MS / 2), null, 'still open halfway through the idle timeout');
    const received = await settledWithin(goAway, 5000);
    assert.ok(received !== null, 'GOAWAY came');
    assert.equal(received.code, constants.NGHTTP2_NO_ERROR);
    assert.ok(performance.now() - servedAt >= IDLE_TIMEOUT_MS - 100, `GOAWAY ${Math.round(performance.now() - servedAt)} ms after the last stream, not before the idle timeout`);
    assert.notEqual(await settledWithin(closed, 5000), null, 'the connection closed');
  });

  it('PINGs do not keep an idle connection open', async () => {
    const { session, goAway, closed } = await client();
    const pinger = setInterval(() => {
      if (!session.closed && !session.destroyed) session.ping(() => {});
    }, IDLE_TIMEOUT_MS / 4);
    try {
      const received = await settledWithin(goAway, IDLE_TIMEOUT_MS * 4);
      assert.ok(received !== null, 'GOAWAY came although the client kept pinging');
      assert.equal(received.code, constants.NGHTTP2_NO_ERROR);
      assert.notEqual(await settledWithin(closed, 5000), null);
    } finally {
      clearInterval(pinger);
    }
  });

  it('a stream slower than the idle timeout is not cut off; the connection is closed once it has been idle after it', async () => {
    const { session, goAway, closed } = await client();
    const started = performance.now();
    let goAwayDuringStream = false;
    void goAway.then(() => (goAwayDuringStream ||= performance.now() - started < SLOW_ANSWER_MS));
    const answer = await get(session, '/slow');
    const took = performance.now() - started;
    assert.deepEqual(answer, { status: 200, body: 'done' });
    assert.ok(took >= SLOW_ANSWER_MS - 50, `the stream stayed open past the idle timeout (${Math.round(took)} ms)`);
    assert.equal(goAwayDuringStream, false, 'no GOAWAY while the stream was open');
    // The stream closed just now: the connection is idle from here.
    assert.equal(await settledWithin(goAway, IDLE_TIMEOUT_MS / 2), null, 'the idle time counts from the end of the last stream');
    const received = await settledWithin(goAway, 5000);
    assert.equal(received?.code, constants.NGHTTP2_NO_ERROR);
    assert.notEqual(await settledWithin(closed, 5000), null);
  });

  it('a connection that keeps sending requests stays open past the idle timeout', async () => {
    const { session, goAway } = await client();
    for (let sent = 0; sent < 6; sent++) {
      assert.equal((await get(session, '/hello')).status, 200);
      await wait(IDLE_TIMEOUT_MS / 3);
    }
    assert.equal(await settledWithin(goAway, 0), null, `no GOAWAY over ${2 * IDLE_TIMEOUT_MS} ms of requests`);
    session.close();
  });
});
