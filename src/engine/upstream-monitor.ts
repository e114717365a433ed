import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CollectedMetric, CounterFamily, type CounterChild } from '../telemetry/fast-metrics.ts';
import { RateLimitedLog } from '../telemetry/rate-limited-log.ts';
import type { OriginEvents } from './origin-balancer.ts';

/** How often an upstream that is failing is probed (a TCP connect), so that health sees it come back without traffic. */
const RECHECK_INTERVAL_MS = 5000;

/** What a failure to reach the upstream was, as a metric label: a short, fixed set. */
type FailureKind = 'refused' | 'connect_timeout' | 'reset' | 'timeout' | 'dns' | 'unreachable' | 'tls' | 'other';

const KIND_BY_CODE: ReadonlyMap<string, FailureKind> = new Map([
  ['ECONNREFUSED', 'refused'],
  ['UND_ERR_CONNECT_TIMEOUT', 'connect_timeout'],
  ['ETIMEDOUT', 'connect_timeout'],
  ['ECONNRESET', 'reset'],
  ['EPIPE', 'reset'],
  ['UND_ERR_SOCKET', 'reset'],
  ['UND_ERR_HEADERS_TIMEOUT', 'timeout'],
  ['ENOTFOUND', 'dns'],
  ['EAI_AGAIN', 'dns'],
  ['EHOSTUNREACH', 'unreachable'],
  ['ENETUNREACH', 'unreachable'],
  ['EHOSTDOWN', 'unreachable'],
]);

/** An error's `code`, if it has a string one. */
function errorCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
}

function kindOf(code: string | null): FailureKind {
  if (code === null) return 'other';
  const known = KIND_BY_CODE.get(code);
  if (known !== undefined) return known;
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || code.includes('CERT') ? 'tls' : 'other';
}

export interface UpstreamMonitorOptions {
  /** The upstream's origins, as the logs name them; requests and failures name them by index. */
  origins: readonly URL[];
  logger: Logger;
  /** The gateway's metrics registry. */
  registry: Registry;
  /** Limit on a reachability probe (a TCP connect). */
  connectTimeout: number;
  now?: () => number;
}

/** What the monitor knows about reaching one origin. */
class OriginHealth {
  readonly url: URL;
  /** When its current run of failures began (no response or probe succeeded since); null otherwise. */
  failingSince: number | null = null;
  lastFailureAt: number | null = null;
  lastError: string | null = null;
  recheck: NodeJS.Timeout | undefined = undefined;

  constructor(url: URL) {
    this.url = url;
  }
}

/** The health snapshot's `upstream` part (health-report.ts). */
interface UpstreamHealthSnapshot {
  failingSince: number | null;
  lastFailureAt: number | null;
  lastError: string | null;
  failures: number;
  origins?: { total: number; ejected: number };
}

/**
 * What the gateway knows about reaching its upstream, for operators: every request that could
 * not reach it (refused, reset, timed out, before any response byte) and is answered 502 or
 * 504 is counted by kind in `portcullis_upstream_failures_total` and logged through a
 * `RateLimitedLog` (one line per kind and interval, with a count, the first error, its code,
 * the origin and a request id). A request sent again (exchange.ts) is counted in
 * `portcullis_upstream_retries_total` and is no such failure. Health reports the upstream
 * `degraded` once every origin has failed for a while with no success.
 *
 * With several origins it also hears from the balancer (origin-balancer.ts) when an origin is
 * ejected or restored: logged once each (and once when every origin is out), and counted in
 * `portcullis_upstream_ejections_total` and `portcullis_upstream_restorations_total`.
 *
 * The hot path costs one branch per response (`answered`), taken only while its origin fails.
 */
