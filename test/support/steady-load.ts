/**
 * Steady load for fault tests: `rate` requests per second, each sent on schedule whether or not
 * the earlier ones have been answered (open loop: a fault that slows the gateway must not slow
 * the load down and so hide itself), recording how every request ended: its status and problem
 * code, or the connection error it met.
 *
 * The client behaves like a browser towards failed connections: an idempotent request whose
 * connection closed before any response byte came (a reset, a keep-alive connection the server
 * closed as the request went out) is sent again at once on another connection, up to `retries`
 * times; RFC 9110 §9.2.2 allows it because the request may be repeated. Nothing else is retried:
 * a refused connection (nobody listening), a timeout, or a response cut off after it began count
 * as failures. The connections are kept alive and reused, as by a browser, but not capped at six
 * per host: a client queue would hide the gateway's own latency.
 *
 * @example
 * const load = startSteadyLoad({ origin, label: 'known', rate: 50, target: () => ({ path: '/x', headers: { authorization: `Bearer ${key}` } }) });
 * // … break something …
 * const report = await load.stop();
 * assert.equal(report.count((outcome) => outcome.error !== null), 0, report.summary());
 */
import { Agent, request, type Dispatcher } from 'undici';

export interface LoadTarget {
  path: string;
  headers?: Record<string, string>;
  method?: 'GET' | 'HEAD';
}

export interface SteadyLoadOptions {
  /** `http://host:port` of the gateway. */
  origin: string;
  /** Names the requests of this load in its outcomes and summary. */
  label: string;
  /** Requests started per second. */
  rate: number;
  /** Stop sending after this long (default: until `stop()`). */
  durationMs?: number;
  /** The `index`-th request (from 0). */
  target: (index: number) => LoadTarget;
  /** Times a request whose connection closed before any response byte is sent again (default 2). */
  retries?: number;
  /** Longest wait for response headers, and between body chunks (default 20 s). */
  timeoutMs?: number;
}

export interface LoadOutcome {
  label: string;
  /** `performance.now()` when the request was first sent, and when its last attempt ended. */
  sentAt: number;
  endedAt: number;
  /** The response status; null when no response came. */
  status: number | null;
  /** The problem code of a problem+json response; null otherwise. */
  code: string | null;
  /** Why the last attempt failed (`ECONNRESET`, `UND_ERR_SOCKET`, …); null when a whole response came. */
  error: string | null;
  /** What the first attempt met when the request had to be sent again: what a client without retries would have seen. */
  firstError: string | null;
  attempts: number;
}

/** Errors that mean the connection closed before the response began: safe to repeat an idempotent request. */
const CLOSED_BEFORE_RESPONSE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_SOCKET']);

/** `200`, `503 store_unavailable`, `ECONNRESET`: how an outcome is counted. */
export function outcomeName(outcome: LoadOutcome): string {
  if (outcome.status === null) return outcome.error ?? 'unknown';
  const name = outcome.code === null ? String(outcome.status) : `${outcome.status} ${outcome.code}`;
  return outcome.error === null ? name : `${name} then ${outcome.error}`;
}

export class LoadReport {
  readonly label: string;
  readonly outcomes: readonly LoadOutcome[];

  constructor(label: string, outcomes: readonly LoadOutcome[]) {
    this.label = label;
    this.outcomes = outcomes;
  }

  where(predicate: (outcome: LoadOutcome) => boolean): LoadOutcome[] {
    return this.outcomes.filter(predicate);
  }

  count(predicate: (outcome: LoadOutcome) => boolean): number {
    return this.where(predicate).length;
  }

  /** How many ended each way, e.g. `{ '200': 412, '503 store_unavailable': 88 }`. */
  tally(predicate: (outcome: LoadOutcome) => boolean = () => true): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const outcome of this.where(predicate)) {
      const name = outcomeName(outcome);
      counts[name] = (counts[name] ?? 0) + 1;
    }
    return counts;
  }

  /** One line for the test log: requests, how they ended, retries and the slowest answer. */
  summary(predicate: (outcome: LoadOutcome) => boolean = () => true): string {
    const chosen = this.where(predicate);
    const ends = Object.entries(this.tally(predicate)).sort(([, a], [, b]) => b - a).map(([name, count]) => `${name} ×${count}`).join(', ');
    const retried = chosen.filter((outcome) => outcome.attempts > 1).length;
    const slowest = chosen.reduce((longest, outcome) => Math.max(longest, outcome.endedAt - outcome.sentAt), 0);
    return `${this.label}: ${chosen.length} requests: ${ends || 'none'}; ${retried} sent again after a closed connection; slowest ${Math.round(slowest)} ms`;
  }
}

