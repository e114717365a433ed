import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { buildClientResponseHeaders } from './forward-headers.ts';
import { denial, type Denial } from './error-catalogue.ts';
import { sendProblem } from './problem-response.ts';
import { BodyTooLargeError, bodyTooLarge, hasBody } from '../policies/input-validation/body-reader.ts';
import { withGatewayCors } from '../policies/cors/cors-response-headers.ts';

export interface UpstreamOptions {
  url: URL;
  connections: number;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  keepAliveTimeout: number;
  /** The gateway answers CORS itself: drop the upstream's Access-Control-* response headers. */
  ownsCors?: boolean;
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

/**
 * One proxied exchange. Written as a handler object (not closures) so undici calls straight
 * into it; the response streams to the client with backpressure both ways.
 */
class ProxyExchange implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  readonly #onFinish: (error: unknown) => void;
  readonly #ownsCors: boolean;
  #controller: Dispatcher.DispatchController | null = null;

  constructor(res: ServerResponse, onFinish: (error: unknown) => void, ownsCors: boolean) {
    this.#res = res;
    this.#onFinish = onFinish;
    this.#ownsCors = ownsCors;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#res.destroyed) controller.abort(new Error('client went away'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, _headers: unknown, statusMessage?: string): void {
    const rawHeaders = (controller.rawHeaders ?? []) as Array<Buffer | string>;
    const headers = buildClientResponseHeaders(rawHeaders);
    this.#res.writeHead(statusCode, statusMessage ?? '', this.#ownsCors ? withGatewayCors(headers, this.#res.getHeader('vary') as string | undefined) : headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.#res.end();
    this.#onFinish(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#res.headersSent) this.#res.destroy(error);
    else if (!this.#res.destroyed) sendProblem(this.#res, denialForUpstreamError(error));
    this.#onFinish(error);
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
  readonly #ownsCors: boolean;

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
    this.#ownsCors = options.ownsCors ?? false;
  }

  /**
   * Sends `req` (path already checked) with `headers` and streams the answer into `res`. The
   * body is `body` when a check replaced it (read for validation, or size-limited), else `req`.
   */
  forward(req: IncomingMessage, res: ServerResponse, path: string, headers: string[], body: Buffer | Readable | null, onFinish: (error: unknown) => void): void {
    const exchange = new ProxyExchange(res, onFinish, this.#ownsCors);
    res.once('close', () => {
      if (!res.writableFinished) exchange.abort();
    });
    this.#pool.dispatch(
      {
        path: this.#basePath + path,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: body ?? (hasBody(req) ? req : null),
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
