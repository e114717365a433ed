import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { RequestHandler } from './pipeline.ts';
import type { HostPort } from '../http/units.ts';
import { denial } from '../http/error-catalogue.ts';
import { awaitContinue } from '../http/expect-continue.ts';
import { FORWARDED_METHODS } from '../http/methods.ts';
import { problemResponseBytes } from '../http/problem-response.ts';

const CONNECT_REFUSED = problemResponseBytes(denial('method_not_allowed', 'CONNECT is not forwarded by the gateway.', [['allow', FORWARDED_METHODS.join(', ')]]), 'Method Not Allowed');

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
  /** SO_REUSEPORT: several processes listen on the same port and the kernel spreads connections. */
  reusePort?: boolean;
}

/**
 * The public listener. Client-side limits protect it from slow or greedy clients: header and
 * request deadlines (slow loris), idle keep-alive timeout, a cap on connections and header size.
 */
export class GatewayServer {
  readonly server: Server | TlsServer;
  readonly #options: GatewayServerOptions;
  readonly #sockets = new Set<Socket>();
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
      // While draining, tell keep-alive clients to reconnect elsewhere after this response.
      if (this.#draining) res.setHeader('connection', 'close');
      handler(req, res);
    };
    this.server = options.tls ? createTlsServer({ ...httpOptions, ...options.tls }, onRequest) : createServer(httpOptions, onRequest);
    this.server.maxConnections = options.maxConnections;
    // Expect: 100-continue. Node would send 100 before any check; the pipeline sends it once the
    // checks have passed, just before the body is read or streamed (http/expect-continue.ts).
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      awaitContinue(res);
      onRequest(req, res);
    });
    this.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    // CONNECT never reaches the request handler in Node; refuse tunnels explicitly.
    this.server.on('connect', (_req, socket: Socket) => socket.end(CONNECT_REFUSED));
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

  /** New certificate, key or client CA for connections opened from now on; open ones keep theirs. */
  setSecureContext(credentials: SecureContextOptions): void {
    if ('setSecureContext' in this.server) this.server.setSecureContext(credentials);
  }

  async listen(): Promise<HostPort> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      const { port, host } = this.#options.listen;
      const reusePort = this.#options.reusePort === true;
      // `exclusive` keeps a cluster worker from routing the listen through the supervisor.
      this.server.listen({ port, host, ...(reusePort && { reusePort, exclusive: true }) }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('listener has no TCP address');
    return { host: address.address, port: address.port };
  }

  /**
   * Graceful stop: refuse new connections at once, let in-flight requests finish for up to
   * `drainTimeout` ms, then close whatever is left. Resolves when no connection remains.
   */
  async drain(drainTimeout: number): Promise<{ forced: number }> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    let forced = 0;
    const timer = setTimeout(() => {
      forced = this.#sockets.size;
      this.server.closeAllConnections();
      for (const socket of this.#sockets) socket.destroy();
    }, drainTimeout);
    // Keep-alive connections that finish their request while draining become idle: close them too.
    const idleSweep = setInterval(() => this.server.closeIdleConnections(), 50);
    await closed;
    clearTimeout(timer);
    clearInterval(idleSweep);
    return { forced };
  }
}
