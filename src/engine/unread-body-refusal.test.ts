import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { recordingLogger } from '../../test/support/fake-context.ts';
import { denial } from '../http/error-catalogue.ts';
import { continueIfAwaited } from '../http/expect-continue.ts';
import type { Check } from '../policies/request-context.ts';
import { RequestIds } from '../telemetry/request-id.ts';
import { createClientAddressResolver } from './client-address.ts';
import { GatewayServer } from './gateway-server.ts';
import { createPipeline } from './pipeline.ts';
import type { RequestTelemetry } from './request-telemetry.ts';
import type { Exchange } from './exchange.ts';
import type { UpstreamProxy } from './upstream-proxy.ts';

/**
 * The engine's responder, over real sockets: a refused request whose body is still on the wire
 * is answered and closed without the body being read, and Expect: 100-continue is answered only
 * for requests the checks let through. One check stands for any: it refuses unless the request
 * says `x-pass: yes`; `x-read: yes` makes it read the body before refusing (the body then ends
 * on the wire, and the connection may stay open). The "upstream" reads the body and answers 200.
 */

const REFUSED = denial('key_missing');

const gatekeeper: Check = {
  name: 'gatekeeper',
  run(context) {
    if (context.req.headers['x-pass'] === 'yes') return null;
    if (context.req.headers['x-read'] !== 'yes') return REFUSED;
    continueIfAwaited(context.res);
    return new Promise((resolve) => {
      context.req.resume();
      context.req.once('end', () => resolve(REFUSED));
    });
  },
};

const upstream = {
  forward(exchange: Exchange) {
    continueIfAwaited(exchange.res);
    exchange.req.resume();
    exchange.req.once('end', () => exchange.res.end('forwarded'));
  },
} as Pick<UpstreamProxy, 'forward'> as UpstreamProxy;

const telemetry = { denied() {}, exchangeFinished() {} } as unknown as RequestTelemetry;

interface ClientView {
  /** Everything the client received. */
  received: string;
  /** Whether the gateway closed the connection (FIN or reset) before the client stopped sending. */
  closedWhileSending: boolean;
  /** Body bytes the client managed to hand to its socket before the connection closed or it finished. */
  written: number;
  /** Bytes the gateway read from this connection. */
  readByGateway: number;
}

