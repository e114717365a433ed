import type { Logger } from 'pino';
import type { Denial } from '../http/error-catalogue.ts';
import type { RequestContext } from '../policies/request-context.ts';
import type { Exchange, ExchangeObserver } from './exchange.ts';
import { ABORTED_OUTCOME, FORWARDED_OUTCOME, type ApiOutcomes, type GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import type { CounterChild } from '../telemetry/fast-metrics.ts';
import type { ApiUsage } from '../telemetry/api-usage.ts';
import type { UsageRecorder } from '../telemetry/usage-recorder.ts';

export interface RequestTelemetryOptions {
  metrics: GatewayMetrics;
  usage: UsageRecorder;
  logger: Logger;
  /** One `request` log line per request (off by default: it costs a log write per request). */
  accessLog: boolean;
  /** Requests by API and outcome (`portcullis_api_requests_total`); absent: not counted. */
  apiOutcomes?: ApiOutcomes;
  /** Requests by API, minute and outcome for the store (`UsageRecorder.countApis`); absent: not recorded. */
  apiUsage?: ApiUsage;
}

/** `/path` of a request target, without the query: a query may hold a key (`keys.queryParameter`). */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Stage 11, record: what each request did, for metrics, per-key usage and logs. The pipeline
 * tells it about refusals; a forwarded exchange tells it once, when it is over, everything at
 * once (when the upstream answered, with what, how many bytes), so a request costs one call
 * here. Everything here is counter and field updates; the database is written in batches by
 * the usage recorder.
 */
export class RequestTelemetry implements ExchangeObserver {
  readonly #metrics: GatewayMetrics;
  readonly #usage: UsageRecorder;
  readonly #logger: Logger;
  readonly #accessLog: boolean;
  readonly #forwarded: CounterChild;
  readonly #aborted: CounterChild;
  readonly #apiOutcomes: ApiOutcomes | null;
  readonly #apiUsage: ApiUsage | null;

  constructor(options: RequestTelemetryOptions) {
    this.#metrics = options.metrics;
    this.#usage = options.usage;
    this.#logger = options.logger;
    this.#accessLog = options.accessLog;
    this.#forwarded = options.metrics.outcome(FORWARDED_OUTCOME);
    this.#aborted = options.metrics.outcome(ABORTED_OUTCOME);
    this.#apiOutcomes = options.apiOutcomes ?? null;
    this.#apiUsage = options.apiUsage ?? null;
  }

  /** The gateway answered a request with a denial, before forwarding it. */
  denied(context: RequestContext, denial: Denial): void {
    this.#metrics.outcome(denial.code).inc();
    if (context.api !== null) {
      if (this.#apiOutcomes !== null) this.#apiOutcomes.child(context.api.index, denial.code).inc();
      if (this.#apiUsage !== null) this.#apiUsage.count(context.api.index, denial.code, context.now);
    }
    this.#metrics.requestSeconds.observe((performance.now() - context.startedAt) / 1000);
    const key = context.key ?? context.presentedKey;
    if (key !== null) this.#usage.recordDenial(key.record.id, context.clientAddress, context.now, denial.code);
    if (this.#accessLog) this.#logRequest(context, denial.status, denial.code);
  }

  exchangeFinished(exchange: Exchange, problem: Denial | null, error: Error | null): void {
    const metrics = this.#metrics;
    const endedAt = performance.now();
    if (exchange.upstreamStatus !== 0) {
      metrics.upstreamStatus(exchange.upstreamStatus);
      metrics.upstreamSeconds.observe((exchange.respondedAt - exchange.dispatchedAt) / 1000);
    }
    const outcome = problem !== null ? problem.code : error !== null ? ABORTED_OUTCOME : FORWARDED_OUTCOME;
    if (problem !== null) metrics.outcome(problem.code).inc();
    else if (error !== null) this.#aborted.inc();
    else this.#forwarded.inc();
    // Counted in the minute the exchange ends; last used as of its arrival.
    const endedAtWall = exchange.now + (endedAt - exchange.startedAt);
    if (exchange.api !== null) {
      if (this.#apiOutcomes !== null) this.#apiOutcomes.child(exchange.api.index, outcome).inc();
      if (this.#apiUsage !== null) this.#apiUsage.count(exchange.api.index, outcome, endedAtWall);
    }
    metrics.requestSeconds.observe((endedAt - exchange.startedAt) / 1000);
    const key = exchange.key;
    if (key !== null) {
      this.#usage.recordExchange(key.record.id, exchange.clientAddress, exchange.now, endedAtWall, Number(exchange.contentLength) || 0, exchange.responseBytes, problem === null ? null : problem.code, key);
    }
    if (error !== null) this.#logger.debug({ err: error, reqId: exchange.requestId }, 'upstream exchange failed');
    if (this.#accessLog) this.#logRequest(exchange, exchange.res.statusCode, outcome);
  }

  #logRequest(context: RequestContext, status: number, outcome: string): void {
    const key = context.key ?? context.presentedKey;
    this.#logger.info({
      reqId: context.requestId,
      method: context.req.method,
      path: pathOf(context.req.url as string),
      status,
      outcome,
      api: context.api === null ? null : context.api.name,
      keyId: key === null ? null : key.record.id,
      client: context.clientAddress,
      ms: Math.round((performance.now() - context.startedAt) * 1000) / 1000,
    }, 'request');
  }
}
