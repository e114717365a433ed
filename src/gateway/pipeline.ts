import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { denial, type Denial } from './error-catalogue.ts';
import { sendProblem } from './problem-response.ts';
import type { ClientAddressResolver } from './client-address.ts';
import { createUpstreamHeaderBuilder } from './forward-headers.ts';
import { ANSWERED, type Check, type CheckOutcome, type RequestContext } from './request-context.ts';
import type { UpstreamProxy } from './upstream-proxy.ts';
import type { RequestTelemetry } from '../telemetry/request-telemetry.ts';
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
  const { checks, proxy, protocol, resolveClient, telemetry, requestIds, logger } = parts;
  const onDenial = parts.onDenial ?? null;
  const checkCount = checks.length;
  const buildUpstreamRequestHeaders = createUpstreamHeaderBuilder(parts.keyHeaders, { forwardedHeader: parts.forwardedHeader });

  /** Runs the checks from `start`; synchronous until a check returns a promise. */
  function runChecks(context: RequestContext, start: number): CheckOutcome {
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
    const { headers, hasBody } = buildUpstreamRequestHeaders(context.req.rawHeaders, identity, context.client.chain, protocol, context.requestId);
    telemetry.forwarding(context);
    proxy.forward(context, headers, hasBody);
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

  function settle(context: RequestContext, outcome: Denial | typeof ANSWERED | null): void {
    if (outcome === ANSWERED) {
      if (onDenial !== null) void Promise.resolve(onDenial(context, ANSWERED_BY_GATEWAY)).catch((error: unknown) => logger.error({ err: error }, 'denial hook failed'));
      return;
    }
    if (outcome !== null) {
      const observed = onDenial === null ? undefined : onDenial(context, outcome);
      if (observed instanceof Promise) {
        observed.then(
          () => refuse(context, outcome),
          (error: unknown) => {
            logger.error({ err: error, reqId: context.requestId }, 'denial hook failed');
            refuse(context, outcome);
          },
        );
      } else refuse(context, outcome);
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
    const client = resolveClient(req);
    const url = req.url as string;
    const context: RequestContext = {
      req,
      res,
      now: Date.now(),
      startedAt: performance.now(),
      requestId: requestIds.forRequest(req.rawHeaders),
      clientAddress: client.address,
      client,
      upstreamPath: url,
      path: url,
      key: null,
      presentedKey: null,
      responseHeaders: null,
      operation: null,
      pathParameters: null,
      forwardBody: null,
    };
    let outcome: CheckOutcome;
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
