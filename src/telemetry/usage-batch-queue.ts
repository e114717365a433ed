import type { KeyUsage } from '../store/key-store.ts';
import { REFUSALS_BEFORE_DROP, storeRefusedWrite } from '../store/store-errors.ts';
import type { UsageMinute } from '../store/usage-store.ts';
import type { UsageWrites } from '../store/usage-writes.ts';

/** Buckets kept for retry while the store cannot be reached; the oldest batches are dropped (and reported). */
const MAX_RETRY_BUCKETS = 100_000;
/** Key ids named in a dropped batch's report. */
const REPORTED_KEY_IDS = 20;

/** What the queue needs of a bucket (`UsageBucket` in usage-recorder.ts). */
export interface QueuedBucket {
  readonly keyId: string;
  readonly minute: number;
  readonly requests: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** 0 when no request was forwarded. */
  readonly lastUsedAt: number;
  readonly lastUsedAddress: string;
  readonly addresses: Set<string>;
  toUsageMinute(): UsageMinute;
}

/**
 * What one flush took from memory: written as a unit, retried as a unit, and never merged
 * with another batch, so a batch the store refuses cannot take later ones down with it.
 */
interface PendingBatch {
  readonly buckets: readonly QueuedBucket[];
  /** Times the store answered and refused it; an unreachable store does not count. */
  refusals: number;
  /** Each half is its own transaction, written once: a refused half does not hold back the other. */
  lastUsesWritten: boolean;
  minutesWritten: boolean;
}

/** What a dropped batch held, for one log line: counts, key ids and minutes, never a key. */
export interface DroppedUsage {
  /** `refused`: the store refused it REFUSALS_BEFORE_DROP times. `overflow`: the store was out of reach too long. */
  reason: 'refused' | 'overflow';
  refusals: number;
  buckets: number;
  keys: number;
  /** The first REPORTED_KEY_IDS distinct key ids. */
  keyIds: string[];
  requests: number;
  bytesIn: number;
  bytesOut: number;
  /** The first and last minute it covered (ms since the epoch). */
  firstMinute: number;
  lastMinute: number;
  /** The last write's error (null for an overflow). */
  error: unknown;
}

/**
 * The usage batches a node has taken from memory and not yet written. An outage keeps them,
 * oldest first, for as long as memory allows; a refusal (the store answered no: a value it
 * cannot hold) is counted per batch, and a batch refused REFUSALS_BEFORE_DROP times is dropped and
 * reported once, so one bad batch is never retried forever nor merged into the next.
 */
export class UsageBatchQueue {
  readonly #store: UsageWrites;
  readonly #onDropped: (dropped: DroppedUsage) => void;
  #pending: PendingBatch[] = [];
  #pendingBuckets = 0;
  #droppedBuckets = 0;

  constructor(store: UsageWrites, onDropped: (dropped: DroppedUsage) => void) {
    this.#store = store;
    this.#onDropped = onDropped;
  }

  get droppedBuckets(): number {
    return this.#droppedBuckets;
  }

  /** Queues one flush's buckets as a new batch. */
  add(buckets: readonly QueuedBucket[]): void {
    if (buckets.length === 0) return;
    this.#pending.push({ buckets, refusals: 0, lastUsesWritten: false, minutesWritten: false });
    this.#pendingBuckets += buckets.length;
    // Bounded memory while the store is out of reach: the oldest batches go first, never the newest.
    while (this.#pendingBuckets > MAX_RETRY_BUCKETS && this.#pending.length > 1) this.#drop(this.#pending[0]!, 'overflow', null);
  }

  /**
   * Writes the pending batches oldest first. When the store is out of reach, stops at the first
   * failure and keeps the rest unchanged; a refused batch does not stop the ones after it.
   * Rejects with the first failure.
   */
  async write(): Promise<void> {
    let failure: { error: unknown } | null = null;
    for (const batch of [...this.#pending]) {
      try {
        await this.#write(batch);
        this.#settle(batch);
      } catch (error) {
        failure ??= { error };
        if (!storeRefusedWrite(error)) break;
        batch.refusals++;
        if (batch.refusals >= REFUSALS_BEFORE_DROP) this.#drop(batch, 'refused', error);
      }
    }
    if (failure !== null) throw failure.error;
  }

  /** Writes what is left of a batch: its last uses, then its minutes, each in its own transaction. */
  async #write(batch: PendingBatch): Promise<void> {
    let refused: { error: unknown } | null = null;
    if (!batch.lastUsesWritten) {
      try {
        await this.#store.recordUsage(lastUses(batch.buckets));
        batch.lastUsesWritten = true;
      } catch (error) {
        if (!storeRefusedWrite(error)) throw error;
        refused = { error };
      }
    }
    if (!batch.minutesWritten) {
      // One transaction, so a retry cannot count twice; last uses only move forward anyway.
      await this.#store.recordUsageMinutes(batch.buckets.map((bucket) => bucket.toUsageMinute()));
      batch.minutesWritten = true;
    }
    if (refused !== null) throw refused.error;
  }

  #drop(batch: PendingBatch, reason: DroppedUsage['reason'], error: unknown): void {
    this.#settle(batch);
    this.#droppedBuckets += batch.buckets.length;
    this.#onDropped(describeDropped(batch, reason, error));
  }

  /** Takes a batch off the queue, written or given up on. */
  #settle(batch: PendingBatch): void {
    const index = this.#pending.indexOf(batch);
    if (index === -1) return;
    this.#pending.splice(index, 1);
    this.#pendingBuckets -= batch.buckets.length;
    // A cached key may still hold its last bucket: let the addresses go now.
    for (const bucket of batch.buckets) bucket.addresses.clear();
  }
}

/** The newest forwarded use of each key in a batch. */
function lastUses(batch: readonly QueuedBucket[]): KeyUsage[] {
  const latest = new Map<string, KeyUsage>();
  for (const bucket of batch) {
    if (bucket.lastUsedAt === 0) continue;
    const known = latest.get(bucket.keyId);
    if (known === undefined || bucket.lastUsedAt > known.lastUsedAt) latest.set(bucket.keyId, { keyId: bucket.keyId, lastUsedAt: bucket.lastUsedAt, lastUsedAddress: bucket.lastUsedAddress });
  }
  return [...latest.values()];
}

function describeDropped(batch: PendingBatch, reason: DroppedUsage['reason'], error: unknown): DroppedUsage {
  const keyIds = new Set<string>();
  const totals = { requests: 0, bytesIn: 0, bytesOut: 0, firstMinute: Number.POSITIVE_INFINITY, lastMinute: Number.NEGATIVE_INFINITY };
  for (const bucket of batch.buckets) {
    keyIds.add(bucket.keyId);
    totals.requests += bucket.requests;
    totals.bytesIn += bucket.bytesIn;
    totals.bytesOut += bucket.bytesOut;
    totals.firstMinute = Math.min(totals.firstMinute, bucket.minute);
    totals.lastMinute = Math.max(totals.lastMinute, bucket.minute);
  }
  return { reason, refusals: batch.refusals, buckets: batch.buckets.length, keys: keyIds.size, keyIds: [...keyIds].slice(0, REPORTED_KEY_IDS), ...totals, error };
}
