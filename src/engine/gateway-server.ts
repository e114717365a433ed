import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import { createSecureServer, Http2ServerResponse, type Http2SecureServer, type ServerHttp2Session } from 'node:http2';
import { Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';
import type { RequestHandler } from './pipeline.ts';
import type { HostPort } from '../http/units.ts';
import { denial } from '../http/error-catalogue.ts';
import { awaitContinue } from '../http/expect-continue.ts';
import { FORWARDED_METHODS } from '../http/methods.ts';
import { problemResponseBytes, sendProblem } from '../http/problem-response.ts';
import { listenSharingPort, PUBLIC_LISTEN } from './reuse-port-listen.ts';
import { guardHttp2Sessions, type Http2Flood } from './http2-session-guard.ts';
import { closeIdleHttp2Sessions } from './http2-idle-sessions.ts';
import type { Http2Config } from './listener-config.ts';
import { http2Adapted, http2ServerOptions } from './http2-edge.ts';

const netClose = NetServer.prototype.close;

const CONNECT_DENIAL = denial('method_not_allowed', 'CONNECT is not forwarded by the gateway.', [['allow', FORWARDED_METHODS.join(', ')]]);
const CONNECT_REFUSED = problemResponseBytes(CONNECT_DENIAL, 'Method Not Allowed');

export interface GatewayServerOptions {
  listen: HostPort;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
  maxHeaderSize: number;
  /** TLS options for an HTTPS listener; null for plain HTTP. */
  tls?: TlsOptions | null;
  /** `Strict-Transport-Security` value sent on every response (TLS only), or null. */
  hsts?: string | null;
  /**
   * Listen through the `node:cluster` supervisor, which owns the socket and hands connections
   * over (`workerBalancing: cluster`). Otherwise (the default) the listener binds in this
   * process with SO_REUSEPORT.
   */
  throughSupervisor?: boolean;
  /** Handles upgrade requests (websocket-tunnel.ts) with the same request handler; absent: Node treats them as ordinary requests. */
  upgrades?: UpgradeHandler | null;
  /** With `tls`: also offer HTTP/2 (ALPN `h2`) with these limits; null or absent: HTTP/1.1 only. */
  http2?: Http2Config | null;
  /** Told when an HTTP/2 connection is closed for a flood of resets, PINGs or SETTINGS. */
  onHttp2Flood?: (flood: Http2Flood, session: ServerHttp2Session) => void;
}

/** The listener's `upgrade` event, with the request handler every request goes through. */
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer, handler: RequestHandler) => void;

/** Node's HTTP server keeps the response it is writing on the socket (long-standing, if undocumented). */
interface ServingSocket extends Socket {
  _httpMessage?: ServerResponse | null;
}

/**
 * The public listener. Client-side limits protect it from slow or greedy clients: header and
 * request deadlines (slow loris), idle keep-alive timeout, a cap on connections and header size.
 */
export class GatewayServer {
  readonly server: Server | TlsServer | Http2SecureServer;
  readonly #options: GatewayServerOptions;
  /** Every open connection (TCP sockets). */
  readonly #sockets = new Set<Socket>();
  /** The sockets HTTP is read from: the TLS sockets over TCP ones, or the same set without TLS. */
  #httpSockets = this.#sockets;
  /** Open HTTP/2 connections: a drain sends each a GOAWAY and lets its open streams finish. */
  readonly #sessions = new Set<ServerHttp2Session>();
  #draining = false;

