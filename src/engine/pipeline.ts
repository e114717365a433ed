import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { denial, type Denial } from '../http/error-catalogue.ts';
import { sendProblem } from '../http/problem-response.ts';
import { WallClock } from '../http/wall-clock.ts';
import { ANSWERED, type ApiTarget, type Check, type CheckOutcome, type CheckResult, type RequestContext, type RequestHeaderReader } from '../policies/request-context.ts';
import { RateLimitedLog } from '../telemetry/rate-limited-log.ts';
import type { RequestIds } from '../telemetry/request-id.ts';
import type { ClientAddressResolver } from './client-address.ts';
import { Exchange, type ExchangeSettings, type ResponseHook, type UpstreamLeg } from './exchange.ts';
import { appendGatewayHeaders } from './gateway-headers.ts';
import { createRequestHeaderScanner } from './request-header-scanner.ts';
import type { RequestTelemetry } from './request-telemetry.ts';
import { sendProblemAndClose } from './unread-body-refusal.ts';
import type { WouldDenyReport } from './would-deny-report.ts';

/**
 * The request pipeline: the checks in their order (src/app/pipeline-policies.ts, drawn in
 * docs/architecture.md), then the proxy (stage 10) and the record (stage 11). Each check
 * passes the request on (null) or stops it with a denial; checks that are not configured are
 * absent from the list, so they cost nothing. The engine knows no check by name: a check that
 * reads headers, watches denials or touches the response says so on its `Check` object.
 */
/** Stage 10: where a request goes once every check has passed (upstream-proxy.ts, or api-upstreams.ts for several APIs). */
export interface Upstream extends UpstreamLeg {
  forward(exchange: Exchange, headers: string[]): void;
}

export interface PipelineParts {
  checks: readonly Check[];
  proxy: Upstream;
  /** The API every request starts with (the only one); null when the API match picks one of several. Default null. */
  api?: ApiTarget | null;
  protocol: 'http' | 'https';
  resolveClient: ClientAddressResolver;
  /** Also send RFC 7239 `Forwarded` upstream. */
  forwardedHeader: boolean;
  /** Stage 11: metrics, usage and access logs. */
  telemetry: RequestTelemetry;
  requestIds: RequestIds;
  logger: Logger;
  /** Records the would-denies of checks in report mode (`Check.reports`); null when none is. */
  wouldDeny?: WouldDenyReport | null;
}

const INTERNAL_ERROR = denial('internal_error');

/**
 * What a request the gateway answered itself (a CORS preflight) counts as for the checks that
 * watch denials: like a denial, so preflights are no free bypass of the address limit. Never sent.
 */
const ANSWERED_BY_GATEWAY = denial('request_invalid', 'Answered by the gateway without reaching the upstream.');

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

type DenialObserver = Required<Pick<Check, 'onDenial'>>;

