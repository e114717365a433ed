import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';

/**
 * What a request may cost the gateway before it is let through: bodies held for validation stay
 * within one budget for the whole process (`requests.maxBufferedBytes`), a refused request's
 * body is not read, and `Expect: 100-continue` is answered only once the checks have passed.
 * The gateway runs in this process, so its memory is this process's.
 */

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const MB = 1024 * 1024;
const BUDGET = 8 * MB;
/** What the process may grow by, besides the budget, while the budget is full: buffers of refused connections, bookkeeping. */
const MARGIN = 16 * MB;
const SLOW_CLIENTS = 48;

const API = `
openapi: 3.1.0
info: { title: Items, version: 1.0.0 }
paths:
  /items:
    post:
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object, properties: { pad: { type: string } } }
      responses: { '200': { description: ok } }
`;

/** A JSON body of exactly `size` bytes. */
function paddedBody(size: number): Buffer {
  return Buffer.from(`{"pad":"${'x'.repeat(size - 10)}"}`);
}

/** What a raw client saw of one exchange. */
interface Seen {
  text: string;
  /** Body bytes handed to the socket before the connection closed, or all of them. */
  written: number;
  /** Whether the connection was closed by the gateway before the whole body was sent. */
  cutShort: boolean;
}

const FILLER = Buffer.alloc(64 * 1024, 0x20);

/**
 * A client on a raw socket: sends `head` and then `body` (a buffer, or that many spaces), all
 * at once or (with `holdBack`) all but its last `holdBack` bytes, which `finish()` sends. With
 * `waitForContinue` the body waits for `100 Continue`. `sent` resolves once the first part has
 * left the client (or the connection closed), `closed` when the connection closes.
 */
function rawClient(port: number, head: string, body: Buffer | number, options: { holdBack?: number; waitForContinue?: boolean } = {}) {
  const socket: Socket = connect(port, '127.0.0.1');
  const seen: Seen = { text: '', written: 0, cutShort: false };
  const size = typeof body === 'number' ? body : body.length;
  const firstPartSize = size - (options.holdBack ?? 0);
  let sending = options.waitForContinue !== true;
  let markSent: () => void = () => {};
  const sent = new Promise<void>((resolve) => (markSent = resolve));
  /** Bytes `from`…`to` of the body, 64 KiB at a time, each a view of one buffer: the client holds no copies. */
  const sendChunks = (from: number, to: number): void => {
    for (let offset = from; offset < to && !socket.destroyed; offset += FILLER.length) {
      const length = Math.min(FILLER.length, to - offset);
      const piece = typeof body === 'number' ? FILLER.subarray(0, length) : body.subarray(offset, offset + length);
      const last = offset + length >= to;
      socket.write(piece, (error) => {
        if (!error) seen.written += length;
        if (last && to === firstPartSize) markSent();
      });
    }
  };
  socket.on('connect', () => {
    socket.write(head);
    if (sending) sendChunks(0, firstPartSize);
  });
  socket.setEncoding('latin1');
  socket.on('data', (text: string) => {
    seen.text += text;
    if (!sending && seen.text.includes('100 Continue')) {
      sending = true;
      sendChunks(0, firstPartSize);
    }
  });
  const markCut = (): void => {
    if (seen.written < size) seen.cutShort = true;
  };
  socket.on('end', () => {
    markCut();
    socket.end();
  });
  socket.on('error', markCut);
  const closed = new Promise<Seen>((resolve) => socket.once('close', () => {
    markSent();
    resolve(seen);
  }));
  return {
    seen,
    sent,
    closed,
    /** Sends the bytes held back. */
    finish: () => sendChunks(firstPartSize, size),
    close: () => socket.destroy(),
  };
}

function statusOf(text: string): number {
  const finals = [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1])).filter((status) => status >= 200);
  return finals[0] ?? 0;
}

