import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CachedKey } from '../verify/key-verifier.ts';

/** What the checks learn about one request as it moves down the pipeline. */
export interface RequestContext {
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
  /** Path and query sent to the upstream. */
  upstreamPath: string;
  /** The authenticated key, once the key check has passed. */
  key: CachedKey | null;
  /**
   * The key the credential matched, even when that key was then refused (revoked, expired, or
   * by a later check): usage counts the refusal against it.
   */
  presentedKey: CachedKey | null;
}

/** What a check returns: null to pass the request on, a denial to stop it, or a promise of either. */
export type CheckOutcome = import('./error-catalogue.ts').Denial | null | Promise<import('./error-catalogue.ts').Denial | null>;

/** One step of the pipeline (see pipeline.ts for the order). */
export interface Check {
  readonly name: string;
  run(context: RequestContext): CheckOutcome;
}