export class UpstreamMonitor implements OriginEvents {
  readonly #origins: OriginHealth[];
  readonly #logger: Logger;
  readonly #log: RateLimitedLog;
  readonly #connectTimeout: number;
  readonly #now: () => number;
  readonly #failuresByKind: CounterFamily;
  readonly #retries: { connectionClosed: CounterChild; connectFailed: CounterChild };
  readonly #ejections: CounterFamily | null = null;
  readonly #restorations: CounterFamily | null = null;
  readonly #ejected = new Set<number>();
  #failures = 0;
  #closed = false;

  constructor(options: UpstreamMonitorOptions) {
    this.#origins = options.origins.map((url) => new OriginHealth(url));
    this.#logger = options.logger;
    this.#connectTimeout = options.connectTimeout;
    this.#now = options.now ?? Date.now;
    this.#log = new RateLimitedLog(options.logger, { level: 'warn', message: 'upstream unreachable: request answered 502 upstream_unavailable or 504 upstream_timeout' });
    this.#failuresByKind = new CounterFamily(options.registry, 'portcullis_upstream_failures_total', 'Requests the upstream could not be reached for (answered 502 or 504), by kind of failure.', 'kind', ['refused', 'connect_timeout', 'reset', 'timeout', 'dns', 'unreachable', 'tls', 'other']);
    const retries = new CounterFamily(options.registry, 'portcullis_upstream_retries_total', 'Idempotent requests sent again after their kept-alive connection closed before any response byte (on a fresh connection) or, with several origins, after their origin could not be connected to (to another origin).', 'reason', ['connection_closed', 'connect_failed']);
    this.#retries = { connectionClosed: retries.child('connection_closed'), connectFailed: retries.child('connect_failed') };
    if (this.#origins.length > 1) {
      const names = this.#origins.map((origin) => origin.url.origin);
      this.#ejections = new CounterFamily(options.registry, 'portcullis_upstream_ejections_total', 'Times an upstream origin was ejected (skipped) after failing upstream.passiveHealth.failures requests in a row.', 'origin', names);
      this.#restorations = new CounterFamily(options.registry, 'portcullis_upstream_restorations_total', 'Times an ejected upstream origin answered again and went back into the rotation.', 'origin', names);
      new CollectedMetric(options.registry, 'portcullis_upstream_origins_ejected', 'Upstream origins ejected (skipped) right now.', 'gauge', () => [{ value: this.#ejected.size }]);
    }
  }

  /**
   * The health snapshot's `upstream` part: failing since every origin has been failing (the
   * latest start of their runs), and the latest failure of any.
   */
  get snapshot(): UpstreamHealthSnapshot {
    let failingSince: number | null = 0;
    let latest: OriginHealth | null = null;
    for (const origin of this.#origins) {
      failingSince = origin.failingSince === null || failingSince === null ? null : Math.max(failingSince, origin.failingSince);
      if (origin.lastFailureAt !== null && (latest === null || origin.lastFailureAt > (latest.lastFailureAt as number))) latest = origin;
    }
    const snapshot: UpstreamHealthSnapshot = { failingSince: this.#origins.length === 0 ? null : failingSince, lastFailureAt: latest?.lastFailureAt ?? null, lastError: latest?.lastError ?? null, failures: this.#failures };
    if (this.#origins.length > 1) snapshot.origins = { total: this.#origins.length, ejected: this.#ejected.size };
    return snapshot;
  }

  /** The origin answered a request: its run of failures is over. */
  answered(index: number): void {
    const origin = this.#origins[index] as OriginHealth;
    if (origin.failingSince === null) return;
    this.#logger.info({ upstream: origin.url.origin, failedFor: this.#now() - origin.failingSince }, 'upstream answering again');
    this.#recovered(origin);
  }

  /**
   * A request that could not reach the origin goes out again: after its kept-alive connection
   * closed (`connection_closed`), or to another origin after a failed connect (`connect_failed`).
   */
  retried(index: number, error: Error, reason: 'connection_closed' | 'connect_failed'): void {
    (reason === 'connection_closed' ? this.#retries.connectionClosed : this.#retries.connectFailed).inc();
    this.#noteFailure(this.#origins[index] as OriginHealth, errorCode(error));
  }

  /** A request could not reach the origin and is answered 502 or 504 (or was cut off). */
  failed(index: number, error: Error, requestId: string): void {
    const origin = this.#origins[index] as OriginHealth;
    const code = errorCode(error);
    this.#failuresByKind.child(kindOf(code)).inc();
    this.#log.report(error, { upstream: origin.url.origin, reqId: requestId });
    this.#noteFailure(origin, code);
  }

  originEjected(index: number, failures: number, until: number): void {
    this.#ejected.add(index);
    const url = (this.#origins[index] as OriginHealth).url.origin;
    this.#ejections?.child(url).inc();
    this.#logger.warn({ upstream: url, failures, ejectedUntil: new Date(until).toISOString() }, 'upstream origin ejected: it failed too many requests in a row; skipped until then, then sent one request to see whether it is back');
    if (this.#ejected.size === this.#origins.length) this.#logger.error({ origins: this.#origins.length }, 'every upstream origin is ejected: requests go to the one whose last failure is the oldest');
  }

  originRestored(index: number, outFor: number): void {
    this.#ejected.delete(index);
    const url = (this.#origins[index] as OriginHealth).url.origin;
    this.#restorations?.child(url).inc();
    this.#logger.info({ upstream: url, ejectedFor: outFor }, 'upstream origin restored: it answered again and is back in the rotation');
  }

  /**
   * The start-up probe: a TCP connect to each origin, never longer than `connectTimeout`, and a
   * warning for each that cannot be reached; the start does not wait for it. Never throws.
   */
  async probeAtStart(): Promise<void> {
    const codes = await Promise.all(this.#origins.map((origin) => this.#probe(origin)));
    codes.forEach((code, index) => {
      if (code !== null && !this.#closed) this.#logger.warn({ upstream: (this.#origins[index] as OriginHealth).url.origin, code }, 'upstream not reachable at start: requests will be answered 502 upstream_unavailable until it is (the gateway keeps serving and retrying)');
    });
  }

  close(): void {
    this.#closed = true;
    for (const origin of this.#origins) clearInterval(origin.recheck);
    this.#log.close();
  }

  /** A TCP connect to the origin (at start, and every 5 s while it fails): the error code, or null when it connected. */
  async #probe(origin: OriginHealth): Promise<string | null> {
    const startedAt = this.#now();
    const outcome = await tcpConnect(origin.url, this.#connectTimeout);
    if (this.#closed) return outcome;
    if (outcome === null) {
      // A request that failed while the probe ran outweighs the probe's success.
      if (origin.failingSince !== null && (origin.lastFailureAt ?? 0) < startedAt) this.answered(this.#origins.indexOf(origin));
    } else this.#noteFailure(origin, outcome);
    return outcome;
  }

  #noteFailure(origin: OriginHealth, code: string | null): void {
    const now = this.#now();
    this.#failures++;
    origin.lastFailureAt = now;
    origin.lastError = code;
    if (origin.failingSince !== null) return;
    origin.failingSince = now;
    if (this.#closed) return;
    origin.recheck = setInterval(() => void this.#probe(origin), RECHECK_INTERVAL_MS);
    origin.recheck.unref();
  }

  #recovered(origin: OriginHealth): void {
    origin.failingSince = null;
    clearInterval(origin.recheck);
    origin.recheck = undefined;
  }
}

/** Opens and closes one TCP connection to the origin's host and port; the error code, or null on success. */
function tcpConnect(origin: URL, timeout: number): Promise<string | null> {
  const port = origin.port === '' ? (origin.protocol === 'https:' ? 443 : 80) : Number(origin.port);
  const host = origin.hostname.startsWith('[') ? origin.hostname.slice(1, -1) : origin.hostname;
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout });
    socket.once('connect', () => {
      socket.destroy();
      resolve(null);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('UND_ERR_CONNECT_TIMEOUT');
    });
    socket.once('error', (error) => resolve(errorCode(error) ?? 'other'));
  });
}
