import { collectDefaultMetrics, Registry } from 'prom-client';
import { ERROR_CATALOGUE } from '../http/error-catalogue.ts';
import { CollectedMetric, CounterChild, CounterFamily, FastHistogram } from './fast-metrics.ts';

/** Seconds; from a cache-hit denial (tens of µs) to a slow upstream. */
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Outcomes besides the error codes: the upstream's response was relayed whole, or the exchange broke off midway. */
export const FORWARDED_OUTCOME = 'forwarded';
export const ABORTED_OUTCOME = 'aborted';

interface KeyCacheStats {
  hits: number;
  misses: number;
  knownKeys: number;
  unknownDigests: number;
}

/** What the metrics read from other parts at scrape time. */
export interface MetricSources {
  keyCache(): KeyCacheStats;
  /** When the change-feed follower last caught up (ms since the epoch), or null before it has. */
  changeFeedCaughtUpAt(): number | null;
  changeFeedPosition(): number;
}

/**
 * `portcullis_api_requests_total{api,outcome}`: requests by the API they were matched to (one
 * of `apis`, or `default`) and outcome, as `portcullis_requests_total` counts them. A child is
 * made the first time an API sees an outcome, then found by the API's index and the outcome.
 */
export class ApiOutcomes {
  readonly #names: readonly string[];
  readonly #children: Array<Map<string, CounterChild>>;

  constructor(registry: Registry, names: readonly string[]) {
    this.#names = names;
    this.#children = names.map(() => new Map());
    new CollectedMetric(registry, 'portcullis_api_requests_total', 'Requests by the API they were matched to and by outcome: forwarded, aborted, or the error code the gateway answered with (requests refused before an API matched are not counted here).', 'counter', () =>
      this.#children.flatMap((children, index) => [...children].map(([outcome, child]) => ({ value: child.value, labels: { api: this.#names[index] as string, outcome } }))),
    );
  }

  /** The counter of one API (by index) and outcome. */
  child(api: number, outcome: string): CounterChild {
    const children = this.#children[api] as Map<string, CounterChild>;
    let child = children.get(outcome);
    if (child === undefined) children.set(outcome, (child = new CounterChild()));
    return child;
  }
}

/**
 * Every metric the gateway exposes on the admin listener's `/metrics`, in one own registry
 * (not prom-client's global one, so several gateways can live in one process, as in tests).
 *
 * The hot path only touches pre-bound children (`outcome(code).inc()`, `requestSeconds.observe`),
 * which are field updates. Other layers add their own metrics through `registry` or the
 * helpers below; a rate limiter reports its backend with `addLimiterBackend`.
 *
 * @example
 * const metrics = new GatewayMetrics(sources);
 * const refused = metrics.outcome('key_revoked'); // at start-up
 * refused.inc();                                  // per request
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requestSeconds: FastHistogram;
  readonly upstreamSeconds: FastHistogram;
  readonly changeFeedPollErrors: CounterChild;
  readonly usageFlushErrors: CounterChild;
  readonly #outcomes: CounterFamily;
  readonly #upstreamStatus: CounterChild[];
  readonly #limiterBackends = new Map<string, () => boolean>();

  constructor(sources: MetricSources) {
    const registry = this.registry;
    collectDefaultMetrics({ register: registry });
    this.#outcomes = new CounterFamily(registry, 'portcullis_requests_total', 'Requests by outcome: forwarded, aborted, or the error code the gateway answered with.', 'outcome', [
      FORWARDED_OUTCOME, ABORTED_OUTCOME, ...Object.keys(ERROR_CATALOGUE),
    ]);
    const statusFamily = new CounterFamily(registry, 'portcullis_upstream_responses_total', 'Responses from the upstream, by status class.', 'class');
    this.#upstreamStatus = ['1xx', '2xx', '3xx', '4xx', '5xx'].map((label) => statusFamily.child(label));
    this.requestSeconds = new FastHistogram(registry, 'portcullis_request_duration_seconds', 'Time from a request\'s arrival to the end of its response, through the gateway.', LATENCY_BUCKETS);
    this.upstreamSeconds = new FastHistogram(registry, 'portcullis_upstream_duration_seconds', 'Time from sending a request upstream to the upstream\'s response headers.', LATENCY_BUCKETS);
    const errors = new CounterFamily(registry, 'portcullis_background_errors_total', 'Failures of background work (each is also logged).', 'task');
    this.changeFeedPollErrors = errors.child('change_feed_poll');
    this.usageFlushErrors = errors.child('usage_flush');

    new CollectedMetric(registry, 'portcullis_key_cache_lookups_total', 'Key verifications by where the answer came from: memory (hit) or the store (miss).', 'counter', () => {
      const stats = sources.keyCache();
      return [{ value: stats.hits, labels: { result: 'hit' } }, { value: stats.misses, labels: { result: 'miss' } }];
    });
    new CollectedMetric(registry, 'portcullis_key_cache_hit_ratio', 'Share of key verifications answered from memory since start (1 when there were none).', 'gauge', () => {
      const { hits, misses } = sources.keyCache();
      return [{ value: hits + misses === 0 ? 1 : hits / (hits + misses) }];
    });
    new CollectedMetric(registry, 'portcullis_key_cache_entries', 'Entries in the key cache (known keys) and the unknown-digest cache.', 'gauge', () => {
      const stats = sources.keyCache();
      return [{ value: stats.knownKeys, labels: { cache: 'known' } }, { value: stats.unknownDigests, labels: { cache: 'unknown' } }];
    });
    new CollectedMetric(registry, 'portcullis_change_feed_lag_seconds', 'Seconds since this node last caught up with the store\'s change log (about one poll interval when healthy; grows while the store cannot be read).', 'gauge', () => {
      const caughtUpAt = sources.changeFeedCaughtUpAt();
      return caughtUpAt === null ? [] : [{ value: Math.max(0, (Date.now() - caughtUpAt) / 1000) }];
    });
    new CollectedMetric(registry, 'portcullis_change_feed_position', 'Sequence number of the last key change applied by this node.', 'gauge', () => [{ value: sources.changeFeedPosition() }]);
    new CollectedMetric(registry, 'portcullis_rate_limiter_backend_up', 'Whether each rate-limit backend is reachable (1) or not (0); absent until a rate limiter is configured.', 'gauge', () =>
      [...this.#limiterBackends].map(([backend, probe]) => ({ value: probe() ? 1 : 0, labels: { backend } })),
    );
  }

  /** The counter child for an outcome; resolve it once, at start-up, where possible. */
  outcome(code: string): CounterChild {
    return this.#outcomes.child(code);
  }

  /** Counts an upstream response by its status class. */
  upstreamStatus(statusCode: number): void {
    this.#upstreamStatus[Math.floor(statusCode / 100) - 1]?.inc();
  }

  /** Hook for the rate-limit layer: report a backend's state (`redis`, `memory`) at each scrape. */
  addLimiterBackend(backend: string, isUp: () => boolean): void {
    this.#limiterBackends.set(backend, isUp);
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
