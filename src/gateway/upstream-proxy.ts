import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { buildClientResponseHeaders } from './forward-headers.ts';
import { denial, type Denial } from './error-catalogue.ts';
import { sendProblem } from './problem-response.ts';
import type { RequestContext } from './request-context.ts';

export interface UpstreamOptions {
  url: URL;
  connections: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
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
  const code = (error as { code?: string } | null)?.code;
  return code !== undefined && TIMEOUT_CODES.has(code) ? UPSTREAM_TIMEOUT : UPSTREAM_UNAVAILABLE;
}

/** Whether a request has a body to stream (RFC 9112 §6.3: Content-Length or Transfer-Encoding). */
function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * One proxied exchange. Written as a handler object (not closures) so undici calls straight
 * into it; the response streams to the client with backpressure both ways.
 */
class ProxyExchange implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #context: RequestContext;
  readonly #observer: ExchangeObserver;
  readonly #dispatchedAt = performance.now();
  #controller: Dispatcher.DispatchController | null = null;
  #bytes = 0;

  constructor(context: RequestContext, observer: ExchangeObserver) {
    this.#res = context.res;
    this.#context = context;
    this.#observer = observer;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) controller.abort(new Error('client went away'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, _headers: unknown, statusMessage?: string): void {
    const rawHeaders = (controller.rawHeaders ?? []) as Array<Buffer | string>;
    this.#observer.upstreamResponded(this.#context, statusCode, (performance.now() - this.#dispatchedAt) / 1000);
    this.#res.writeHead(statusCode, statusMessage ?? '', buildClientResponseHeaders(rawHeaders));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.#res.end();
    this.#observer.exchangeFinished(this.#context, null, null, this.#bytes);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    let problem: Denial | null = null;
    if (this.#res.headersSent) this.#res.destroy(error);
    else if (!this.#res.destroyed) sendProblem(this.#res, (problem = denialForUpstreamError(error)), this.#context.requestId);
    this.#observer.exchangeFinished(this.#context, problem, error, this.#bytes);
  }

  /** The client closed before the exchange ended: stop the upstream side too. */
  abort(): void {
    this.#controller?.abort(new Error('client closed the connection'));
  }
}

/** Streams requests to one upstream origin over a keep-alive pool. */
export class UpstreamProxy {
  readonly #pool: Pool;
  readonly #basePath: string;
  readonly #headersTimeout: number;
  readonly #bodyTimeout: number;
  readonly #observer: ExchangeObserver;

  constructor(options: UpstreamOptions) {
    this.#pool = new Pool(options.url.origin, {
      connections: options.connections,
      pipelining: 1,
      connectTimeout: options.connectTimeout,
      keepAliveTimeout: options.keepAliveTimeout,
      headersTimeout: options.headersTimeout,
      bodyTimeout: options.bodyTimeout,
    });
    this.#basePath = options.url.pathname === '/' ? '' : options.url.pathname.replace(/\/$/, '');
    this.#headersTimeout = options.headersTimeout;
    this.#bodyTimeout = options.bodyTimeout;
    this.#observer = options.observer;
  }

  /** Sends `req` (path already checked) with `headers` and streams the answer into `res`; the observer hears how it went. */
  forward(req: IncomingMessage, res: ServerResponse, path: string, headers: string[], context: RequestContext): void {
    const exchange = new ProxyExchange(context, this.#observer);
    res.once('close', () => {
      if (!res.writableFinished) exchange.abort();
    });
    this.#pool.dispatch(
      {
        path: this.#basePath + path,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: hasBody(req) ? req : null,
        headersTimeout: this.#headersTimeout,
        bodyTimeout: this.#bodyTimeout,
      },
      exchange,
    );
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
