import type { Exchange } from './exchange.ts';
import type { Upstream } from './pipeline.ts';
import type { UpstreamMonitor } from './upstream-monitor.ts';
import type { OriginWatcher } from './upstream-proxy.ts';

/**
 * Stage 10 with several APIs: each API's own upstream (its origins, pools, TLS and timeouts,
 * upstream-proxy.ts), chosen by the API the request matched (`exchange.api.index`, set by the
 * API match in stage 5). Every call of the exchange's upstream leg goes to the upstream that
 * took the request.
 */
export class ApiUpstreams implements Upstream {
  readonly #upstreams: readonly Upstream[];

  constructor(upstreams: readonly Upstream[]) {
    if (upstreams.length === 0) throw new RangeError('at least one upstream is needed');
    this.#upstreams = upstreams;
  }

  /** The API's upstream. A request reaches the proxy only after the API match set its API, so a missing one is a bug: it throws (500, logged). */
  #of(exchange: Exchange): Upstream {
    const upstream = exchange.api === null ? undefined : this.#upstreams[exchange.api.index];
    if (upstream === undefined) throw new Error('request has no API to forward to');
    return upstream;
  }

  forward(exchange: Exchange, headers: string[]): void {
    this.#of(exchange).forward(exchange, headers);
  }

  mayResendAfter(code: string, exchange: Exchange): boolean {
    return this.#of(exchange).mayResendAfter(code, exchange);
  }

  resend(exchange: Exchange, error: Error): void {
    this.#of(exchange).resend(exchange, error);
  }

  answered(exchange: Exchange): void {
    this.#of(exchange).answered(exchange);
  }

  failed(exchange: Exchange, error: Error): void {
    this.#of(exchange).failed(exchange, error);
  }

  released(exchange: Exchange): void {
    this.#of(exchange).released(exchange);
  }
}

/**
 * One API's origins seen in the one monitor of every API's origins (listed one API after
 * another): its origin `index` is the monitor's `offset + index`. One monitor, so its metrics
 * are registered once and health sees every origin.
 */
export function originsFrom(monitor: UpstreamMonitor, offset: number): OriginWatcher {
  return {
    answered: (index) => monitor.answered(offset + index),
    retried: (index, error, reason) => monitor.retried(offset + index, error, reason),
    failed: (index, error, requestId) => monitor.failed(offset + index, error, requestId),
    originEjected: (index, failures, until) => monitor.originEjected(offset + index, failures, until),
    originRestored: (index, outFor) => monitor.originRestored(offset + index, outFor),
    close: () => monitor.close(),
  };
}
