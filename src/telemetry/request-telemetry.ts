import { firstRawHeader } from '../gateway/raw-headers.ts';
import type { Logger } from 'pino';
import type { Denial } from '../gateway/error-catalogue.ts';
import type { RequestContext } from '../gateway/request-context.ts';
import type { ExchangeObserver } from '../gateway/upstream-proxy.ts';
import { ABORTED_OUTCOME, FORWARDED_OUTCOME, type GatewayMetrics } from './gateway-metrics.ts';
import type { CounterChild } from './fast-metrics.ts';
import type { UsageRecorder } from './usage-recorder.ts';

export interface RequestTelemetryOptions {
  metrics: GatewayMetrics;
  usage: UsageRecorder;
  logger: Logger;
  /** One `request` log line per request (off by default: it costs a log write per request). */
  accessLog: boolean;
}

/** `/path` of a request target, without the query: a query may hold a key (`keys.queryParameter`). */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/**
 * Stage 11, record: what each request did, for metrics, per-key usage and logs. The pipeline
 * tells it about refusals and forwards, the proxy about the upstream's answer and the end of
 * the exchange. Everything here is counter and map updates; the database is written in
 * batches by the usage recorder.
 */
export class RequestTelemetry implements ExchangeObserver {
  readonly #metrics: GatewayMetrics;
  readonly #usage: UsageRecorder;
  readonly #logger: Logger;
  readonly #accessLog: boolean;
  readonly #forwarded: CounterChild;
  readonly #aborted: CounterChild;

  constructor(options: RequestTelemetryOptions) {
    this.#metrics = options.metrics;
    this.#usage = options.usage;
    this.#logger = options.logger;
    this.#accessLog = options.accessLog;
    this.#forwarded = options.metrics.outcome(FORWARDED_OUTCOME);
    this.#aborted = options.metrics.outcome(ABORTED_OUTCOME);
  }

  /** The gateway answered a request with a denial, before forwarding it. */
  denied(context: RequestContext, denial: Denial): void {
    this.#metrics.outcome(denial.code).inc();
    this.#metrics.requestSeconds.observe((performance.now() - context.startedAt) / 1000);
    const key = context.key ?? context.presentedKey;
    if (key !== null) this.#usage.recordDenial(key.record.id, context.clientAddress, context.now, denial.code);
    if (this.#accessLog) this.#logRequest(context, denial.status, denial.code);
  }

  /** The request passed every check and is about to be sent upstream. */
  forwarding(context: RequestContext): void {
    const key = context.key;
    if (key === null) return;
    this.#usage.record(key.record.id, context.clientAddress, context.now, Number(firstRawHeader(context.req.rawHeaders, 'content-length')) || 0, key);
  }

  upstreamResponded(_context: RequestContext, statusCode: number, seconds: number): void {
    this.#metrics.upstreamStatus(statusCode);
    this.#metrics.upstreamSeconds.observe(seconds);
  }

  exchangeFinished(context: RequestContext, problem: Denial | null, error: Error | null, responseBytes: number): void {
    if (problem !== null) this.#metrics.outcome(problem.code).inc();
    else if (error !== null) this.#aborted.inc();
    else this.#forwarded.inc();
    this.#metrics.requestSeconds.observe((performance.now() - context.startedAt) / 1000);
    const key = context.key;
    if (key !== null) this.#usage.recordResponse(key.record.id, Date.now(), responseBytes, problem === null ? null : problem.code, key);
    if (error !== null) this.#logger.debug({ err: error, reqId: context.requestId }, 'upstream exchange failed');
    if (this.#accessLog) this.#logRequest(context, context.res.statusCode, problem !== null ? problem.code : error !== null ? ABORTED_OUTCOME : FORWARDED_OUTCOME);
  }

  #logRequest(context: RequestContext, status: number, outcome: string): void {
    const key = context.key ?? context.presentedKey;
    this.#logger.info({
      reqId: context.requestId,
      method: context.req.method,
      path: pathOf(context.req.url as string),
      status,
      outcome,
      keyId: key === null ? null : key.record.id,
      client: context.clientAddress,
      ms: Math.round((performance.now() - context.startedAt) * 1000) / 1000,
    }, 'request');
  }
}
