import type { KeyStore, KeyUsage } from '../store/key-store.ts';

/**
 * Aggregates last-used facts in memory and writes them to the store in one batch per
 * interval: the hot path only updates a map entry, never the database.
 */
export class UsageRecorder {
  readonly #store: KeyStore;
  #pending = new Map<string, KeyUsage>();
  #timer: NodeJS.Timeout | undefined;
  #onError: (error: unknown) => void;

  constructor(store: KeyStore, onError: (error: unknown) => void = () => {}) {
    this.#store = store;
    this.#onError = onError;
  }

  record(keyId: string, address: string, now: number): void {
    const usage = this.#pending.get(keyId);
    if (usage === undefined) this.#pending.set(keyId, { keyId, lastUsedAt: now, lastUsedAddress: address });
    else if (now >= usage.lastUsedAt) {
      usage.lastUsedAt = now;
      usage.lastUsedAddress = address;
    }
  }

  start(interval: number): void {
    this.#timer = setInterval(() => {
      this.flush().catch(this.#onError);
    }, interval);
    this.#timer.unref();
  }

  /** Writes what has accumulated; on failure the batch is merged back so nothing is lost. */
  async flush(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    try {
      await this.#store.recordUsage([...batch.values()]);
    } catch (error) {
      for (const usage of batch.values()) this.record(usage.keyId, usage.lastUsedAddress, usage.lastUsedAt);
      throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}
