import { Pool, type Dispatcher } from 'undici';
import { continueIfAwaited } from '../http/expect-continue.ts';
import type { Exchange, UpstreamLeg } from './exchange.ts';
import { OriginBalancer } from './origin-balancer.ts';
import { basePathOf, type BalancePolicy } from './upstream-config.ts';
import type { UpstreamMonitor } from './upstream-monitor.ts';

/** What the proxy tells the monitor, origins by index: the monitor itself, or a view of it for one API's origins (api-upstreams.ts). */
export type OriginWatcher = Pick<UpstreamMonitor, 'answered' | 'retried' | 'failed' | 'originEjected' | 'originRestored' | 'close'>;

export interface UpstreamOptions {
  /** The upstream's origins: one, or several servers of the same API (same scheme and path prefix). */
  origins: readonly URL[];
  balance: BalancePolicy;
  /** Failures in a row that eject an origin, and for how long (ms); only with several origins. */
  passiveHealth: { failures: number; ejectFor: number };
  /** Keep-alive connections to each origin. */
  connections: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  /** TLS options for an https:// upstream (CA, client certificate, servername, verification). */
  connect?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean };
  /** Hears of failures to reach the upstream, of answers, and of origins ejected and restored (upstream-monitor.ts). */
  monitor: OriginWatcher;
  /** Milliseconds, for passive health; injected by tests. */
  now?: () => number;
}

/**
 * A kept-alive upstream connection that the upstream closed (idle timeout, restart) just as a
 * request went out on it: reset, closed by the other side, or written after it closed. The
 * request may not have reached the upstream's application at all, and nothing came back.
 * A timeout is not one of these: the upstream may be working on the request.
 */
const CLOSED_CONNECTION_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']);

/**
 * No connection could be opened to the origin, so the request never left the gateway. With
 * several origins another one may well take it; with one, sending it again at once to the
 * same origin would only fail again.
 */
const CONNECT_FAILURE_CODES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN']);

/** One origin's two pools: kept-alive connections, and fresh ones for requests sent again. */
interface OriginPools {
  pool: Pool;
  freshPool: Pool;
}

/**
 * Streams requests to the upstream's origins over keep-alive pools; each exchange is its own
 * undici handler (exchange.ts). With several origins, the balancer (origin-balancer.ts) picks
 * one per request and skips those that keep failing. A request the exchange sends again goes
 * to another origin when there is one, and always on a pool that keeps no connection alive,
 * so it gets a fresh connection: a main pool may hold more connections the upstream has just
 * closed.
 */
export class UpstreamProxy implements UpstreamLeg {
  readonly #origins: OriginPools[];
  readonly #balancer: OriginBalancer;
  readonly #basePath: string;
  readonly #monitor: OriginWatcher;

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
    if (options.origins.length === 0) throw new RangeError('an upstream needs at least one origin');
    // The fresh pool only carries the rare retry (a new connection for a request whose pooled one
    // failed): a few connections, so retries cannot double what an origin is asked to hold open.
    const freshPoolOptions: Pool.Options = { ...poolOptions, connections: Math.min(4, options.connections) };
    this.#origins = options.origins.map((url) => ({ pool: new Pool(url.origin, poolOptions), freshPool: new Pool(url.origin, freshPoolOptions) }));
    this.#monitor = options.monitor;
    this.#balancer = new OriginBalancer({
      count: options.origins.length,
      policy: options.balance,
      failuresToEject: options.passiveHealth.failures,
      ejectFor: options.passiveHealth.ejectFor,
      events: options.monitor,
      ...(options.now ? { now: options.now } : {}),
    });
    this.#basePath = basePathOf(options.origins[0] as URL);
  }

  /**
   * Sends the request (path already checked) with `headers` to an origin and streams the answer
   * into the response. The body is `exchange.forwardBody` when a check replaced it (read for
   * validation, or size-limited), else the request itself when it has one. The path is exactly
   * the one the route table matched (`upstreamPath`, canonical), under the upstream's base path.
   */
  forward(exchange: Exchange, headers: string[]): void {
    const body = exchange.forwardBody ?? (exchange.hasBody ? exchange.req : null);
    // Every check has passed: a client waiting on Expect: 100-continue may send the body now.
    if (exchange.hasBody) continueIfAwaited(exchange.res);
    exchange.watchClient();
    const request: Dispatcher.DispatchOptions = { path: this.#basePath + exchange.upstreamPath, method: exchange.req.method as Dispatcher.HttpMethod, headers, body };
    exchange.upstreamRequest = request;
    const index = this.#balancer.pick();
    this.#dispatch(exchange, index, (this.#origins[index] as OriginPools).pool, request);
  }

  mayResendAfter(code: string): boolean {
    return CLOSED_CONNECTION_CODES.has(code) || (this.#origins.length > 1 && CONNECT_FAILURE_CODES.has(code));
  }

  /** Sends the exchange's request again, to another origin when there is one, on a connection of its own closed after it (`reset`). */
  resend(exchange: Exchange, error: Error): void {
    const failed = exchange.upstreamOrigin;
    this.#balancer.failed(failed);
    this.#balancer.ended(failed);
    this.#monitor.retried(failed, error, CLOSED_CONNECTION_CODES.has((error as { code?: string }).code as string) ? 'connection_closed' : 'connect_failed');
    const index = this.#balancer.pick(failed);
    this.#dispatch(exchange, index, (this.#origins[index] as OriginPools).freshPool, { ...(exchange.upstreamRequest as Dispatcher.DispatchOptions), reset: true });
  }

  answered(exchange: Exchange): void {
    this.#balancer.succeeded(exchange.upstreamOrigin);
    this.#monitor.answered(exchange.upstreamOrigin);
  }

  failed(exchange: Exchange, error: Error): void {
    this.#balancer.failed(exchange.upstreamOrigin);
    this.#monitor.failed(exchange.upstreamOrigin, error, exchange.requestId);
  }

  released(exchange: Exchange): void {
    this.#balancer.ended(exchange.upstreamOrigin);
  }

  async close(): Promise<void> {
    this.#monitor.close();
    await Promise.all(this.#origins.flatMap((origin) => [origin.pool.close(), origin.freshPool.close()]));
  }

  /** Counts the request in flight at its origin for as long as undici has it (`released` ends it). */
  #dispatch(exchange: Exchange, index: number, pool: Pool, request: Dispatcher.DispatchOptions): void {
    exchange.upstreamOrigin = index;
    this.#balancer.started(index);
    try {
      pool.dispatch(request, exchange);
    } catch (error) {
      // Refused before it went out (a request undici cannot send): no handler call will end it.
      this.#balancer.ended(index);
      throw error;
    }
  }
}
