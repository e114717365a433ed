/**
 * The public listener's part in a restart without a gap: it shares its port with another
 * process (SO_REUSEPORT), names the option when a program that does not share it holds the
 * port, and drains without closing a connection that a request may be on.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { GatewayServer, type GatewayServerOptions } from './gateway-server.ts';
import { ListenError } from './reuse-port-listen.ts';

function options(port: number, overrides: Partial<GatewayServerOptions> = {}): GatewayServerOptions {
  return { listen: { host: '127.0.0.1', port }, headersTimeout: 5000, requestTimeout: 10_000, keepAliveTimeout: 1000, maxConnections: 100, maxHeaderSize: 16_384, ...overrides };
}

/** Answers `ok` at once, or, for `/slow`, when `release()` is called. */
function handlerWithSlowPath() {
  const waiting: Array<() => void> = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const answer = () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    };
    if (req.url === '/slow') waiting.push(answer);
    else if (req.url === '/begun') {
      // Headers now (keep-alive decided), the body when released.
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.flushHeaders();
      waiting.push(() => res.end('ok'));
    } else answer();
  };
  return { handler, release: () => waiting.splice(0).forEach((answer) => answer()), waiting: () => waiting.length };
}

interface Reply {
  status: number;
  headers: Record<string, string>;
}

/** One kept-alive client connection, read by hand: what the server sends, and when it closes. */
class KeptAliveConnection {
  readonly socket: Socket;
  #buffer = '';
  #pending: Array<(reply: Reply) => void> = [];
  closed = false;
  readonly #closedAt: Promise<void>;

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      this.#parse();
    });
    this.socket.on('error', () => {});
    this.#closedAt = new Promise((resolve) => this.socket.once('close', () => {
      this.closed = true;
      resolve();
    }));
  }

  async ready(): Promise<this> {
    if (!this.socket.connecting) return this;
    await new Promise((resolve) => this.socket.once('connect', resolve));
    return this;
  }

  send(path: string): Promise<Reply> {
    this.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
    return new Promise((resolve) => this.#pending.push(resolve));
  }

  whenClosed(): Promise<void> {
    return this.#closedAt;
  }

  #parse(): void {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end === -1) return;
      const [statusLine, ...lines] = this.#buffer.slice(0, end).split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) headers[line.slice(0, line.indexOf(':')).toLowerCase()] = line.slice(line.indexOf(':') + 1).trim();
      const length = Number(headers['content-length'] ?? 0);
      if (this.#buffer.length < end + 4 + length) return;
      this.#buffer = this.#buffer.slice(end + 4 + length);
      this.#pending.shift()?.({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(statusLine ?? '')?.[1]), headers });
    }
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function connectionRefused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('GatewayServer: listening beside another process', () => {
  it('binds a port another gateway listener holds (SO_REUSEPORT)', async () => {
    const first = new GatewayServer(handlerWithSlowPath().handler, options(0));
    const { port } = await first.listen();
    const second = new GatewayServer(handlerWithSlowPath().handler, options(port));
    try {
      assert.equal((await second.listen()).port, port);
    } finally {
      await Promise.all([first.drain(1000), second.drain(1000)]);
    }
  });

  it('names --listen when a program that does not share the port holds it', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const { port } = holder.address() as AddressInfo;
    try {
      const server = new GatewayServer(handlerWithSlowPath().handler, options(port));
      const error = await server.listen().then(() => null, (caught: unknown) => caught);
      assert.ok(error instanceof ListenError, String(error));
      assert.equal(error.code, 'EADDRINUSE');
      assert.match(error.message, new RegExp(`^listen 127\\.0\\.0\\.1:${port}: cannot listen \\(EADDRINUSE\\): the address is held by a program that does not share it .*--listen or PORTCULLIS_LISTEN`));
    } finally {
      holder.close();
    }
  });
});

describe('GatewayServer: draining', () => {
  it('stops accepting at once, ends connections after their next response (Connection: close), and leaves an idle keep-alive connection to its next request', async () => {
    const { handler, release, waiting } = handlerWithSlowPath();
    const server = new GatewayServer(handler, options(0, { keepAliveTimeout: 1500 }));
    const { port } = await server.listen();
    const busy = await new KeptAliveConnection(port).ready();
    const idle = await new KeptAliveConnection(port).ready();
    assert.equal((await idle.send('/first')).headers.connection, 'keep-alive');
    const inFlight = busy.send('/slow');
    const streaming = await new KeptAliveConnection(port).ready();
    const begun = streaming.send('/begun');
    while (waiting() < 2) await delay(5);

    const drained = server.drain(10_000);
    assert.ok(await connectionRefused(port), 'no new connection is accepted once draining');
    await delay(200);
    assert.equal(idle.closed, false, 'an idle keep-alive connection is not closed under a request that may be on its way');
    // The idle client's next request, sent after the drain began, is answered, and closes its connection.
    const next = await idle.send('/second');
    assert.deepEqual([next.status, next.headers.connection], [200, 'close']);
    release();
    const slow = await inFlight;
    assert.deepEqual([slow.status, slow.headers.connection], [200, 'close'], 'a response not begun at SIGTERM says Connection: close');
    assert.equal((await begun).headers.connection, 'keep-alive', 'a response begun at SIGTERM keeps what it said');
    // ... and its connection stays open for the next request, which is answered and closes it.
    const after = await streaming.send('/third');
    assert.deepEqual([after.status, after.headers.connection], [200, 'close']);
    await Promise.all([busy.whenClosed(), idle.whenClosed(), streaming.whenClosed()]);
    assert.deepEqual(await drained, { forced: 0 });
  });

  it('closes a connection that stays silent between requests after half a second, and one still busy at drainTimeout by force', async () => {
    const { handler } = handlerWithSlowPath();
    const server = new GatewayServer(handler, options(0, { keepAliveTimeout: 5000 }));
    const { port } = await server.listen();
    const idle = await new KeptAliveConnection(port).ready();
    await idle.send('/first');
    const stuck = await new KeptAliveConnection(port).ready();
    void stuck.send('/slow');
    await delay(50);
    const started = performance.now();
    const drained = server.drain(2000);
    await idle.whenClosed();
    const idleClosedAfter = performance.now() - started;
    assert.ok(idleClosedAfter >= 450 && idleClosedAfter < 1500, `the silent connection closed after ${Math.round(idleClosedAfter)} ms, well before its keep-alive timeout`);
    assert.equal(stuck.closed, false);
    assert.deepEqual(await drained, { forced: 1 }, 'the request that never finished was cut at drainTimeout');
    await stuck.whenClosed();
    assert.ok(performance.now() - started >= 1900, 'waited for drainTimeout');
  });
});
