import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { CachedKey } from '../verify/key-verifier.ts';
import type { ResolvedClient } from '../engine/client-address.ts';
import type { Operation } from '../routes/operation.ts';
import type { ScannedRequestHeaders } from '../engine/forward-headers.ts';

/**
 * What the checks learn about one request as it moves down the pipeline, beside what the one
 * pass over its headers found (`ScannedRequestHeaders`, filled in before the first check).
 */
export interface RequestContext extends ScannedRequestHeaders {
  req: IncomingMessage;
  res: ServerResponse;
  /** Time the request arrived (ms since epoch), used by every time-based check. */
  now: number;
  /** `performance.now()` at arrival, for latency metrics. */
  startedAt: number;
  /** The client's safe `X-Request-Id`, or one the gateway made: sent upstream and logged. */
  requestId: string;
  /** The address every check uses (the socket's, or resolved through trusted proxies). */
  clientAddress: string;
  /** The same client, parsed, with the forwarding chain the gateway vouches for (stage 2). */
  client: ResolvedClient;
  /** Path and query sent to the upstream: the canonical path (http/canonical-path.ts) once stage 1 has passed. */
  upstreamPath: string;
  /** The canonical path without the query: what routes are matched against. */
  path: string;
  /** The authenticated key, once the key check has passed. */
  key: CachedKey | null;
  /**
   * Headers every response to this request carries, whatever it is (forwarded or denied), as
   * flat name/value pairs; null for none. Rate limits put their RateLimit fields here.
   */
  responseHeaders: string[] | null;
  /** The operation the route table matched (stage 5); null when no routes are configured. */
  operation: Operation | null;
  /** Path parameter values of the matched template, still percent-encoded. */
  pathParameters: string[] | null;
  /** What to send upstream as the body instead of streaming `req`: the body read for validation, or `req` under a size limit. */
  forwardBody: Buffer | Readable | null;
  /**
   * The key the credential matched, even when that key was then refused (revoked, expired, or
   * by a later check): usage counts the refusal against it.
   */
  presentedKey: CachedKey | null;
}

/** Returned by a check that has answered the request itself (a CORS preflight): nothing more is sent. */
export const ANSWERED: unique symbol = Symbol('answered');

/** A check's verdict: null to pass the request on, a denial to stop it, or ANSWERED. */
export type CheckResult = import('../http/error-catalogue.ts').Denial | typeof ANSWERED | null;

/** What a check returns: its verdict, or a promise of it. */
export type CheckOutcome = CheckResult | Promise<CheckResult>;

/** One step of the pipeline (see pipeline.ts for the order). */
export interface Check {
  readonly name: string;
  run(context: RequestContext): CheckOutcome;
}
