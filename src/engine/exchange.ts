import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { denial, type Denial } from '../http/error-catalogue.ts';
import { sendProblem } from '../http/problem-response.ts';
import type { REPEATED_HEADER } from '../http/raw-headers.ts';
import { BodyRefusedError, BodyTooLargeError, bodyTooLarge } from '../http/request-body.ts';
import type { ResolvedClient } from '../http/resolved-client.ts';
import type { ApiTarget, Check, PresentedCredential, PresentedDpop, RequestContext, ResponseBodyTap } from '../policies/request-context.ts';
import type { Operation } from '../routes/operation.ts';
import type { CachedKey } from '../verify/key-verifier.ts';
import type { RequestHeaderScanner } from './request-header-scanner.ts';
import { buildClientResponseHeaders } from './response-headers.ts';

/** What the gateway is told about each forwarded exchange (metrics, usage, logs): one object for every request. */
export interface ExchangeObserver {
  /**
   * The exchange is over. `problem` is the denial the gateway answered with instead of a
   * response (null when the upstream's response was relayed or the client was gone); `error`
   * is what went wrong, or null. The exchange says when the upstream answered and how much.
   */
  exchangeFinished(exchange: Exchange, problem: Denial | null, error: Error | null): void;
}

/** What the upstream side (upstream-proxy.ts) hears from an exchange after it went out. */
export interface UpstreamLeg {
  /** Whether a request that failed with this error code before any response byte may go out again (if it may be repeated at all). */
  mayResendAfter(code: string, exchange: Exchange): boolean;
  /** Sends the exchange's request (`upstreamRequest`) again, on a fresh connection, after `error`. */
  resend(exchange: Exchange, error: Error): void;
  /** The upstream answered: a response began. */
  answered(exchange: Exchange): void;
  /** The upstream could not be reached for this exchange (before any response byte); it is not sent again. */
  failed(exchange: Exchange, error: Error): void;
  /** The exchange's upstream request is over, however it ended (not called before `resend`). */
  released(exchange: Exchange): void;
}

/** What every exchange of one gateway shares. */
export interface ExchangeSettings {
  observer: ExchangeObserver;
  /** The checks that take part in the response side, in pipeline order; null when none does. */
  responseHooks: readonly ResponseHook[] | null;
  upstream: UpstreamLeg;
  /** The API every request starts with: the only one, or null when the API match (stage 5) picks one of several. */
  api?: ApiTarget | null;
}

/** A check with a response side (CORS drops the upstream's own Access-Control-* headers). */
export type ResponseHook = Required<Pick<Check, 'onUpstreamResponse'>>;

const UPSTREAM_UNAVAILABLE = denial('upstream_unavailable');
const UPSTREAM_TIMEOUT = denial('upstream_timeout');
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Methods a client may repeat without changing the effect (RFC 9110 §9.2.2), as undici and browsers do. */
const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE']);

/** The denial an upstream failure maps to, when the client has not received a response yet. */
function denialForUpstreamError(error: unknown): Denial {
  if (error instanceof BodyTooLargeError) return bodyTooLarge(error.limit);
  if (error instanceof BodyRefusedError) return error.denial;
  const code = (error as { code?: string } | null)?.code;
  return code !== undefined && TIMEOUT_CODES.has(code) ? UPSTREAM_TIMEOUT : UPSTREAM_UNAVAILABLE;
}

const kExchange = Symbol('portcullis.exchange');
/** The value before the scanner's own list replaces it; frozen, so a stage that ran too early fails loudly. */
const NOT_SCANNED: string[] = Object.freeze([]) as unknown as string[];

interface ExchangeResponse extends ServerResponse {
  [kExchange]?: Exchange;
}

/**
 * One request's trip through the gateway, in one object: what the checks learn about it (the
 * RequestContext they read and write), then, once it is forwarded, undici's handler for its
 * upstream exchange, which streams the response to the client with backpressure both ways.
 *
 * One class with every field set in the constructor, rather than a context literal and a
 * handler object per request: one allocation, one shape that every stage sees (so their
 * property reads stay monomorphic), and nothing allocated for callbacks.
 */
export class Exchange implements RequestContext, Dispatcher.DispatchHandler {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** `performance.now()` at arrival: latency metrics and the time every check uses both come from it. */
  readonly startedAt: number;
  readonly now: number;
  readonly client: ResolvedClient;
  readonly clientAddress: string;
  requestId = '';
  method: string;
  upstreamPath: string;
  path: string;
  api: ApiTarget | null;
  key: CachedKey | null = null;
  presentedKey: CachedKey | null = null;
  responseHeaders: string[] | null = null;
  operation: Operation | null = null;
  pathParameters: string[] | null = null;
  forwardBody: Buffer | Readable | null = null;
  responseTap: ResponseBodyTap | null = null;

  // What the request-header scanner found (ScannedRequestHeaders): it runs in the constructor.
  upstreamHeaders: string[] = NOT_SCANNED;
  hasBody = false;
  contentLength: string | undefined = undefined;
  chunked = false;
  host: string | undefined | typeof REPEATED_HEADER = undefined;
  connectionNamed: ReadonlySet<string> | null = null;
  underscoreHeaders: string[] | null = null;
  methodOverrideHeaders: string[] | null = null;
  credential: PresentedCredential = null;
  requestIdHeader: string | null | typeof REPEATED_HEADER = null;
  dpop: PresentedDpop | null = null;

