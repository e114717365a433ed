import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Denial } from '../http/error-catalogue.ts';
import type { REPEATED_HEADER } from '../http/raw-headers.ts';
import type { ResolvedClient } from '../http/resolved-client.ts';
import type { Operation } from '../routes/operation.ts';
import type { CachedKey } from '../verify/key-verifier.ts';

/**
 * The contract between the engine and the policies: the request context every check reads and
 * writes, and what a check is. The engine fills the context in (one object per request,
 * engine/exchange.ts); the policies never see the engine.
 */

/**
 * The API a request is for (`apis` in the config, or the one implicit API `default`): the
 * engine sends the request to its upstream, metrics and logs name it, and a key bound to other
 * APIs is refused on it.
 */
export interface ApiTarget {
  readonly name: string;
  /** Its position in the list of APIs: which upstream and which route table are its. */
  readonly index: number;
}

/** Said of a request that carries two different keys: refused, never guessed between. */
export const AMBIGUOUS_CREDENTIALS: unique symbol = Symbol('ambiguous credentials');

/** The key a request presents: none (null), one, or several different ones. */
export type PresentedCredential = string | null | typeof AMBIGUOUS_CREDENTIALS;

/**
 * What the engine's one pass over a request's raw headers finds, before the first check: no
 * stage reads `rawHeaders` again on the common path.
 */
export interface ScannedRequestHeaders {
  /**
   * The client's headers that may reach the upstream, as flat name/value pairs: without
   * hop-by-hop headers (and those `Connection` names), client-sent `X-Portcullis-*`, forwarding
   * headers, `X-Request-Id`, `Expect`, `Host`, names with `_` or `.` (`underscoreHeaders`),
   * method overrides (`methodOverrideHeaders`), and the headers a check's reader kept back
   * (keys). A stage-1 check may put some of those held back here again.
   */
  upstreamHeaders: string[];
  /** Whether the request has a body to stream (RFC 9112 §6.3): Content-Length other than 0, or Transfer-Encoding. */
  hasBody: boolean;
  /** The first Content-Length value (Node has refused malformed and conflicting ones), or undefined. */
  contentLength: string | undefined;
  /** Whether Transfer-Encoding is present: a body of unknown length. */
  chunked: boolean;
  /** The Host header, for X-Forwarded-Host: undefined when absent, REPEATED_HEADER when sent twice (refused in stage 1). */
  host: string | undefined | typeof REPEATED_HEADER;
  /**
   * The header names (lower case) the client's `Connection` header names, besides `close` and
   * `keep-alive`: removed from `upstreamHeaders` as hop-by-hop (RFC 9110 §7.6.1); null for none.
   */
  connectionNamed: ReadonlySet<string> | null;
  /**
   * Lines whose name contains `_` or `.`, as flat name/value pairs, held back from
   * `upstreamHeaders`: CGI, WSGI, PHP and Rack read `X_API_Key` as `X-API-Key`
   * (http/protected-headers.ts). Null for none.
   */
  underscoreHeaders: string[] | null;
  /** Method override lines (`X-HTTP-Method-Override` and the like), as flat pairs, held back from `upstreamHeaders`; null for none. */
  methodOverrideHeaders: string[] | null;
  /** The key the request presents, as a check's header reader found it (key-auth). */
  credential: PresentedCredential;
  /** The client's X-Request-Id: its value, null when absent, REPEATED_HEADER when sent twice. */
  requestIdHeader: string | null | typeof REPEATED_HEADER;
  /** What the request presents for DPoP (RFC 9449), as the dpop policy's header reader found it; null for nothing. */
  dpop: PresentedDpop | null;
}

/** The DPoP-bound tokens (`Authorization: DPoP <token>`) and `DPoP` proof lines of a request, as sent. */
export interface PresentedDpop {
  readonly tokens: string[];
  readonly proofs: string[];
}

/**
 * What the checks learn about one request as it moves down the pipeline, beside what the one
 * pass over its headers found.
 */
export interface RequestContext extends ScannedRequestHeaders {
  req: IncomingMessage;
  res: ServerResponse;
  /**
   * The method every check judges the request by: `req.method`, or the method override a
   * stage-1 check honoured (the upstream then runs that one). Routes, scopes and validation use it.
   */
  method: string;
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
  /**
   * The API the request is for: set by the API match (stage 5) when several APIs are
   * configured, from the start when there is one. Null only before a match.
   */
  api: ApiTarget | null;
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
  /**
   * Sees a copy of the response body as it streams to the client, then its end: set by a
   * check's `onUpstreamResponse` (response checks), read by the engine. Absent or null: none.
   */
  responseTap?: ResponseBodyTap | null;
}

/**
 * What watches a response body go by (response checks): the engine hands it every chunk after
 * writing it to the client, then the end. It must neither change a chunk nor keep the engine
 * waiting; work on the body belongs after `end`.
 */
export interface ResponseBodyTap {
  data(chunk: Buffer): void;
  /** The response was relayed whole. */
  end(): void;
  /** The response broke off (the upstream or the client went away). */
  abort(): void;
}

/** Returned by a check that has answered the request itself (a CORS preflight): nothing more is sent. */
export const ANSWERED: unique symbol = Symbol('answered');

/** A check's verdict: null to pass the request on, a denial to stop it, or ANSWERED. */
export type CheckResult = Denial | typeof ANSWERED | null;

/** What a check returns: its verdict, or a promise of it. */
export type CheckOutcome = CheckResult | Promise<CheckResult>;

/**
 * Request headers a check reads during the engine's one pass over them, so it never walks
 * `rawHeaders` again (key-auth reads the key headers this way).
 */
export interface RequestHeaderReader {
  /** Header names, lower case. */
  readonly names: readonly string[];
  /** Called for every line of those headers, in order; returns true to keep the line from the upstream. */
  readHeader(into: ScannedRequestHeaders, lowerCaseName: string, value: string): boolean;
}

/**
 * One step of the pipeline (the order is in src/app/pipeline-policies.ts). Besides its decision
 * on the request (`run`), a check may declare, Envoy-filter style, the other points of the
 * exchange it takes part in; the engine wires only what some check declares.
 */
export interface Check {
  readonly name: string;
  run(context: RequestContext): CheckOutcome;
  /** The request headers it reads in the engine's header pass. */
  readonly requestHeaders?: RequestHeaderReader;
  /** Told of every denial, whichever check made it, before it is sent; may be async (Redis). */
  onDenial?(context: RequestContext, denial: Denial): void | Promise<void>;
  /** The upstream's response headers (flat pairs, hop-by-hop ones removed) and status, before they go to the client. */
  onUpstreamResponse?(context: RequestContext, headers: string[], status: number): string[];
  /**
   * Report-only mode (policies/report-only.ts): asked about a denial `run` returned; true makes
   * it a would-deny, which the engine records before it runs the next check. Only a check with
   * something in report mode has it, so enforcing costs nothing.
   */
  reports?(denial: Denial, context: RequestContext): boolean;
}
