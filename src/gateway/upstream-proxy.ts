import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool, type Dispatcher } from 'undici';
import { buildClientResponseHeaders } from './forward-headers.ts';
import { denial, type Denial } from './error-catalogue.ts';
import { sendProblem } from './problem-response.ts';
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
  readonly onFinish: (error: unknown) => void;
  /** Headers the gateway adds to the upstream's response (e.g. RateLimit fields), or null. */
  readonly extraHeaders: readonly string[] | null;
  readonly ownsCors: boolean;
  controller: Dispatcher.DispatchController | null = null;
  settled = false;

  constructor(res: ProxiedResponse, onFinish: (error: unknown) => void, extraHeaders: readonly string[] | null, ownsCors: boolean) {
    this.res = res;
    this.onFinish = onFinish;
    this.extraHeaders = extraHeaders;
    this.ownsCors = ownsCors;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.res.destroyed) controller.abort(new Error('client went away'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    // Interim 1xx responses are not relayed: Node's server answers 100-continue itself.
    if (statusCode < 200) return;
    let headers = buildClientResponseHeaders((controller.rawHeaders ?? []) as Array<Buffer | string>);
    if (this.ownsCors) headers = withGatewayCors(headers, this.res.getHeader('vary') as string | undefined);
    if (this.extraHeaders !== null) headers.push(...this.extraHeaders);
    this.res.writeHead(statusCode, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', resumeUpstream);
    }
  }

  onResponseEnd(): void {
    this.settled = true;
    this.res.end();
    this.onFinish(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    this.settled = true;
    if (this.res.headersSent) this.res.destroy(error);
    else if (!this.res.destroyed) sendProblem(this.res, denialForUpstreamError(error));
    this.onFinish(error);
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
  }

  /**
   * Sends `req` (path already checked) with `headers` and streams the answer into `res`,
   * adding `responseHeaders` (flat name/value pairs, e.g. RateLimit fields) to the upstream's.
   * The body is `body` when a check replaced it (read for validation, or size-limited), else
   * `req` when the request has one.
   */
  forward(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    headers: string[],
    body: Buffer | Readable | null,
    hasBody: boolean,
    onFinish: (error: unknown) => void,
    responseHeaders: readonly string[] | null = null,
  ): void {
    const exchange = new ProxyExchange(res, onFinish, responseHeaders, this.#ownsCors);
    (res as ProxiedResponse)[kExchange] = exchange;
    res.once('close', abortIfUnfinished);
    this.#pool.dispatch({ path: this.#basePath + path, method: req.method as Dispatcher.HttpMethod, headers, body: body ?? (hasBody ? req : null) }, exchange);
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
