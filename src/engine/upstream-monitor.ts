import { connect } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { CounterFamily, type CounterChild } from '../telemetry/fast-metrics.ts';
import { RateLimitedLog } from '../telemetry/rate-limited-log.ts';

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
  /** The upstream's origin, as the logs name it. */
  origin: URL;
  logger: Logger;
  /** The gateway's metrics registry. */
  registry: Registry;
  /** Limit on a reachability probe (a TCP connect). */
  connectTimeout: number;
  now?: () => number;
}

/**
 * What the gateway knows about reaching its upstream, for operators: every failure to reach
 * it (refused, reset, timed out, before any response byte) is counted by kind in
 * `portcullis_upstream_failures_total` and logged through a `RateLimitedLog` (one line per
 * kind and interval, with a count, the first error, its code, the upstream and a request id),
 * and health reports the upstream `degraded` once it has failed for a while with no success.
 * A stale keep-alive connection that is retried (exchange.ts) is counted in
 * `portcullis_upstream_retries_total` and is no failure.
 *
 * The hot path costs one branch per response (`answered`), taken only while failing.
 */
export class UpstreamMonitor {
  readonly #origin: URL;
  readonly #logger: Logger;
  readonly #log: RateLimitedLog;
  readonly #connectTimeout: number;
  readonly #now: () => number;
  readonly #failuresByKind: CounterFamily;
  readonly #retries: CounterChild;
  #failingSince: number | null = null;
  #lastFailureAt: number | null = null;
  #lastError: string | null = null;
  #failures = 0;
  #recheck: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: UpstreamMonitorOptions) {
    this.#origin = options.origin;
    this.#logger = options.logger;
    this.#connectTimeout = options.connectTimeout;
    this.#now = options.now ?? Date.now;
    this.#log = new RateLimitedLog(options.logger, { level: 'warn', message: 'upstream unreachable: request answered 502 upstream_unavailable or 504 upstream_timeout' });
    this.#failuresByKind = new CounterFamily(options.registry, 'portcullis_upstream_failures_total', 'Requests the upstream could not be reached for (answered 502 or 504), by kind of failure.', 'kind', ['refused', 'connect_timeout', 'reset', 'timeout', 'dns', 'unreachable', 'tls', 'other']);
    const retries = new CounterFamily(options.registry, 'portcullis_upstream_retries_total', 'Idempotent requests sent again on a fresh connection after the upstream closed a kept-alive one before answering.', 'reason', ['connection_closed']);
    this.#retries = retries.child('connection_closed');
  }

  /** The health snapshot's `upstream` part. */
  get snapshot(): { failingSince: number | null; lastFailureAt: number | null; lastError: string | null; failures: number } {
    return { failingSince: this.#failingSince, lastFailureAt: this.#lastFailureAt, lastError: this.#lastError, failures: this.#failures };
  }

  /** The upstream answered a request: any run of failures is over. */
  answered(): void {
    if (this.#failingSince === null) return;
    this.#logger.info({ upstream: this.#origin.origin, failedFor: this.#now() - this.#failingSince }, 'upstream answering again');
    this.#recovered();
  }

  /** A request went out again on a fresh connection after a kept-alive one was closed under it. */
  retried(): void {
    this.#retries.inc();
  }

  /** A request could not reach the upstream and is answered 502 or 504 (or was cut off). */
  failed(error: Error, requestId: string): void {
    const code = errorCode(error);
    this.#failuresByKind.child(kindOf(code)).inc();
    this.#log.report(error, { upstream: this.#origin.origin, reqId: requestId });
    this.#noteFailure(code);
  }

  /**
   * A TCP connect to the upstream, never longer than `connectTimeout`: at start, to warn (and
   * not block) when it cannot be reached, and every 5 s while it is failing. Resolves with the
   * error code, or null when it connected.
   */
  async probe(): Promise<string | null> {
    const startedAt = this.#now();
    const outcome = await tcpConnect(this.#origin, this.#connectTimeout);
    if (this.#closed) return outcome;
    if (outcome === null) {
      // A request that failed while the probe ran outweighs the probe's success.
      if (this.#failingSince !== null && (this.#lastFailureAt ?? 0) < startedAt) this.answered();
    } else this.#noteFailure(outcome);
    return outcome;
  }

  /** The start-up probe: a warning when the upstream cannot be reached; never throws. */
  async probeAtStart(): Promise<void> {
    const code = await this.probe();
    if (code !== null && !this.#closed) this.#logger.warn({ upstream: this.#origin.origin, code }, 'upstream not reachable at start: requests will be answered 502 upstream_unavailable until it is (the gateway keeps serving and retrying)');
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#recheck);
    this.#log.close();
  }

  #noteFailure(code: string | null): void {
    const now = this.#now();
    this.#failures++;
    this.#lastFailureAt = now;
    this.#lastError = code;
    if (this.#failingSince !== null) return;
    this.#failingSince = now;
    if (this.#closed) return;
    this.#recheck = setInterval(() => void this.probe(), RECHECK_INTERVAL_MS);
    this.#recheck.unref();
  }

  #recovered(): void {
    this.#failingSince = null;
    clearInterval(this.#recheck);
    this.#recheck = undefined;
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
