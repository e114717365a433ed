import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { denial, type Denial } from '../http/error-catalogue.ts';
import { sendProblem } from '../http/problem-response.ts';
import type { ClientAddressResolver } from './client-address.ts';
import { appendGatewayHeaders, createRequestHeaderScanner } from './forward-headers.ts';
import { ANSWERED, type Check, type CheckOutcome, type CheckResult, type RequestContext } from '../policies/request-context.ts';
import { Exchange, type ExchangeSettings } from './exchange.ts';
import type { UpstreamProxy } from './upstream-proxy.ts';
import { WallClock } from '../http/wall-clock.ts';
import type { RequestTelemetry } from './request-telemetry.ts';
import type { RequestIds } from '../telemetry/request-id.ts';

/**
 * The request pipeline, in the order of docs/architecture.md. Each stage is a check that
 * passes the request on (null) or stops it with a denial; stages that are not configured are
 * simply absent from the list, so they cost nothing.
 *
 *   1. request-sanity    method and request-target form             400, 405
 *      path-canonical    one canonical path, matched and forwarded   400
 *   2. client address    socket, or rightmost untrusted via proxies -
 *   3. network-access    global allow/deny CIDR lists                403
 *   4. address-guard     locked-out or throttled addresses           429
 *   5. cors, route-match CORS preflights; route table               204, 404, 405
 *   6. client cert, key  certificate (if required), then one key     400, 401, 503
 *   7. key-policy,scopes per-key CIDRs, certificate binding; scopes  401, 403
 *   8. key-limits        the key's rate and quota                    429, 503
 *   9. input-validation  parameters, body, size limits               400, 413, 415
 *  10. proxy             stream to the upstream                      413, 502, 504
 *  11. record            metrics, per-key usage (batched), logs      -
 */
export interface PipelineParts {
  checks: Check[];
  proxy: UpstreamProxy;
  keyHeaders: ReadonlySet<string>;
  protocol: 'http' | 'https';
  resolveClient: ClientAddressResolver;
  /** Also send RFC 7239 `Forwarded` upstream. */
  forwardedHeader: boolean;
  /** The gateway answers CORS itself: the upstream's Access-Control-* response headers are dropped. */
  ownsCors: boolean;
  /** Stage 11: metrics, usage and access logs. */
  telemetry: RequestTelemetry;
  requestIds: RequestIds;
  logger: Logger;
  /** Told of every denial before it is sent (the abuse limits charge it to the address); may be async. */
  onDenial?: ((context: RequestContext, denial: Denial) => void | Promise<void>) | null;
}

const INTERNAL_ERROR = denial('internal_error', 'The gateway failed to handle the request.');

/**
 * What a request the gateway answered itself (a CORS preflight) costs its address: it is
 * charged like a denial, so preflights are no free bypass of the address limit. Never sent.
 */
const ANSWERED_BY_GATEWAY = denial('request_invalid', 'Answered by the gateway without reaching the upstream.');

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createPipeline(parts: PipelineParts): RequestHandler {
  const { checks, proxy, protocol, resolveClient, telemetry, requestIds, logger, forwardedHeader } = parts;
  const onDenial = parts.onDenial ?? null;
  const checkCount = checks.length;
  const scanHeaders = createRequestHeaderScanner(parts.keyHeaders);
  const settings: ExchangeSettings = { observer: telemetry, ownsCors: parts.ownsCors };
  const clock = new WallClock();

  // The functions on the synchronous path create no closures: a closure over a parameter or a
  // loop variable makes V8 allocate a context for every call (for every iteration, in a loop),
  // whether or not the closure is made. The asynchronous continuations live in functions of
  // their own, called only when a check actually returns a promise.

  /** Runs the checks from `start`; synchronous until a check returns a promise. */
  function runChecks(context: RequestContext, start: number): CheckOutcome {
    for (let index = start; index < checkCount; index++) {
      const outcome = (checks[index] as Check).run(context);
      if (outcome === null) continue;
      if (outcome instanceof Promise) return resumeChecks(outcome, context, index + 1);
      return outcome;
    }
    return null;
  }

  /** The checks after `next`, once a check's promise has settled with a pass. */
  function resumeChecks(pending: Promise<CheckResult>, context: RequestContext, next: number): Promise<CheckResult> {
    return pending.then((result) => (result === null ? runChecks(context, next) : result));
  }

  function forward(exchange: Exchange): void {
    const headers = exchange.upstreamHeaders;
    appendGatewayHeaders(headers, exchange.client.chain, protocol, exchange.host, exchange.requestId, exchange.key, forwardedHeader);
    proxy.forward(exchange, headers);
  }

  function refuse(context: RequestContext, outcome: Denial): void {
    telemetry.denied(context, outcome);
    const extra = context.responseHeaders;
    if (extra !== null) for (let index = 0; index < extra.length; index += 2) context.res.appendHeader(extra[index] as string, extra[index + 1] as string);
    sendProblem(context.res, outcome, context.requestId);
  }

  function checkFailed(context: RequestContext, error: unknown): void {
    logger.error({ err: error, reqId: context.requestId }, 'check failed');
    refuse(context, INTERNAL_ERROR);
  }

  function settle(exchange: Exchange, outcome: Denial | typeof ANSWERED | null): void {
    if (outcome === ANSWERED) {
      if (onDenial !== null) void Promise.resolve(onDenial(exchange, ANSWERED_BY_GATEWAY)).catch((error: unknown) => logger.error({ err: error }, 'denial hook failed'));
      return;
    }
    if (outcome !== null) {
      const observed = onDenial === null ? undefined : onDenial(exchange, outcome);
      if (observed instanceof Promise) refuseAfter(observed, exchange, outcome);
      else refuse(exchange, outcome);
      return;
    }
    try {
      forward(exchange);
    } catch (error) {
      // Nothing a client sends may crash the gateway: a request undici refuses is answered here.
      logger.warn({ err: error, reqId: exchange.requestId }, 'request could not be forwarded');
      refuse(exchange, INTERNAL_ERROR);
    }
  }

  /** Refuses once the denial hook (which may ask Redis) is done, whether or not it succeeded. */
  function refuseAfter(observed: Promise<void>, exchange: Exchange, outcome: Denial): void {
    observed.then(
      () => refuse(exchange, outcome),
      (error: unknown) => {
        logger.error({ err: error, reqId: exchange.requestId }, 'denial hook failed');
        refuse(exchange, outcome);
      },
    );
  }

  function settleAfter(pending: Promise<CheckResult>, exchange: Exchange): void {
    pending.then(
      (result) => settle(exchange, result),
      (error: unknown) => checkFailed(exchange, error),
    );
  }

  return function handleRequest(req, res) {
    // One clock reading per arrival: latency metrics and every time-based check use it.
    const startedAt = performance.now();
    const exchange = new Exchange(req, res, settings, scanHeaders, resolveClient(req), startedAt, clock.wallTime(startedAt));
    exchange.requestId = requestIds.fromHeader(exchange.requestIdHeader);
    let outcome: CheckOutcome;
    try {
      outcome = runChecks(exchange, 0);
    } catch (error) {
      checkFailed(exchange, error);
      return;
    }
    if (outcome instanceof Promise) settleAfter(outcome, exchange);
    else settle(exchange, outcome);
  };
}