export interface RunningLoad {
  /** Milliseconds since the load started. */
  elapsed(): number;
  /** The requests that have ended so far (the load goes on). */
  snapshot(): LoadReport;
  /** Stops sending and resolves once every request sent has ended. */
  stop(): Promise<LoadReport>;
  /** Resolves once `durationMs` has passed and every request sent has ended. */
  readonly done: Promise<LoadReport>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function errorCode(error: unknown): string {
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (typeof code === 'string') return code;
  return typeof name === 'string' ? name : 'Error';
}

async function attempt(dispatcher: Dispatcher, origin: string, target: LoadTarget, timeoutMs: number): Promise<Pick<LoadOutcome, 'status' | 'code' | 'error'> & { beforeResponse: boolean }> {
  let response: Dispatcher.ResponseData;
  try {
    response = await request(`${origin}${target.path}`, { method: target.method ?? 'GET', headers: target.headers ?? {}, dispatcher, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  } catch (error) {
    return { status: null, code: null, error: errorCode(error), beforeResponse: true };
  }
  let body: string;
  try {
    body = await response.body.text();
  } catch (error) {
    return { status: response.statusCode, code: null, error: errorCode(error), beforeResponse: false };
  }
  let code: string | null = null;
  if (String(response.headers['content-type']).startsWith('application/problem+json')) {
    try {
      code = (JSON.parse(body) as { code?: string }).code ?? null;
    } catch {
      code = 'unreadable-problem';
    }
  }
  return { status: response.statusCode, code, error: null, beforeResponse: false };
}

/** Starts the load; see the module comment. */
export function startSteadyLoad(options: SteadyLoadOptions): RunningLoad {
  const retries = options.retries ?? 2;
  const timeoutMs = options.timeoutMs ?? 20_000;
  const durationMs = options.durationMs ?? Number.POSITIVE_INFINITY;
  const dispatcher = new Agent({ connections: null, keepAliveTimeout: 4000 });
  const outcomes: LoadOutcome[] = [];
  const inFlight = new Set<Promise<void>>();
  const startedAt = performance.now();
  let stopped = false;

  async function send(index: number): Promise<void> {
    const target = options.target(index);
    const sentAt = performance.now();
    let firstError: string | null = null;
    for (let attempts = 1; ; attempts++) {
      const result = await attempt(dispatcher, options.origin, target, timeoutMs);
      const idempotent = (target.method ?? 'GET') === 'GET' || target.method === 'HEAD';
      if (result.beforeResponse && result.error !== null && idempotent && CLOSED_BEFORE_RESPONSE.has(result.error) && attempts <= retries) {
        firstError ??= result.error;
        continue;
      }
      outcomes.push({ label: options.label, sentAt, endedAt: performance.now(), status: result.status, code: result.code, error: result.error, firstError, attempts });
      return;
    }
  }

  async function schedule(): Promise<LoadReport> {
    const interval = 1000 / options.rate;
    for (let index = 0; !stopped; index++) {
      const due = index * interval;
      if (due >= durationMs) break;
      const wait = startedAt + due - performance.now();
      if (wait > 0) await sleep(wait);
      if (stopped) break;
      const sending = send(index);
      inFlight.add(sending);
      void sending.finally(() => inFlight.delete(sending));
    }
    while (inFlight.size > 0) await Promise.all([...inFlight]);
    await dispatcher.close();
    outcomes.sort((a, b) => a.sentAt - b.sentAt);
    return new LoadReport(options.label, outcomes);
  }

  const done = schedule();
  return {
    elapsed: () => performance.now() - startedAt,
    snapshot: () => new LoadReport(options.label, [...outcomes].sort((a, b) => a.sentAt - b.sentAt)),
    stop: () => {
      stopped = true;
      return done;
    },
    done,
  };
}

/** A target that sends `key` (or a fresh one from `key()` each time) as a Bearer token to `path`. */
export function withKey(key: string | (() => string), path = '/load'): (index: number) => LoadTarget {
  return () => ({ path, headers: { authorization: `Bearer ${typeof key === 'string' ? key : key()}` } });
}

/** Outcomes of requests first sent in [from, to) (`performance.now()` times). */
export function sentBetween(from: number, to: number): (outcome: LoadOutcome) => boolean {
  return (outcome) => outcome.sentAt >= from && outcome.sentAt < to;
}