describe('the pipeline\'s responder and the listener, over sockets', () => {
  let server: GatewayServer;
  let port: number;
  /** The gateway's side of each connection, by the client's port. */
  const served = new Map<number, Socket>();

  before(async () => {
    const handler = createPipeline({
      checks: [gatekeeper],
      proxy: upstream,
      protocol: 'http',
      resolveClient: createClientAddressResolver({ trustProxy: [], header: 'x-forwarded-for' }),
      forwardedHeader: false,
      telemetry,
      requestIds: new RequestIds('t'),
      logger: recordingLogger().logger,
    });
    server = new GatewayServer(handler, { listen: { host: '127.0.0.1', port: 0 }, headersTimeout: 5000, requestTimeout: 30_000, keepAliveTimeout: 5000, maxConnections: 100, maxHeaderSize: 16_384 });
    server.server.on('connection', (socket: Socket) => served.set(socket.remotePort as number, socket));
    port = (await server.listen()).port;
  });
  after(() => server.drain(100));

  /**
   * Sends a request with `bodySize` bytes announced, then body chunks as fast as the gateway
   * takes them (or, with `waitForContinue`, nothing until 100 Continue arrives), until the
   * connection closes or everything is sent; then reads what is left and closes.
   */
  function exchange(head: string, bodySize: number, options: { waitForContinue?: boolean } = {}): Promise<ClientView> {
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      const result: ClientView = { received: '', closedWhileSending: false, written: 0, readByGateway: 0 };
      let sending = !options.waitForContinue;
      const pump = (): void => {
        while (sending && result.written < bodySize && !socket.destroyed) {
          const piece = chunk.subarray(0, Math.min(chunk.length, bodySize - result.written));
          result.written += piece.length;
          if (!socket.write(piece)) return void socket.once('drain', pump);
        }
      };
      let localPort = -1;
      socket.on('connect', () => {
        localPort = socket.localPort as number;
        socket.write(`${head}\r\nContent-Length: ${bodySize}\r\n\r\n`);
        pump();
      });
      socket.setEncoding('latin1');
      socket.on('data', (text: string) => {
        result.received += text;
        if (!sending && result.received.includes('100 Continue')) {
          sending = true;
          pump();
        }
        // A complete final answer on a connection kept open: done.
        if (/\r\n\r\n(forwarded|\{.*\})$/s.test(result.received) && !result.received.includes('connection: close') && result.written >= bodySize) socket.end();
      });
      socket.on('end', () => {
        if (result.written < bodySize) result.closedWhileSending = true;
        socket.end();
      });
      socket.on('error', () => {
        if (result.written < bodySize) result.closedWhileSending = true;
      });
      socket.on('close', () => {
        result.readByGateway = served.get(localPort)?.bytesRead ?? -1;
        resolve(result);
      });
    });
  }

  const MB = 1024 * 1024;
  const cases: Array<{ name: string; head: string; bodySize: number; waitForContinue?: boolean; status: number; continued: boolean; closedWhileSending: boolean; readAtMost: number }> = [
    { name: 'a refused request with a large body: answered, closed, the body not read', head: 'POST /x HTTP/1.1\r\nHost: a', bodySize: 200 * MB, status: 401, continued: false, closedWhileSending: true, readAtMost: 4 * MB },
    { name: 'a refused DELETE with a body: the same', head: 'DELETE /x HTTP/1.1\r\nHost: a', bodySize: 50 * MB, status: 401, continued: false, closedWhileSending: true, readAtMost: 4 * MB },
    { name: 'a refused request that read its body first: answered, connection kept', head: 'POST /x HTTP/1.1\r\nHost: a\r\nx-read: yes', bodySize: 1000, status: 401, continued: false, closedWhileSending: false, readAtMost: 2000 },
    { name: 'a request let through: forwarded with its whole body', head: 'POST /x HTTP/1.1\r\nHost: a\r\nx-pass: yes', bodySize: 2 * MB, status: 200, continued: false, closedWhileSending: false, readAtMost: 3 * MB },
    { name: 'Expect: 100-continue, refused: the final answer without 100, then closed', head: 'POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue', bodySize: 10 * MB, waitForContinue: true, status: 401, continued: false, closedWhileSending: true, readAtMost: 1000 },
    { name: 'Expect: 100-continue, let through: 100 once the checks passed, then the body', head: 'POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nx-pass: yes', bodySize: 1000, waitForContinue: true, status: 200, continued: true, closedWhileSending: false, readAtMost: 2000 },
    { name: 'Expect: 100-continue, refused after reading: 100 only before the read', head: 'POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nx-read: yes', bodySize: 1000, waitForContinue: true, status: 401, continued: true, closedWhileSending: false, readAtMost: 2000 },
  ];
  for (const { name, head, bodySize, waitForContinue, status, continued, closedWhileSending, readAtMost } of cases) {
    it(name, async () => {
      const result = await exchange(head, bodySize, { waitForContinue: waitForContinue ?? false });
      const finalStatus = /HTTP\/1\.1 ([2-5]\d\d) /.exec(result.received)?.[1];
      assert.equal(Number(finalStatus), status, result.received.slice(0, 200));
      assert.equal(result.received.includes('HTTP/1.1 100 Continue'), continued, 'interim 100');
      assert.equal(result.closedWhileSending, closedWhileSending, `closed while sending (wrote ${result.written} of ${bodySize})`);
      assert.ok(result.readByGateway >= 0 && result.readByGateway <= readAtMost, `the gateway read ${result.readByGateway} bytes`);
      if (status === 401) {
        assert.match(result.received, /content-type: application\/problem\+json\r\n/);
        assert.match(result.received, /"code":"key_missing"/);
        assert.match(result.received, /x-request-id: t-\d+\r\n/);
      }
      if (closedWhileSending) assert.match(result.received, /connection: close\r\n/);
    });
  }
});
