import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { denial, type Denial } from './error-catalogue.ts';
import { sendProblem } from './problem-response.ts';
import { socketAddressOf } from './client-address.ts';
import { buildUpstreamRequestHeaders } from './forward-headers.ts';
import type { Check, RequestContext } from './request-context.ts';
import type { UpstreamProxy } from './upstream-proxy.ts';
import type { RequestTelemetry } from '../telemetry/request-telemetry.ts';
import type { RequestIds } from '../telemetry/request-id.ts';

/**
 * The request pipeline, in the order of docs/architecture.md. Each stage is a check that
 * passes the request on (null) or stops it with a denial; stages that are not configured are
 * simply absent from the list, so they cost nothing.
 *
 *   1. request-sanity    method and request-target form             400, 405
 *   2. client address    socket address (trusted proxies: later)    -
 *   6. key-auth          exactly one well-formed, known, live key    400, 401, 503
 *  10. proxy             stream to the upstream                      502, 504
 *  11. record            metrics, per-key usage (batched), logs      -
 */
export interface PipelineParts {
  checks: Check[];
  proxy: UpstreamProxy;
  keyHeaders: ReadonlySet<string>;
  protocol: 'http' | 'https';
  /** Stage 11: metrics, usage and access logs. */
  telemetry: RequestTelemetry;
  requestIds: RequestIds;
  logger: Logger;
}

const INTERNAL_ERROR = denial('internal_error', 'The gateway failed to handle the request.');

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createPipeline(parts: PipelineParts): RequestHandler {
  const { checks, proxy, keyHeaders, protocol, telemetry, requestIds, logger } = parts;
  const checkCount = checks.length;

  /** Runs the checks from `start`; synchronous until a check returns a promise. */
  function runChecks(context: RequestContext, start: number): Denial | null | Promise<Denial | null> {
    for (let index = start; index < checkCount; index++) {
      const outcome = (checks[index] as Check).run(context);
      if (outcome === null) continue;
      if (outcome instanceof Promise) return outcome.then((result) => (result === null ? runChecks(context, index + 1) : result));
      return outcome;
    }
    return null;
  }

  function forward(context: RequestContext): void {
    const key = context.key;
    const identity = key === null ? null : { keyId: key.record.id, keyName: key.nameHeaderValue };
    const headers = buildUpstreamRequestHeaders(context.req.rawHeaders, keyHeaders, identity, context.clientAddress, protocol, context.requestId);
    telemetry.forwarding(context);
    proxy.forward(context.req, context.res, context.upstreamPath, headers, context);
  }

  function refuse(context: RequestContext, outcome: Denial): void {
    telemetry.denied(context, outcome);
    sendProblem(context.res, outcome, context.requestId);
  }

  function checkFailed(context: RequestContext, error: unknown): void {
    logger.error({ err: error, reqId: context.requestId }, 'check failed');
    refuse(context, INTERNAL_ERROR);
  }

  function settle(context: RequestContext, outcome: Denial | null): void {
    if (outcome !== null) {
      refuse(context, outcome);
      return;
    }
    try {
      forward(context);
    } catch (error) {
      // Nothing a client sends may crash the gateway: a request undici refuses is answered here.
      logger.warn({ err: error, reqId: context.requestId }, 'request could not be forwarded');
      refuse(context, INTERNAL_ERROR);
    }
  }

  return function handleRequest(req, res) {
    const context: RequestContext = {
      req,
      res,
      now: Date.now(),
      startedAt: performance.now(),
      requestId: requestIds.forRequest(req.rawHeaders),
      clientAddress: socketAddressOf(req.socket),
      upstreamPath: req.url as string,
      key: null,
      presentedKey: null,
    };
    let outcome: Denial | null | Promise<Denial | null>;
    try {
      outcome = runChecks(context, 0);
    } catch (error) {
      checkFailed(context, error);
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (result) => settle(context, result),
        (error: unknown) => checkFailed(context, error),
      );
    } else settle(context, outcome);
  };
}