  constructor(handler: RequestHandler, options: GatewayServerOptions) {
    const httpOptions: ServerOptions = {
      maxHeaderSize: options.maxHeaderSize,
      headersTimeout: options.headersTimeout,
      requestTimeout: options.requestTimeout,
      keepAliveTimeout: options.keepAliveTimeout,
      connectionsCheckingInterval: Math.min(1000, Math.max(100, Math.floor(options.headersTimeout / 4))),
      joinDuplicateHeaders: false,
    };
    const hsts = options.hsts ?? null;
    const onRequest: RequestHandler = (req, res) => {
      if (hsts !== null) res.setHeader('strict-transport-security', hsts);
      // An HTTP/2 request is reshaped into what the checks read for HTTP/1.1 (http2-edge.ts), or refused.
      if (req.httpVersionMajor === 2) {
        if (http2Adapted(req, res)) handler(req, res);
        return;
      }
      // While draining, tell keep-alive clients to reconnect elsewhere after this response.
      if (this.#draining) res.setHeader('connection', 'close');
      handler(req, res);
    };
    this.server = createListener(options, httpOptions, onRequest);
    if (options.tls && options.http2) this.#watchHttp2(options.http2, options.onHttp2Flood);
    this.server.maxConnections = options.maxConnections;
    // Expect: 100-continue. Node would send 100 before any check; the pipeline sends it once the
    // checks have passed, just before the body is read or streamed (http/expect-continue.ts).
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      awaitContinue(res);
      onRequest(req, res);
    });
    this.#trackConnections(options.tls ? 'secureConnection' : 'connection');
    const upgrades = options.upgrades ?? null;
    if (upgrades !== null) this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => upgrades(req, socket, head, onRequest));
    // CONNECT never reaches the request handler in Node; refuse tunnels explicitly.
    this.server.on('connect', (_req, socket: Socket | Http2ServerResponse) => (socket instanceof Http2ServerResponse ? sendProblem(socket as unknown as ServerResponse, CONNECT_DENIAL) : socket.end(CONNECT_REFUSED)));
    // A malformed request line or headers: answer 400 and close, never crash.
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      // Only an HTTP parse error or timeout gets an HTTP answer; a connection whose TLS failed
      // (a refused renegotiation) or was reset has nobody to read it, and is let go at once.
      const httpError = error.code?.startsWith('HPE_') === true || error.code === 'ERR_HTTP_REQUEST_TIMEOUT';
      if (!socket.writable || !httpError) return socket.destroy();
      const status = error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    });
    this.#options = options;
  }

  /** Follows open connections, to close them at the end of a drain and to find their responses in flight. */
  #trackConnections(httpEvent: 'connection' | 'secureConnection'): void {
    const track = (sockets: Set<Socket>) => (socket: Socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    };
    this.server.on('connection', track(this.#sockets));
    if (httpEvent === 'secureConnection') this.server.on('secureConnection', track((this.#httpSockets = new Set())));
  }

  /** Follows HTTP/2 connections (for a drain), holds each to the flood budgets and closes it when idle. */
  #watchHttp2(limits: Http2Config, onFlood: GatewayServerOptions['onHttp2Flood']): void {
    const guard = guardHttp2Sessions(limits, onFlood ?? (() => {}));
    const closeWhenIdle = limits.idleTimeout > 0 ? closeIdleHttp2Sessions(limits.idleTimeout) : null;
    this.server.on('session', (session: ServerHttp2Session) => {
      this.#sessions.add(session);
      session.once('close', () => this.#sessions.delete(session));
      if (this.#draining) session.close();
      guard(session);
      closeWhenIdle?.(session);
    });
  }

  /** New certificate, key or client CA for connections opened from now on; open ones keep theirs. */
  setSecureContext(credentials: SecureContextOptions): void {
    if ('setSecureContext' in this.server) this.server.setSecureContext(credentials);
  }

  /**
   * Listens with SO_REUSEPORT (reuse-port-listen.ts): a new process can bind the same address
   * while this one drains. A port held by a program that does not share it is a `ListenError`
   * naming `--listen`.
   */
  listen(): Promise<HostPort> {
    return listenSharingPort(this.server, this.#options.listen, PUBLIC_LISTEN, { throughSupervisor: this.#options.throughSupervisor === true });
  }

  /**
   * Graceful stop, without resetting a request: stop accepting at once (the kernel then sends
   * new connections to any other process on the port), and let every connection end at a
   * point where no request is on it (`#endWhenBetweenRequests`). After `drainTimeout` ms
   * whatever is left is closed. Resolves when no connection remains.
   */
  async drain(drainTimeout: number): Promise<{ forced: number }> {
    this.#draining = true;
    // net.Server#close, not http.Server#close: the latter also destroys at once every
    // connection that looks idle, including one whose next request is already on the wire.
    const closed = new Promise<void>((resolve) => netClose.call(this.server, () => resolve()));
    // HTTP/2: GOAWAY, then the connection closes once its open streams have finished.
    for (const session of this.#sessions) session.close();
    for (const socket of this.#httpSockets) if ((socket as TLSSocket).alpnProtocol !== 'h2') this.#endWhenBetweenRequests(socket);
    let forced = 0;
    const timer = setTimeout(() => {
      forced = this.#sockets.size;
      if ('closeAllConnections' in this.server) this.server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    }, drainTimeout);
    await closed;
    clearTimeout(timer);
    // Stops Node's header and request timeout checks (http.Server#close does it); nothing listens any more.
    this.server.close();
    return { forced };
  }

  /**
   * How a connection open at SIGTERM ends:
   *
   * - a response not yet begun carries `Connection: close` (as does every response to a
   *   request that arrives while draining: see the constructor), and Node closes the
   *   connection after it; the client reconnects, elsewhere, for its next request;
   * - a response already begun keeps its keep-alive: once it has finished, the connection is
   *   treated as idle (next point);
   * - an idle connection is closed once it has stayed silent (not one byte read) for
   *   `IDLE_CLOSE_AFTER_MS`. A client under load sends its next request sooner, and that
   *   request is answered with `Connection: close`; closing a connection the moment its
   *   response ends, or at the moment SIGTERM comes, is what resets requests already on the wire.
   */
  #endWhenBetweenRequests(socket: ServingSocket): void {
    const response = socket._httpMessage;
    if (response == null || response.writableFinished) return closeWhenSilent(socket);
    if (!response.headersSent) response.setHeader('connection', 'close');
    else response.once('finish', () => closeWhenSilent(socket));
  }
}

/**
 * The listening server: plain HTTP, HTTPS, or (with `tls` and `http2`) an HTTP/2 server that
 * also serves HTTP/1.1 on the same port (ALPN), with the same limits on its HTTP/1.1 side.
 */
function createListener(options: GatewayServerOptions, httpOptions: ServerOptions, onRequest: RequestHandler): Server | TlsServer | Http2SecureServer {
  if (!options.tls) return createServer(httpOptions, onRequest);
  if (!options.http2) return createTlsServer({ ...httpOptions, ...options.tls }, onRequest);
  const server = createSecureServer({ ...options.tls, ...http2ServerOptions(options.http2, options.maxHeaderSize, options.headersTimeout) }, onRequest as never);
  // The HTTP/1.1 side of an HTTP/2 server reads these from the server object (node:http's connection listener).
  const { headersTimeout, requestTimeout, keepAliveTimeout, maxHeaderSize, connectionsCheckingInterval } = httpOptions;
  Object.assign(server, { headersTimeout, requestTimeout, keepAliveTimeout, maxHeaderSize, connectionsCheckingInterval });
  return server;
}

/**
 * While draining, how long a connection between requests must stay silent before it is
 * closed: long for a client under load to be between two requests (it sends the next one
 * within milliseconds), short for a drain.
 */
const IDLE_CLOSE_AFTER_MS = 500;

/**
 * Closes `socket` once it has read nothing for `IDLE_CLOSE_AFTER_MS` and has no response in
 * flight; a socket that reads a byte meanwhile carries a request, which is answered with
 * `Connection: close`. `bytesRead` counts what the HTTP parser consumed, too. (Headers that
 * began before the drain and then stall this long look silent; Node's `headersTimeout` would
 * end such a request anyway.)
 */
function closeWhenSilent(socket: ServingSocket): void {
  if (socket.destroyed) return;
  const bytesRead = socket.bytesRead;
  const timer = setTimeout(() => {
    if (socket.bytesRead === bytesRead && socket._httpMessage == null) socket.destroy();
  }, IDLE_CLOSE_AFTER_MS);
  socket.once('close', () => clearTimeout(timer));
}
