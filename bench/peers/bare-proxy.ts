/**
 * The "Node.js limit" baseline: the least a sound reverse proxy on `node:http`
 * and undici can do. No checks at all; it only forwards. Portcullis is judged
 * by its ratio to this row, so this row must be fast for honest reasons:
 *
 * - `pool.dispatch` with one small handler object per request, writing straight
 *   to the `ServerResponse` (no stream, no promise, no body buffering);
 * - request headers as a flat array built from `req.rawHeaders` (Node never
 *   builds `req.headers`), response headers from `controller.rawHeaders`;
 * - hop-by-hop headers dropped both ways (RFC 9110 §7.6.1), as any correct proxy must;
 * - backpressure both ways: request bodies stream through undici, response
 *   bodies pause the upstream socket while the client's socket is full;
 * - a client that goes away aborts its upstream request.
 *
 * Usage: node bench/peers/bare-proxy.ts <port> <upstream origin>
 *   (or BARE_PROXY_PORT / BARE_PROXY_UPSTREAM; port 0 picks a free port).
 *   With BARE_PROXY_TLS_CERT and BARE_PROXY_TLS_KEY (PEM files) it listens with TLS, using
 *   node:https's defaults; bench/peers/bare-tls-proxy.ts sets them. With BARE_PROXY_HTTP2=1
 *   as well it listens with `http2.createSecureServer({ allowHTTP1: true })` (ALPN h2 and
 *   http/1.1); bench/peers/bare-h2-proxy.ts sets it.
 * Prints `listening <port>` once it accepts connections.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createSecureServer, type Http2ServerRequest } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';

type DispatchController = Dispatcher.DispatchController;

const port = Number(process.argv[2] ?? process.env['BARE_PROXY_PORT'] ?? 0);
const upstream = process.argv[3] ?? process.env['BARE_PROXY_UPSTREAM'];
if (upstream === undefined) {
  process.stderr.write('usage: node bench/peers/bare-proxy.ts <port> <upstream origin>\n');
  process.exit(2);
}

const pool = new Pool(upstream, {
  connections: Number(process.env['BARE_PROXY_CONNECTIONS'] ?? 128),
  pipelining: 1,
  keepAliveTimeout: 60_000,
  keepAliveMaxTimeout: 600_000,
});

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, plus the legacy `keep-alive` and
 * `proxy-connection`) belong to one connection and must not be forwarded.
 * `expect` is dropped too: Node's server has already answered `100-continue`,
 * and undici refuses the header.
 */
const hopByHop = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te',
  'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'expect',
]);
// Only names of these lengths can be hop-by-hop; every other name skips the
// lower-casing and the set lookup.
const hopByHopLengths = new Set([...hopByHop].map((name) => name.length));

function isHopByHop(name: string): boolean {
  return hopByHopLengths.has(name.length) && hopByHop.has(name.toLowerCase());
}

/**
 * Extra names listed in `Connection` are hop-by-hop as well. Clients rarely
 * send any besides `keep-alive`/`close`, so this returns null almost always.
 */
function connectionListed(value: string): Set<string> | null {
  let listed: Set<string> | null = null;
  for (const token of value.split(',')) {
    const name = token.trim().toLowerCase();
    if (name === '' || name === 'keep-alive' || name === 'close') continue;
    (listed ??= new Set()).add(name);
  }
  return listed;
}

function dropListed(headers: string[], listed: Set<string>): string[] {
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i] as string;
    if (!listed.has(name.toLowerCase())) kept.push(name, headers[i + 1] as string);
  }
  return kept;
}

const kExchange = Symbol('exchange');

interface ProxiedResponse extends ServerResponse {
  [kExchange]?: Exchange;
}

/** One request's trip through the proxy; it is undici's handler for that request. */
class Exchange implements Dispatcher.DispatchHandler {
  res: ProxiedResponse;
  controller: DispatchController | null = null;
  settled = false;

  constructor(res: ProxiedResponse) {
    this.res = res;
  }

  onRequestStart(controller: DispatchController): void {
    this.controller = controller;
  }

  onResponseStart(controller: DispatchController, statusCode: number): void {
    const raw = controller.rawHeaders;
    const headers: string[] = [];
    let listed: Set<string> | null = null;
    if (Array.isArray(raw)) {
      for (let i = 0; i < raw.length; i += 2) {
        const name = raw[i]!.toString('latin1');
        // latin1 keeps the upstream's bytes exactly; Node writes headers as latin1.
        const value = raw[i + 1]!.toString('latin1');
        if (isHopByHop(name)) {
          if (name.length === 10 && value !== 'keep-alive' && value !== 'close' && name.toLowerCase() === 'connection') {
            listed = connectionListed(value);
          }
          continue;
        }
        headers.push(name, value);
      }
    }
    // Interim 1xx responses are not relayed; Node's server answers `100-continue` itself.
    if (statusCode < 200) return;
    this.res.writeHead(statusCode, listed === null ? headers : dropListed(headers, listed));
  }

