import { changeFeedReadsOf, type ChangeFeedReads, type ChangeFeedStore } from '../store/change-feed-reads.ts';
import type { KeyEvent } from '../store/key-store.ts';
import type { KeyVerifier } from './key-verifier.ts';

/** How often a reachable store's log is checked for having gone back (restored in place). */
const RESET_CHECK_INTERVAL = 1000;

/** A poll still running after this long marks the store unreachable (default of `probeTimeout`). */
const DEFAULT_PROBE_TIMEOUT = 2000;

export interface ChangeFeedFollowerOptions {
  pollInterval: number;
  /** Events read per query; a full batch is followed at once by the next. */
  batchSize?: number;
  /** While polls fail, how often to try again (default: the poll interval, at least 250 ms). */
  retryInterval?: number;
  /**
   * A poll that has not completed after this many ms marks the store unreachable at once,
   * without waiting for the query to time out (10 s on PostgreSQL): a hung database (stopped,
   * or a network that drops packets) shows as fast as a refused one. Default 2 s.
   */
  probeTimeout?: number;
  /** Every failed poll (the gateway logs these at debug level). */
  onError?: (error: unknown) => void;
  onApplied?: (seq: number, count: number) => void;
  /** The store became unreachable (with the first error) or reachable again. */
  onReachabilityChange?: (reachable: boolean, error: unknown) => void;
  /** The log's newest seq went backwards (a restored or replaced database): caches were dropped. */
  onLogReset?: (previousSeq: number, latestSeq: number) => void;
  now?: () => number;
}

/** What the follower knows about its store, for health reports. */
export interface ChangeFeedState {
  lastSeq: number;
  reachable: boolean;
  /** When a poll last completed, null before the first. */
  lastContactAt: number | null;
}

/**
 * Follows the store's `key_events` log from the last applied sequence and applies each change
 * to the verifier, so a revocation made anywhere (CLI, admin API, another node) reaches this
 * node within one poll interval. Polling an indexed `seq > ?` query is cheap on every store;
 * on PostgreSQL, `wake()` (called on LISTEN/NOTIFY) reads the log at once instead of at the
 * next tick.
 *
 * Each complete poll tells the verifier the caches are exact as of the poll's start
 * (`markSynchronised`), which bounds how long cached keys are served while the store is
 * unreachable; each failed one tells it the store is out of reach (`markUnreachable`), so a
 * digest it remembers as unknown is no longer answered as invalid. After an outage the follower catches up from its own position, never by
 * trusting what it cached; if the log's newest seq is now *below* that position (the database
 * was restored or replaced, also in place while the node ran, which it checks about once a
 * second), it drops the caches and starts over from the new end.
 *
 * It reads through a `ChangeFeedReads`: the store itself, or on SQLite the change feed thread
 * (src/store/feed-thread/), so this thread only applies what was read. Either way a poll counts
 * as contact only once its read has answered.
 */
export class ChangeFeedFollower {
  readonly #reads: ChangeFeedReads;
  readonly #verifier: KeyVerifier;
  readonly #options: ChangeFeedFollowerOptions & { batchSize: number; retryInterval: number; probeTimeout: number; now: () => number };
  #lastSeq = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #polling: Promise<void> | undefined;
  #wakeRequested = false;
  #reachable = true;
  #lastContactAt: number | null = null;
  #resetCheckedAt = 0;
  /** When the poll in progress began; null between polls. */
  #pollStartedAt: number | null = null;
  #watchdog: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<(events: readonly KeyEvent[]) => void>();

