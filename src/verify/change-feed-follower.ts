import type { KeyEvent, KeyStore } from '../store/key-store.ts';
import type { KeyVerifier } from './key-verifier.ts';

export interface ChangeFeedFollowerOptions {
  pollInterval: number;
  /** Events read per query; a full batch is followed at once by the next. */
  batchSize?: number;
  onError?: (error: unknown) => void;
  onApplied?: (seq: number, count: number) => void;
}

/**
 * Follows the store's `key_events` log from the last applied sequence and applies each change
 * to the verifier, so a revocation made anywhere (CLI, admin API, another node) reaches this
 * node within one poll interval. Polling an indexed `seq > ?` query is cheap on SQLite.
 */
export class ChangeFeedFollower {
  readonly #store: KeyStore;
  readonly #verifier: KeyVerifier;
  readonly #options: Required<Omit<ChangeFeedFollowerOptions, 'onError' | 'onApplied'>> & ChangeFeedFollowerOptions;
  #lastSeq = 0;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #polling: Promise<void> | undefined;
  #caughtUpAt: number | null = null;
  readonly #listeners = new Set<(events: readonly KeyEvent[]) => void>();

  constructor(store: KeyStore, verifier: KeyVerifier, options: ChangeFeedFollowerOptions) {
    this.#store = store;
    this.#verifier = verifier;
    this.#options = { batchSize: 500, ...options };
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** When the last poll found nothing more to read (ms since the epoch); null before the first. */
  get caughtUpAt(): number | null {
    return this.#caughtUpAt;
  }

  /**
   * Hears every batch of events after it has been applied (the admin API streams them to the
   * dashboard). Returns the function that unsubscribes.
   */
  subscribe(listener: (events: readonly KeyEvent[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts from the newest event: the caches are empty, so older events have nothing to correct. */
  async start(): Promise<void> {
    this.#lastSeq = await this.#store.latestEventSeq();
    this.#caughtUpAt = Date.now();
    this.#running = true;
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#polling;
  }

  /** Reads and applies every event after the last applied one. */
  async pollOnce(): Promise<number> {
    let applied = 0;
    for (;;) {
      const events = await this.#store.eventsSince(this.#lastSeq, this.#options.batchSize);
      if (events.length === 0) break;
      const keyIds = new Set(events.map((event) => event.keyId));
      for (const keyId of keyIds) {
        const record = await this.#store.getKeyById(keyId);
        if (record !== null) this.#verifier.applyChange(record);
      }
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
    this.#caughtUpAt = Date.now();
    if (applied > 0) this.#options.onApplied?.(this.#lastSeq, applied);
    return applied;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#polling = this.pollOnce()
        .then(() => undefined, (error: unknown) => this.#options.onError?.(error))
        .finally(() => this.#schedule());
    }, this.#options.pollInterval);
    this.#timer.unref();
  }
}
