import type { Logger } from 'pino';

type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export interface RateLimitedLogOptions {
  level: LogLevel;
  /** The line's message; the same for every error it reports, so the lines can be searched for. */
  message: string;
  /** At most one line per kind of error per interval, in ms (default 10 s). */
  interval?: number;
  /** Kinds followed apart; errors of any further kind share one, `other` (default 16). */
  maxKinds?: number;
}

/** One kind's current interval: how many errors it suppressed, and the first of them. */
interface Interval {
  suppressed: number;
  first: { error: unknown; fields: Record<string, unknown> | undefined } | null;
  timer: NodeJS.Timeout;
}

const DEFAULT_INTERVAL = 10_000;
const DEFAULT_MAX_KINDS = 16;

/**
 * Logs an error that can repeat once per request (a store lookup during an outage) without
 * flooding the log: per kind of error (its name and code), the first is logged at once, with
 * its stack; the ones that follow within the interval are only counted, and when the interval
 * ends one line reports how many there were, with the first of them. A kind that stays quiet
 * for a whole interval is logged at once again the next time. Reporting an error that is being
 * counted costs a map lookup and an increment; nothing reads the clock.
 *
 * Each line has `count` (how many errors it stands for) and `intervalMs`, besides `err`.
 *
 * @example
 * const lookups = new RateLimitedLog(logger, { level: 'error', message: 'key store lookup failed' });
 * onStoreError: (error) => lookups.report(error),
 * // on shutdown: lookups.close() writes what is still counted
 */
export class RateLimitedLog {
  readonly #logger: Logger;
  readonly #level: LogLevel;
  readonly #message: string;
  readonly #interval: number;
  readonly #maxKinds: number;
  readonly #intervals = new Map<string, Interval>();

  constructor(logger: Logger, options: RateLimitedLogOptions) {
    const interval = options.interval ?? DEFAULT_INTERVAL;
    const maxKinds = options.maxKinds ?? DEFAULT_MAX_KINDS;
    if (!(interval > 0)) throw new RangeError(`interval must be a positive number of ms, got ${interval}`);
    if (!Number.isInteger(maxKinds) || maxKinds < 1) throw new RangeError(`maxKinds must be a positive integer, got ${maxKinds}`);
    this.#logger = logger;
    this.#level = options.level;
    this.#message = options.message;
    this.#interval = interval;
    this.#maxKinds = maxKinds;
  }

  /** Reports one error; `fields` go on its line if it is the one logged. */
  report(error: unknown, fields?: Record<string, unknown>): void {
    // A level the logger leaves out (debug, usually) costs no map and no timer.
    if (!this.#logger.isLevelEnabled(this.#level)) return;
    let kind = errorKind(error);
    if (!this.#intervals.has(kind) && this.#intervals.size >= this.#maxKinds) kind = 'other';
    const current = this.#intervals.get(kind);
    if (current !== undefined) {
      current.suppressed++;
      current.first ??= { error, fields };
      return;
    }
    this.#write(kind, error, fields, 1);
    this.#intervals.set(kind, { suppressed: 0, first: null, timer: this.#endLater(kind) });
  }

  /** Writes the counts still held and stops the timers (at shutdown). */
  close(): void {
    for (const [kind, interval] of this.#intervals) {
      clearTimeout(interval.timer);
      if (interval.first !== null) this.#write(kind, interval.first.error, interval.first.fields, interval.suppressed);
    }
    this.#intervals.clear();
  }

  #endLater(kind: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.#end(kind), this.#interval);
    timer.unref();
    return timer;
  }

  /** An interval is over: report what it suppressed and start another, or forget a kind that went quiet. */
  #end(kind: string): void {
    const interval = this.#intervals.get(kind);
    if (interval === undefined) return;
    if (interval.first === null) {
      this.#intervals.delete(kind);
      return;
    }
    this.#write(kind, interval.first.error, interval.first.fields, interval.suppressed);
    interval.suppressed = 0;
    interval.first = null;
    interval.timer = this.#endLater(kind);
  }

  #write(kind: string, error: unknown, fields: Record<string, unknown> | undefined, count: number): void {
    this.#logger[this.#level]({ ...fields, err: error, kind, count, intervalMs: this.#interval }, this.#message);
  }
}

/** An error's kind: its class name and code (`Error:ECONNREFUSED`, `DatabaseError:57P01`). */
function errorKind(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? `${error.name}:${code}` : error.name;
}
