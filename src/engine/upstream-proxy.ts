import { Pool, type Dispatcher } from 'undici';
import { continueIfAwaited } from '../http/expect-continue.ts';
import type { Exchange, UpstreamLeg } from './exchange.ts';
import type { UpstreamMonitor } from './upstream-monitor.ts';

export interface UpstreamOptions {
  url: URL;
  connections: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  /** TLS options for an https:// upstream (CA, client certificate, servername, verification). */
  connect?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean };
  /** Hears of failures to reach the upstream and of answers (upstream-monitor.ts). */
  monitor: UpstreamMonitor;
}

/**
 * Streams requests to one upstream origin over a keep-alive pool; each exchange is its own
 * undici handler (exchange.ts). A request the exchange sends again (its kept-alive connection
 * closed under it) goes out on a second pool that keeps no connection alive, so it always
 * gets a fresh one: the main pool may hold more connections the upstream has just closed.
 */
export class UpstreamProxy implements UpstreamLeg {
  readonly #pool: Pool;
  readonly #freshPool: Pool;
  readonly #basePath: string;
  readonly #monitor: UpstreamMonitor;

  constructor(options: UpstreamOptions) {
    const poolOptions: Pool.Options = {
      connections: options.connections,
      pipelining: 1,
      connectTimeout: options.connectTimeout,
      keepAliveTimeout: options.keepAliveTimeout,
      headersTimeout: options.headersTimeout,
      bodyTimeout: options.bodyTimeout,
      ...(options.connect ? { connect: options.connect } : {}),
    };
    this.#pool = new Pool(options.url.origin, poolOptions);
    this.#freshPool = new Pool(options.url.origin, poolOptions);
    this.#basePath = options.url.pathname === '/' ? '' : options.url.pathname.replace(/\/$/, '');
    this.#monitor = options.monitor;
  }

  /**
   * Sends the request (path already checked) with `headers` and streams the answer into the
   * response. The body is `exchange.forwardBody` when a check replaced it (read for validation,
   * or size-limited), else the request itself when it has one. The path is exactly the one the
   * route table matched (`upstreamPath`, canonical), under the upstream URL's base path.
   */
  forward(exchange: Exchange, headers: string[]): void {
    const body = exchange.forwardBody ?? (exchange.hasBody ? exchange.req : null);
    // Every check has passed: a client waiting on Expect: 100-continue may send the body now.
    if (exchange.hasBody) continueIfAwaited(exchange.res);
    exchange.watchClient();
    const request: Dispatcher.DispatchOptions = { path: this.#basePath + exchange.upstreamPath, method: exchange.req.method as Dispatcher.HttpMethod, headers, body };
    exchange.upstreamRequest = request;
    this.#pool.dispatch(request, exchange);
  }

  /** Sends the exchange's request again on a connection of its own, closed after it (`reset`). */
  resend(exchange: Exchange): void {
    this.#monitor.retried();
    this.#freshPool.dispatch({ ...(exchange.upstreamRequest as Dispatcher.DispatchOptions), reset: true }, exchange);
  }

  answered(): void {
    this.#monitor.answered();
  }

  failed(exchange: Exchange, error: Error): void {
    this.#monitor.failed(error, exchange.requestId);
  }

  async close(): Promise<void> {
    this.#monitor.close();
    await Promise.all([this.#pool.close(), this.#freshPool.close()]);
  }
}
