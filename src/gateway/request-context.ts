import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CachedKey } from '../verify/key-verifier.ts';
import type { ResolvedClient } from './client-address.ts';

/** What the checks learn about one request as it moves down the pipeline. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  /** Time the request arrived (ms since epoch), used by every time-based check. */
  now: number;
  /** The address every check uses (the socket's, or resolved through trusted proxies). */
  clientAddress: string;
  /** The same client, parsed, with the forwarding chain the gateway vouches for (stage 2). */
  client: ResolvedClient;
  /** Path and query sent to the upstream. */
  upstreamPath: string;
  /** The authenticated key, once the key check has passed. */
  key: CachedKey | null;
  /**
   * Headers every response to this request carries, whatever it is (forwarded or denied), as
   * flat name/value pairs; null for none. Rate limits put their RateLimit fields here.
   */
  responseHeaders: string[] | null;
}

/** What a check returns: null to pass the request on, a denial to stop it, or a promise of either. */
export type CheckOutcome = import('./error-catalogue.ts').Denial | null | Promise<import('./error-catalogue.ts').Denial | null>;

/** One step of the pipeline (see pipeline.ts for the order). */
export interface Check {
  readonly name: string;
  run(context: RequestContext): CheckOutcome;
}