  onResponseData(controller: DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', resumeUpstream);
    }
  }

  onResponseEnd(): void {
    this.settled = true;
    this.res.end();
  }

  onResponseError(_controller: DispatchController | null, error: Error): void {
    this.settled = true;
    const res = this.res;
    if (res.headersSent) {
      res.destroy(error);
      return;
    }
    const body = '{"error":"bad gateway"}';
    res.writeHead(502, ['content-type', 'application/json', 'content-length', String(body.length)]);
    res.end(body);
  }
}

function resumeUpstream(this: ProxiedResponse): void {
  this[kExchange]?.controller?.resume();
}

function abortIfUnfinished(this: ProxiedResponse): void {
  const exchange = this[kExchange];
  if (exchange === undefined || exchange.settled || this.writableFinished) return;
  exchange.settled = true;
  exchange.controller?.abort(new Error('client closed the connection'));
}

function forward(req: IncomingMessage, res: ProxiedResponse): void {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  let hasBody = false;
  let listed: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (isHopByHop(name)) {
      const lower = name.toLowerCase();
      if (lower === 'transfer-encoding') hasBody = true;
      else if (lower === 'connection' && value !== 'keep-alive' && value !== 'close') listed = connectionListed(value);
      continue;
    }
    if (name.length === 14 && value !== '0' && name.toLowerCase() === 'content-length') hasBody = true;
    headers.push(name, value);
  }

  const exchange = new Exchange(res);
  res[kExchange] = exchange;
  res.once('close', abortIfUnfinished);
  pool.dispatch({
    method: req.method as string,
    path: req.url as string,
    headers: listed === null ? headers : dropListed(headers, listed),
    body: hasBody ? req : null,
  }, exchange);
}

/**
 * An HTTP/2 request as the HTTP/1.1 proxy above reads it: pseudo-headers dropped, `:authority`
 * as `Host` (first, where an HTTP/1.1 client puts it), and a body without `content-length`
 * marked chunked (forward() then streams it). The least any HTTP/2-to-HTTP/1.1 proxy must do;
 * Portcullis does the same and checks more (src/http/http2-request-headers.ts).
 */
function forwardHttp2(req: IncomingMessage, res: ProxiedResponse): void {
  if (req.httpVersionMajor === 2) {
    const raw = req.rawHeaders;
    const headers: string[] = [];
    let authority: string | null = null;
    let hasLength = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      if (name.charCodeAt(0) === 58 /* : */) {
        if (name === ':authority') authority = raw[i + 1] as string;
        continue;
      }
      if (name === 'content-length') hasLength = true;
      headers.push(name, raw[i + 1] as string);
    }
    if (authority !== null) headers.unshift('host', authority);
    if (!hasLength && !(req as unknown as Http2ServerRequest).stream.endAfterHeaders) headers.push('transfer-encoding', 'chunked');
    // `rawHeaders` is a getter on Http2ServerRequest's prototype: an own property shadows it.
    Object.defineProperty(req, 'rawHeaders', { value: headers });
  }
  forward(req, res);
}

const tlsCert = process.env['BARE_PROXY_TLS_CERT'];
const tlsKey = process.env['BARE_PROXY_TLS_KEY'];
const http2 = process.env['BARE_PROXY_HTTP2'] === '1';
const serverOptions = { keepAlive: true, keepAliveTimeout: 60_000 };
if (http2 && (tlsCert === undefined || tlsKey === undefined)) {
  process.stderr.write('BARE_PROXY_HTTP2 needs BARE_PROXY_TLS_CERT and BARE_PROXY_TLS_KEY\n');
  process.exit(2);
}
const server = tlsCert !== undefined && tlsKey !== undefined
  ? http2
    // Node's HTTP/2 defaults (100 concurrent streams per connection), HTTP/1.1 beside it.
    ? createSecureServer({ allowHTTP1: true, cert: readFileSync(tlsCert), key: readFileSync(tlsKey) }, forwardHttp2 as never)
    : createTlsServer({ ...serverOptions, cert: readFileSync(tlsCert), key: readFileSync(tlsKey) }, forward)
  : createServer(serverOptions, forward);
// Where node:http reads them (the HTTP/1.1 side of the HTTP/2 server too).
Object.assign(server, { keepAliveTimeout: 60_000, headersTimeout: 65_000, requestTimeout: 0 });
const sessions = new Set<{ destroy(): void }>();
server.on('session', (session: { destroy(): void; once(event: 'close', listener: () => void): void }) => {
  sessions.add(session);
  session.once('close', () => sessions.delete(session));
});
server.listen(port, '127.0.0.1', function announce() {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});

function shutDown(): void {
  server.close();
  if ('closeAllConnections' in server) server.closeAllConnections();
  for (const session of sessions) session.destroy();
  void pool.destroy();
}
process.on('SIGTERM', shutDown);
process.on('SIGINT', shutDown);