// The request path's functions share the compiled parts as closure variables, made once at
// start; split apart, each would read them from an object on every call instead.
// eslint-disable-next-line max-lines-per-function
export function createPipeline(parts: PipelineParts): RequestHandler {
  const { checks, proxy, protocol, resolveClient, telemetry, requestIds, logger, forwardedHeader } = parts;
  const wouldDeny = parts.wouldDeny ?? null;
  const checkCount = checks.length;
  const readers = checks.map((check) => check.requestHeaders).filter((reader): reader is RequestHeaderReader => reader !== undefined);
  const observers = checks.filter((check): check is Check & DenialObserver => check.onDenial !== undefined);
  const responseHooks = checks.filter((check): check is Check & ResponseHook => check.onUpstreamResponse !== undefined);
  const scanHeaders = createRequestHeaderScanner(readers);
  const settings: ExchangeSettings = { observer: telemetry, responseHooks: responseHooks.length === 0 ? null : responseHooks, upstream: proxy, api: parts.api ?? null };
  const clock = new WallClock();
  // Failures that a client can repeat on every request are logged once per interval, with a count.
  const checkFailures = new RateLimitedLog(logger, { level: 'error', message: 'check failed' });
  const forwardFailures = new RateLimitedLog(logger, { level: 'warn', message: 'request could not be forwarded' });

  // The functions on the synchronous path create no closures: a closure over a parameter or a
  // loop variable makes V8 allocate a context for every call (for every iteration, in a loop),
  // whether or not the closure is made. The asynchronous continuations live in functions of
  // their own, called only when a check actually returns a promise.

  /** Runs the checks from `start`; synchronous until a check returns a promise. */
  function runChecks(context: RequestContext, start: number): CheckOutcome {
    for (let index = start; index < checkCount; index++) {
      const check = checks[index] as Check;
      const outcome = check.run(context);
      if (outcome === null) continue;
      if (outcome instanceof Promise) return resumeChecks(outcome, context, index + 1);
      // Only a check in report mode has `reports`: an enforcing pipeline reads one absent property per denial.
      if (check.reports !== undefined && isWouldDeny(check, context, outcome)) continue;
      return outcome;
    }
    return null;
  }

  /** The checks after `next`, once a check's promise has settled with a pass (or a would-deny). */
  function resumeChecks(pending: Promise<CheckResult>, context: RequestContext, next: number): Promise<CheckResult> {
    return pending.then((result) => (result === null || isWouldDeny(checks[next - 1] as Check, context, result) ? runChecks(context, next) : result));
  }

  /** Whether a check's verdict is a denial its report mode turns into a would-deny; if so, records it. */
  function isWouldDeny(check: Check, context: RequestContext, outcome: Denial | typeof ANSWERED): boolean {
    if (outcome === ANSWERED || check.reports === undefined || !check.reports(outcome, context)) return false;
    wouldDeny?.record(context, check.name, outcome);
    return true;
  }

  /** Tells every check that watches denials; a promise when one of them answers later (Redis). */
  function observeDenial(context: RequestContext, outcome: Denial): void | Promise<unknown> {
    if (observers.length === 1) return (observers[0] as DenialObserver).onDenial(context, outcome);
    let pending: Array<void | Promise<void>> | null = null;
    for (const observer of observers) {
      const observed = observer.onDenial(context, outcome);
      if (observed instanceof Promise) (pending ??= []).push(observed);
    }
    return pending === null ? undefined : Promise.all(pending);
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
    // A body still on the wire is not read to its end for a refused request: answered, then closed.
    if (context.hasBody && !context.req.complete) sendProblemAndClose(context.res, outcome, context.requestId);
    else sendProblem(context.res, outcome, context.requestId);
  }

  function checkFailed(context: RequestContext, error: unknown): void {
    checkFailures.report(error, { reqId: context.requestId });
    refuse(context, INTERNAL_ERROR);
  }

  function settle(exchange: Exchange, outcome: Denial | typeof ANSWERED | null): void {
    if (outcome === ANSWERED) {
      if (observers.length > 0) void Promise.resolve(observeDenial(exchange, ANSWERED_BY_GATEWAY)).catch(logObserverFailure);
      return;
    }
    if (outcome !== null) {
      const observed = observers.length === 0 ? undefined : observeDenial(exchange, outcome);
      if (observed instanceof Promise) refuseAfter(observed, exchange, outcome);
      else refuse(exchange, outcome);
      return;
    }
    try {
      forward(exchange);
    } catch (error) {
      // Nothing a client sends may crash the gateway: a request undici refuses is answered here.
      forwardFailures.report(error, { reqId: exchange.requestId });
      refuse(exchange, INTERNAL_ERROR);
    }
  }

  function logObserverFailure(error: unknown): void {
    logger.error({ err: error }, 'denial hook failed');
  }

  /** Refuses once the checks watching denials (which may ask Redis) are done, whether or not they succeeded. */
  function refuseAfter(observed: Promise<unknown>, exchange: Exchange, outcome: Denial): void {
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