  /** `source`: a store (read on this thread), or reads served elsewhere (the change feed thread). */
  constructor(source: ChangeFeedStore | ChangeFeedReads, verifier: KeyVerifier, options: ChangeFeedFollowerOptions) {
    this.#reads = 'changesSince' in source ? source : changeFeedReadsOf(source);
    this.#verifier = verifier;
    this.#options = { batchSize: 500, retryInterval: Math.max(options.pollInterval, 250), probeTimeout: DEFAULT_PROBE_TIMEOUT, now: Date.now, ...options };
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** When a poll last completed (ms since the epoch, taken at its start); null before the first. */
  get caughtUpAt(): number | null {
    return this.#lastContactAt;
  }

  /**
   * Hears every batch of events after it has been applied (the admin API streams them to the
   * dashboard). Returns the function that unsubscribes.
   */
  subscribe(listener: (events: readonly KeyEvent[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get state(): ChangeFeedState {
    return { lastSeq: this.#lastSeq, reachable: this.#reachable, lastContactAt: this.#lastContactAt };
  }

  /** Starts from the newest event: the caches are empty, so older events have nothing to correct. */
  async start(): Promise<void> {
    const startedAt = this.#options.now();
    this.#lastSeq = await this.#reads.latestEventSeq();
    this.#contact(startedAt);
    this.#running = true;
    this.#schedule(this.#options.pollInterval);
    this.#watchdog = setInterval(() => this.#checkPollOverdue(), Math.max(20, Math.min(100, this.#options.probeTimeout / 10)));
    this.#watchdog.unref();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    clearInterval(this.#watchdog);
    await this.#polling;
  }

  /** Reads the log now rather than at the next tick (a notification said it changed). */
  wake(): void {
    if (!this.#running) return;
    if (this.#polling !== undefined) {
      this.#wakeRequested = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#poll();
  }

  /** Reads and applies every event after the last applied one; throws when the store fails. */
  async pollOnce(): Promise<number> {
    const startedAt = this.#options.now();
    this.#pollStartedAt = startedAt;
    let applied: number;
    try {
      // After an outage, and about once a second otherwise (a store restored in place while
      // this node polled), make sure the log is still the one this node followed.
      if (!this.#reachable || startedAt - this.#resetCheckedAt >= RESET_CHECK_INTERVAL) {
        this.#resetCheckedAt = startedAt;
        await this.#detectLogReset();
      }
      applied = await this.#applyPendingEvents();
    } catch (error) {
      this.#verifier.markUnreachable();
      if (this.#reachable) {
        this.#reachable = false;
        this.#options.onReachabilityChange?.(false, error);
      }
      throw error;
    } finally {
      this.#pollStartedAt = null;
    }
    this.#contact(startedAt);
    if (applied > 0) this.#options.onApplied?.(this.#lastSeq, applied);
    return applied;
  }

  async #applyPendingEvents(): Promise<number> {
    let applied = 0;
    for (;;) {
      const { events, records } = await this.#reads.changesSince(this.#lastSeq, this.#options.batchSize);
      if (events.length === 0) break;
      for (const record of records) this.#verifier.applyChange(record);
      this.#lastSeq = (events[events.length - 1] as { seq: number }).seq;
      applied += events.length;
      for (const listener of this.#listeners) {
        try {
          listener(events);
        } catch (error) {
          this.#options.onError?.(error);
        }
      }
      if (events.length < this.#options.batchSize) break;
    }
    return applied;
  }

  /** A poll running for longer than `probeTimeout`: the store does not answer (it may never refuse). */
  #checkPollOverdue(): void {
    const startedAt = this.#pollStartedAt;
    if (startedAt === null || !this.#reachable) return;
    const running = this.#options.now() - startedAt;
    if (running < this.#options.probeTimeout) return;
    this.#markUnreachable(Object.assign(new Error(`change feed poll has not completed after ${running} ms: the key store does not answer`), { code: 'POLL_TIMEOUT' }));
  }

  #markUnreachable(error: unknown): void {
    this.#verifier.markUnreachable();
    if (!this.#reachable) return;
    this.#reachable = false;
    this.#options.onReachabilityChange?.(false, error);
  }

  /** A log whose end is behind our position is not the log we followed: drop the caches, follow the new one. */
  async #detectLogReset(): Promise<void> {
    const latest = await this.#reads.latestEventSeq();
    if (latest >= this.#lastSeq) return;
    const previous = this.#lastSeq;
    this.#verifier.clear();
    this.#lastSeq = latest;
    this.#options.onLogReset?.(previous, latest);
  }

  /** A poll completed: the caches are exact as of `startedAt`. */
  #contact(startedAt: number): void {
    this.#lastContactAt = startedAt;
    this.#verifier.markSynchronised(startedAt);
    if (!this.#reachable) {
      this.#reachable = true;
      this.#options.onReachabilityChange?.(true, null);
    }
  }

  #poll(): void {
    this.#timer = undefined;
    const polling = this.pollOnce().then(
      () => true,
      (error: unknown) => {
        this.#options.onError?.(error);
        return false;
      },
    );
    this.#polling = polling.then((succeeded) => {
      this.#polling = undefined;
      if (!this.#running) return;
      if (this.#wakeRequested) {
        this.#wakeRequested = false;
        this.#poll();
      } else this.#schedule(succeeded ? this.#options.pollInterval : this.#options.retryInterval);
    });
  }

  #schedule(delay: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => this.#poll(), delay);
    this.#timer.unref();
  }
}
