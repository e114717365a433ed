import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Denial } from '../http/error-catalogue.ts';
import { WOULD_DENY_HEADER } from '../policies/report-only.ts';
import type { RequestContext } from '../policies/request-context.ts';
import { RESPONSE_CHECK_OUTCOMES, type ResponseCheckOutcome, type ResponseFinding, type ResponseFindings } from '../policies/response-findings.ts';
import { CounterFamily } from '../telemetry/fast-metrics.ts';
import { RateLimitedLog } from '../telemetry/rate-limited-log.ts';

export interface WouldDenyReportOptions {
  /** The gateway's metrics registry. */
  registry: Registry;
  logger: Logger;
  /** Also tell the upstream, in X-Portcullis-Would-Deny (`reportOnly.header`). */
  header: boolean;
  /** The codes the policies in report mode can report, counted from 0 from the start. */
  codes: readonly string[];
  /** Where would-denies are counted for `portcullis report` and the dashboard (the usage recorder). */
  usage: WouldDenyUsage | null;
  /** Response checks report here too (`portcullis_response_checks_total{outcome}`). Default false. */
  responseChecks?: boolean;
}

/** The usage recorder's side that counts would-denies per minute, code, API, route and key. */
export interface WouldDenyUsage {
  recordWouldDeny(now: number, code: string, api: string, route: string, keyId: string | null): void;
}

/** The API name of a request on a gateway with a single upstream. */
const DEFAULT_API = 'default';

/** Longest path put on a would-deny's log line: one without a route is client input. */
const MAX_LOGGED_PATH = 200;

/**
 * What a would-deny is on the log: an error kind per code, so the rate-limited log keeps one
 * interval per code. Made once per code; its stack says nothing, so it is left out.
 */
class WouldDeny extends Error {
  readonly code: string;

  constructor(code: string, message = `enforcing would refuse this request with ${code}`) {
    super(message);
    this.name = 'WouldDeny';
    this.code = code;
    this.stack = `${this.name}: ${this.message}`;
  }
}

/**
 * Records the would-denies of the policies in report mode (policies/report-only.ts): counted
 * in `portcullis_would_deny_total{code}` and in the store's would-deny minutes (by code, API,
 * route and key: `portcullis report`), logged at most once per code per interval (with a
 * count, and the route, key id and request id of the first), and, when configured, added to
 * the headers sent upstream. Nothing reaches the client. Made only when some policy reports.
 */
export class WouldDenyReport implements ResponseFindings {
  readonly #counts: CounterFamily;
  readonly #log: RateLimitedLog;
  readonly #header: boolean;
  readonly #usage: WouldDenyUsage | null;
  readonly #kinds = new Map<string, WouldDeny>();
  readonly #responseOutcomes: CounterFamily | null;
  readonly #responseLog: RateLimitedLog | null;

  constructor(options: WouldDenyReportOptions) {
    this.#counts = new CounterFamily(options.registry, 'portcullis_would_deny_total', 'Requests a policy in report mode (reportOnly.policies) let through that enforcing would have refused, by the code it would have refused with; and responses that response checks (openapi.responseChecks) found undocumented, by finding.', 'code', options.codes);
    this.#log = new RateLimitedLog(options.logger, { level: 'warn', message: 'would deny (report-only)' });
    this.#header = options.header;
    this.#usage = options.usage;
    const responseChecks = options.responseChecks === true;
    this.#responseOutcomes = responseChecks ? new CounterFamily(options.registry, 'portcullis_response_checks_total', 'Responses sampled by response checks (openapi.responseChecks), by outcome: checked, or why the body was not read (too_large, encoded, busy, aborted).', 'outcome', RESPONSE_CHECK_OUTCOMES) : null;
    this.#responseLog = responseChecks ? new RateLimitedLog(options.logger, { level: 'warn', message: 'response not as documented (report-only)' }) : null;
  }

  /**
   * One sampled response, judged after it was sent (policies/response-checks/): counted by
   * outcome; each finding counted and stored as a would-deny of its code, and logged at most
   * once per code per interval with its paths (never values).
   */
  recordResponse(context: RequestContext, status: number, outcome: ResponseCheckOutcome, findings: readonly ResponseFinding[]): void {
    this.#responseOutcomes?.child(outcome).inc();
    if (findings.length === 0) return;
    const route = routeOf(context);
    const api = context.api?.name ?? DEFAULT_API;
    const keyId = (context.key ?? context.presentedKey)?.record.id ?? null;
    for (const finding of findings) {
      this.#counts.child(finding.code).inc();
      this.#usage?.recordWouldDeny(context.now, finding.code, api, route, keyId);
      this.#responseLog?.report(this.#kindOf(finding.code, `the upstream's response is not as its description documents: ${finding.code}`), {
        code: finding.code,
        api,
        route,
        status,
        ...(finding.paths.length === 0 ? {} : { paths: finding.paths }),
        ...(finding.truncated ? { truncated: true } : {}),
        keyId,
        reqId: context.requestId,
      });
    }
  }

  #kindOf(code: string, message?: string): WouldDeny {
    let kind = this.#kinds.get(code);
    if (kind === undefined) this.#kinds.set(code, (kind = new WouldDeny(code, message)));
    return kind;
  }

  /** One would-deny of check `policy`; the request goes on. */
  record(context: RequestContext, policy: string, refused: Denial): void {
    const code = refused.code;
    this.#counts.child(code).inc();
    const kind = this.#kindOf(code);
    const route = routeOf(context);
    const keyId = (context.key ?? context.presentedKey)?.record.id ?? null;
    this.#usage?.recordWouldDeny(context.now, code, context.api?.name ?? DEFAULT_API, route, keyId);
    this.#log.report(kind, {
      policy,
      code,
      route,
      keyId,
      reqId: context.requestId,
      detail: refused.detail,
      ...(refused.errors === undefined ? {} : { errors: refused.errors }),
    });
    if (this.#header) context.upstreamHeaders.push(WOULD_DENY_HEADER, code);
  }
}

/** The matched operation (`POST /orders/{id}`), or the path when no route matched. */
function routeOf(context: RequestContext): string {
  const operation = context.operation;
  if (operation !== null) return `${operation.method} ${operation.template}`;
  const path = context.path;
  return path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH - 1)}…` : path;
}
