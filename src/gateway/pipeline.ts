import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { denial, type Denial } from './error-catalogue.ts';
import { sendProblem } from './problem-response.ts';
import { socketAddressOf } from './client-address.ts';
import { buildUpstreamRequestHeaders } from './forward-headers.ts';
import { ANSWERED, type Check, type CheckOutcome, type RequestContext } from './request-context.ts';
import type { UpstreamProxy } from './upstream-proxy.ts';
import type { UsageRecorder } from '../telemetry/usage-recorder.ts';

/**
 * The request pipeline, in the order of docs/architecture.md. Each stage is a check that
 * passes the request on (null) or stops it with a denial; stages that are not configured are
 * simply absent from the list, so they cost nothing.
 *
 *   1. request-sanity    method and request-target form             400, 405
 *      path-canonical    one canonical path, matched and forwarded   400
 *   2. client address    socket address (trusted proxies: later)    -
 *   5. cors, route-match CORS preflights; route table               204, 404, 405
 *   6. key-auth          exactly one well-formed, known, live key    400, 401, 503
 *   7. scopes            the key holds the operation's scopes        403
 *   9. input-validation  parameters, body, size limits               400, 413, 415
 *  10. proxy             stream to the upstream                      413, 502, 504
 *  11. record            last-used time and address, batched         -
 */
export interface PipelineParts {
  checks: Check[];
  proxy: UpstreamProxy;
  keyHeaders: ReadonlySet<string>;
  protocol: 'http' | 'https';
  usage: UsageRecorder;
  logger: Logger;
}

const INTERNAL_ERROR = denial('internal_error', 'The gateway failed to handle the request.');

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export function createPipeline(parts: PipelineParts): RequestHandler {
  const { checks, proxy, keyHeaders, protocol, usage, logger } = parts;
  const checkCount = checks.length;

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

  function onUpstreamFinished(error: unknown): void {
    if (error !== null) logger.debug({ err: error }, 'upstream exchange failed');
  }

  function forward(context: RequestContext): void {
    const key = context.key;
    const identity = key === null ? null : { keyId: key.record.id, keyName: key.nameHeaderValue };
    const headers = buildUpstreamRequestHeaders(context.req.rawHeaders, keyHeaders, identity, context.clientAddress, protocol);
    if (key !== null) usage.record(key.record.id, context.clientAddress, context.now);
    proxy.forward(context.req, context.res, context.upstreamPath, headers, context.forwardBody, onUpstreamFinished);
  }

  function settle(context: RequestContext, outcome: Denial | typeof ANSWERED | null): void {
    if (outcome === ANSWERED) return;
    if (outcome !== null) {
      sendProblem(context.res, outcome);
      return;
    }
    try {
      forward(context);
    } catch (error) {
      // Nothing a client sends may crash the gateway: a request undici refuses is answered here.
      logger.warn({ err: error }, 'request could not be forwarded');
      sendProblem(context.res, INTERNAL_ERROR);
    }
  }

  return function handleRequest(req, res) {
    const url = req.url as string;
    const context: RequestContext = {
      req, res, now: Date.now(), clientAddress: socketAddressOf(req.socket), upstreamPath: url, path: url, key: null, operation: null, pathParameters: null, forwardBody: null,
    };
    let outcome: CheckOutcome;
    try {
      outcome = runChecks(context, 0);
    } catch (error) {
      logger.error({ err: error }, 'check failed');
      sendProblem(res, INTERNAL_ERROR);
      return;
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (result) => settle(context, result),
        (error: unknown) => {
          logger.error({ err: error }, 'check failed');
          sendProblem(res, INTERNAL_ERROR);
        },
      );
    } else settle(context, outcome);
  };
}
