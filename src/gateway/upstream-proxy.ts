import type { ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { buildClientResponseHeaders } from './forward-headers.ts';
import { denial, type Denial } from './error-catalogue.ts';
import { sendProblem } from './problem-response.ts';
import type { RequestContext } from './request-context.ts';
import { BodyTooLargeError, bodyTooLarge } from '../policies/input-validation/body-reader.ts';
import { withGatewayCors } from '../policies/cors/cors-response-headers.ts';

export interface UpstreamOptions {
  url: URL;
  connections: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  /** TLS options for an https:// upstream (CA, client certificate, servername, verification). */
  connect?: { ca?: Buffer; cert?: Buffer; key?: Buffer; servername?: string; rejectUnauthorized: boolean };
  /** The gateway answers CORS itself: drop the upstream's Access-Control-* response headers. */
  ownsCors?: boolean;
  /** Told how each exchange goes (metrics, usage, logs); one object for every request. */
  observer: ExchangeObserver;
}

/** What the proxy reports about each exchange. Methods, not per-request callbacks, so nothing is allocated for them. */
export interface ExchangeObserver {
  /** The upstream's response headers arrived, `seconds` after the request was dispatched. */
  upstreamResponded(context: RequestContext, statusCode: number, seconds: number): void;
  /**
   * The exchange is over. `problem` is the denial the gateway answered with instead of a
   * response (null when the upstream's response was relayed or the client was gone); `error`
   * is what went wrong, or null; `responseBytes` counts the body bytes relayed.
   */
  exchangeFinished(context: RequestContext, problem: Denial | null, error: Error | null, responseBytes: number): void;
}

const UPSTREAM_UNAVAILABLE = denial('upstream_unavailable', 'The upstream API could not be reached.');
const UPSTREAM_TIMEOUT = denial('upstream_timeout', 'The upstream API did not answer in time.');

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** The denial an upstream failure maps to, when the client has not received a response yet. */
export function denialForUpstreamError(error: unknown): Denial {
  if (error instanceof BodyTooLargeError) return bodyTooLarge(error.limit);
  const code = (error as { code?: string } | null)?.code;
  return code !== undefined && TIMEOUT_CODES.has(code) ? UPSTREAM_TIMEOUT : UPSTREAM_UNAVAILABLE;
}

const kExchange = Symbol('portcullis.exchange');

interface ProxiedResponse extends ServerResponse {
  [kExchange]?: ProxyExchange;
}

/**
 * One proxied exchange. Written as a handler object (not closures) so undici calls straight
 * into it; the response streams to the client with backpressure both ways.
 */
class ProxyExchange implements Dispatcher.DispatchHandler {
  readonly res: ProxiedResponse;
  readonly context: RequestContext;
  readonly observer: ExchangeObserver;
  readonly ownsCors: boolean;
  readonly dispatchedAt = performance.now();
  controller: Dispatcher.DispatchController | null = null;
  settled = false;
  bytes = 0;

  constructor(context: RequestContext, observer: ExchangeObserver, ownsCors: boolean) {
    this.res = context.res;
    this.context = context;
    this.observer = observer;
    this.ownsCors = ownsCors;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.res.destroyed) controller.abort(new Error('client went away'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    // Interim 1xx responses are not relayed: Node's server answers 100-continue itself.
    if (statusCode < 200) return;
    this.observer.upstreamResponded(this.context, statusCode, (performance.now() - this.dispatchedAt) / 1000);
    let headers = buildClientResponseHeaders((controller.rawHeaders ?? []) as Array<Buffer | string>);
    if (this.ownsCors) headers = withGatewayCors(headers, this.res.getHeader('vary') as string | undefined);
    // Headers every response to this request carries (RateLimit fields): added after the upstream's.
    const extra = this.context.responseHeaders;
    if (extra !== null) for (let index = 0; index < extra.length; index++) headers.push(extra[index] as string);
    this.res.writeHead(statusCode, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', resumeUpstream);
    }
  }

  onResponseEnd(): void {
    this.settled = true;
    this.res.end();
    this.observer.exchangeFinished(this.context, null, null, this.bytes);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settled = true;
    let problem: Denial | null = null;
    if (this.res.headersSent) this.res.destroy(error);
    else if (!this.res.destroyed) sendProblem(this.res, (problem = denialForUpstreamError(error)), this.context.requestId);
    this.observer.exchangeFinished(this.context, problem, error, this.bytes);
  }
}

// Named functions with `this` bound to the response: no closure per request.
function resumeUpstream(this: ProxiedResponse): void {
  this[kExchange]?.controller?.resume();
}

function abortIfUnfinished(this: ProxiedResponse): void {
  const exchange = this[kExchange];
  if (exchange === undefined || exchange.settled || this.writableFinished) return;
  exchange.settled = true;
  exchange.controller?.abort(new Error('client closed the connection'));
}

/** Streams requests to one upstream origin over a keep-alive pool. */
export class UpstreamProxy {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #ownsCors: boolean;
  readonly #observer: ExchangeObserver;

  constructor(options: UpstreamOptions) {
    this.#pool = new Pool(options.url.origin, {
      connections: options.connections,
      pipelining: 1,
      connectTimeout: options.connectTimeout,
      keepAliveTimeout: options.keepAliveTimeout,
      headersTimeout: options.headersTimeout,
      bodyTimeout: options.bodyTimeout,
      ...(options.connect ? { connect: options.connect } : {}),
    });
    this.#basePath = options.url.pathname === '/' ? '' : options.url.pathname.replace(/\/$/, '');
    this.#ownsCors = options.ownsCors ?? false;
    this.#observer = options.observer;
  }

  /**
   * Sends the request (path already checked) with `headers` and streams the answer into the
   * response; the observer hears how it went. The body is `context.forwardBody` when a check
   * replaced it (read for validation, or size-limited), else the request itself when it has one.
   */
  forward(context: RequestContext, headers: string[], hasBody: boolean): void {
    const res = context.res as ProxiedResponse;
    const exchange = new ProxyExchange(context, this.#observer, this.#ownsCors);
    res[kExchange] = exchange;
    res.once('close', abortIfUnfinished);
    const body = context.forwardBody ?? (hasBody ? context.req : null);
    this.#pool.dispatch({ path: this.#basePath + context.upstreamPath, method: context.req.method as Dispatcher.HttpMethod, headers, body }, exchange);
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