function heapAndBuffers(): number {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

describe('request bounds: memory held for validation, refused bodies, 100-continue', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let port: number;
  let key: string;

  before(async () => {
    upstream = await startRecordingUpstream();
    const apiFile = join(directory.path, 'api.yaml');
    writeFileSync(apiFile, API);
    gateway = await startTestGateway(upstream.url, join(directory.path, 'keys.db'), {
      env: {
        PORTCULLIS_OPENAPI_FILE: apiFile,
        PORTCULLIS_REQUESTS_MAX_JSON_BODY_SIZE: '1mb',
        PORTCULLIS_REQUESTS_MAX_BUFFERED_BYTES: String(BUDGET),
        PORTCULLIS_LIMITS_ADDRESS_RATE: '',
        PORTCULLIS_LOCKOUT_MAX_FAILURES: '0',
      },
    });
    port = Number(new URL(gateway.url).port);
    key = (await createKeyInStore(join(directory.path, 'keys.db'))).key;
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('holds at most requests.maxBufferedBytes for many slow validated bodies at once, refusing the excess with 503 validation_busy', async () => {
    const body = paddedBody(MB);
    const head = `POST /items HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const before = heapAndBuffers();
    const clients = Array.from({ length: SLOW_CLIENTS }, () => rawClient(port, head, body, { holdBack: 16 }));
    // Every client has sent all it will until told otherwise, and the refused ones are answered.
    await Promise.all(clients.map((client) => client.sent));
    for (let waited = 0; waited < 5000 && clients.filter((client) => statusOf(client.seen.text) !== 0).length < SLOW_CLIENTS - BUDGET / MB; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const refused = clients.filter((client) => statusOf(client.seen.text) === 503);
    const waiting = clients.filter((client) => client.seen.text === '');
    const grown = heapAndBuffers() - before;

    assert.equal(waiting.length, BUDGET / MB, 'as many bodies as the budget holds are being read');
    assert.equal(refused.length, SLOW_CLIENTS - BUDGET / MB, 'every other one is refused at once');
    for (const client of refused) {
      assert.match(client.seen.text, /"code":"validation_busy"/);
      assert.match(client.seen.text, /\r\nretry-after: 1\r\n/i);
      assert.match(client.seen.text, /\r\nconnection: close\r\n/i);
    }
    assert.ok(grown < BUDGET + MARGIN, `the process grew by ${(grown / MB).toFixed(1)} MB while ${SLOW_CLIENTS} clients sent 1 MB bodies (budget ${BUDGET / MB} MB + margin ${MARGIN / MB} MB)`);

    // The admitted bodies complete, are validated and forwarded; then the budget is free again.
    for (const client of waiting) client.finish();
    await Promise.all(waiting.map(async (client) => {
      while (statusOf(client.seen.text) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }));
    assert.deepEqual(waiting.map((client) => statusOf(client.seen.text)), waiting.map(() => 200));
    for (const client of clients) client.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const again = rawClient(port, head.replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nConnection: close\r\n'), body);
    assert.equal(statusOf((await again.closed).text), 200, 'the shares of finished requests were given back');
  });

  const refusals: Array<{ name: string; head: string; status: number; code: string }> = [
    { name: 'no key', head: 'POST /items HTTP/1.1\r\nHost: x\r\nContent-Type: application/json', status: 401, code: 'key_missing' },
    { name: 'an unknown route', head: 'POST /other HTTP/1.1\r\nHost: x', status: 404, code: 'route_not_found' },
    { name: 'a method the route lacks', head: 'PUT /items HTTP/1.1\r\nHost: x', status: 405, code: 'method_not_allowed' },
    { name: 'a key that is not one', head: 'POST /items HTTP/1.1\r\nHost: x\r\nX-API-Key: pcl_nothing\r\nContent-Type: application/json', status: 401, code: 'key_invalid' },
  ];
  for (const { name, head, status, code } of refusals) {
    it(`answers a refused request with a large body (${name}) and closes the connection without reading the body`, async () => {
      const before = upstream.requests.length;
      const client = rawClient(port, `${head}\r\nContent-Length: ${200 * MB}\r\n\r\n`, 200 * MB);
      const seen = await client.closed;
      assert.equal(statusOf(seen.text), status, seen.text.slice(0, 300));
      assert.match(seen.text, new RegExp(`"code":"${code}"`));
      assert.match(seen.text, /\r\nconnection: close\r\n/i);
      assert.ok(seen.cutShort, 'the client saw the connection close before it finished sending');
      assert.ok(seen.written < 32 * MB, `the client could hand over ${(seen.written / MB).toFixed(1)} MB of 200 MB`);
      assert.equal(upstream.requests.length, before);
    });
  }

  it('answers Expect: 100-continue without a key with 401 and no 100, and closes the connection', async () => {
    const body = paddedBody(1000);
    const client = rawClient(port, `POST /items HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body, { waitForContinue: true });
    const seen = await client.closed;
    assert.match(seen.text, /^HTTP\/1\.1 401 /);
    assert.doesNotMatch(seen.text, /100 Continue/);
    assert.equal(seen.written, 0, 'the body was never invited');
    assert.ok(seen.cutShort);
  });

  it('sends 100 Continue to a keyed client once the checks pass, then reads and forwards the body', async () => {
    const body = paddedBody(1000);
    const client = rawClient(port, `POST /items HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-API-Key: ${key}\r\nExpect: 100-continue\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, body, { waitForContinue: true });
    const seen = await client.closed;
    assert.match(seen.text, /^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    assert.equal(upstream.requests.at(-1)?.headers.expect, undefined, 'the upstream is not asked to continue again');
  });
});