  // The upstream leg.
  readonly settings: ExchangeSettings;
  controller: Dispatcher.DispatchController | null = null;
  /** `performance.now()` when the request was sent upstream, and when the response headers came; 0 before. */
  dispatchedAt = 0;
  respondedAt = 0;
  /** The upstream's status; 0 before it answered. */
  upstreamStatus = 0;
  /** Body bytes relayed to the client. */
  responseBytes = 0;
  /** Whether undici has finished with this exchange (ended or failed). */
  settled = false;
  /** What was dispatched upstream, kept so that a request can be sent again (upstream-proxy.ts). */
  upstreamRequest: Dispatcher.DispatchOptions | null = null;
  /** Times the request was sent again after its connection closed or could not open (at most once). */
  upstreamRetries = 0;
  /** Which origin of the upstream the request is out to (upstream-proxy.ts); -1 before it goes out. */
  upstreamOrigin = -1;

  constructor(req: IncomingMessage, res: ServerResponse, settings: ExchangeSettings, scanHeaders: RequestHeaderScanner, client: ResolvedClient, startedAt: number, now: number) {
    const url = req.url as string;
    this.req = req;
    this.res = res;
    this.settings = settings;
    this.api = settings.api ?? null;
    this.client = client;
    this.clientAddress = client.address;
    this.startedAt = startedAt;
    this.now = now;
    this.method = req.method as string;
    this.upstreamPath = url;
    this.path = url;
    scanHeaders(req.rawHeaders, this);
  }

  /** Just before the exchange is dispatched: from now on, a client that goes away aborts its upstream request. */
  watchClient(): void {
    this.dispatchedAt = performance.now();
    const res = this.res as ExchangeResponse;
    res[kExchange] = this;
    res.once('close', abortIfUnfinished);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.res.destroyed) controller.abort(new Error('client went away'));
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    // Interim 1xx responses are not relayed: Node's server answers 100-continue itself.
    if (statusCode < 200) return;
    this.settings.upstream.answered(this);
    this.respondedAt = performance.now();
    this.upstreamStatus = statusCode;
    let headers = buildClientResponseHeaders((controller.rawHeaders ?? []) as Array<Buffer | string>);
    const hooks = this.settings.responseHooks;
    if (hooks !== null) for (let index = 0; index < hooks.length; index++) headers = (hooks[index] as ResponseHook).onUpstreamResponse(this, headers, statusCode);
    // Headers every response to this request carries (RateLimit fields): added after the upstream's.
    const extra = this.responseHeaders;
    if (extra !== null) for (let index = 0; index < extra.length; index++) headers.push(extra[index] as string);
    this.res.writeHead(statusCode, headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.responseBytes += chunk.length;
    const written = this.res.write(chunk);
    if (this.responseTap !== null) this.responseTap.data(chunk);
    if (!written) {
      controller.pause();
      this.res.once('drain', resumeUpstream);
    }
  }

  onResponseEnd(): void {
    this.settled = true;
    this.settings.upstream.released(this);
    this.res.end();
    this.settings.observer.exchangeFinished(this, null, null);
    const tap = this.responseTap;
    if (tap !== null) {
      this.responseTap = null;
      tap.end();
    }
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    // `settled` already: the client went away and the exchange was aborted (abortIfUnfinished).
    // Then the failure is the client's doing, not the upstream's.
    const clientGone = this.settled || this.res.destroyed;
    // Nothing came back from the upstream, and not because of the client or its body.
    const unreachable = !clientGone && this.upstreamStatus === 0 && !(error instanceof BodyTooLargeError || error instanceof BodyRefusedError);
    if (unreachable && this.#mayResend(error)) {
      this.upstreamRetries++;
      this.controller = null;
      this.settings.upstream.resend(this, error);
      return;
    }
    this.settled = true;
    this.settings.upstream.released(this);
    let problem: Denial | null = null;
    if (this.res.headersSent) this.res.destroy(error);
    else if (!this.res.destroyed) sendProblem(this.res, (problem = denialForUpstreamError(error)), this.requestId);
    if (unreachable) this.settings.upstream.failed(this, error);
    this.settings.observer.exchangeFinished(this, problem, error);
    const tap = this.responseTap;
    if (tap !== null) {
      this.responseTap = null;
      tap.abort();
    }
  }

  /**
   * Whether a failed request may go out again, once, on a fresh connection: the upstream leg
   * allows it after this error (a connection closed before any response byte came, not a
   * timeout; with several origins also a connection that could not open), the method is
   * idempotent, and the body, if any, is one the gateway holds whole (a Buffer); a body
   * streamed from the client is gone and is never sent twice.
   */
  #mayResend(error: Error): boolean {
    if (this.upstreamRetries > 0 || this.res.headersSent) return false;
    const code = (error as { code?: unknown }).code;
    const sent = this.upstreamRequest;
    if (sent === null || typeof code !== 'string' || !this.settings.upstream.mayResendAfter(code, this) || !IDEMPOTENT_METHODS.has(sent.method)) return false;
    const body = sent.body ?? null;
    return body === null || Buffer.isBuffer(body);
  }
}

// Named functions with `this` bound to the response: no closure per request.
function resumeUpstream(this: ExchangeResponse): void {
  this[kExchange]?.controller?.resume();
}

function abortIfUnfinished(this: ExchangeResponse): void {
  const exchange = this[kExchange];
  if (exchange === undefined || exchange.settled || this.writableFinished) return;
  exchange.settled = true;
  exchange.controller?.abort(new Error('client closed the connection'));
}
