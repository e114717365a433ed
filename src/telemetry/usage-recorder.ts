import type { UsageMinute, WouldDenyMinute } from '../store/usage-store.ts';
import type { UsageWrites } from '../store/usage-writes.ts';
import { ApiUsage } from './api-usage.ts';
import { UsageBatchQueue, type DroppedUsage } from './usage-batch-queue.ts';

const MINUTE = 60_000;
/** Distinct addresses kept per key and minute on one node: bounds memory whatever clients do. */
export const MAX_ADDRESSES_PER_MINUTE = 256;
const PURGE_EVERY = 60 * MINUTE;
/**
 * Distinct (minute, code, API, route, key) would-deny rows kept between flushes on one node;
 * past it, a would-deny is counted under OTHER_ROUTES without its key, so totals per code stay
 * exact however many paths a client makes up.
 */
export const MAX_WOULD_DENY_ROWS = 2000;
export const OTHER_ROUTES = '(other routes)';
/** Would-deny rows kept for the store while it is out of reach; the oldest go first past it. */
const MAX_PENDING_WOULD_DENY_ROWS = 100_000;

/** One key's counts for one minute on this node. */
export class UsageBucket {
  readonly keyId: string;
  readonly minute: number;
  requests = 0;
  bytesIn = 0;
  bytesOut = 0;
  denials: Record<string, number> | null = null;
  readonly addresses = new Set<string>();
  /** WebSockets of this key opened in this minute, and the most open at once on this node. */
  websocketsOpened = 0;
  websocketsPeak = 0;
  /** Last forwarded request (0 when there was none). */
  lastUsedAt = 0;
  lastUsedAddress = '';
  /** Set once the bucket has left the current minute's map (minute over, or taken by a flush): nothing may be added to it after that. */
  closed = false;

  constructor(keyId: string, minute: number) {
    this.keyId = keyId;
    this.minute = minute;
  }

  addAddress(address: string): void {
    if (this.addresses.size < MAX_ADDRESSES_PER_MINUTE) this.addresses.add(address);
  }

  countDenial(code: string): void {
    const denials = (this.denials ??= {});
    denials[code] = (denials[code] ?? 0) + 1;
  }

  toUsageMinute(): UsageMinute {
    const usage: UsageMinute = { keyId: this.keyId, minute: this.minute, requests: this.requests, bytesIn: this.bytesIn, bytesOut: this.bytesOut, denials: this.denials ?? {}, addresses: [...this.addresses] };
    if (this.websocketsPeak > 0) {
      usage.websocketsOpened = this.websocketsOpened;
      usage.websocketsPeak = this.websocketsPeak;
    }
    return usage;
  }
}

/**
 * Where a caller keeps the bucket it last used for one key (the key cache's entry does), so the
 * next request of that key finds it without a map lookup: per-key lookups are cold in memory
 * when many keys take turns, and that showed in the benchmark.
 */
export interface UsageBucketHolder {
  usageBucket: UsageBucket | null;
}

export interface UsageRecorderOptions {
  /** How long per-minute usage is kept in the store; older minutes are purged about hourly. */
  retention: number;
  onError?: (error: unknown) => void;
  /** Told once for each batch that is given up on. */
  onDropped?: (dropped: DroppedUsage) => void;
}

/**
 * Aggregates usage in memory and writes it to the store in one batch per interval: the hot
 * path only updates a bucket's fields, never the database. In the gateway the writes go to the
 * store write thread (src/store/write-thread/), so not even the flush touches the store here. Per key it keeps, per minute:
 * requests, denials by code, bytes in and out, and distinct addresses; and the last-used time
 * and address, which `keys list` shows.
 */
export class UsageRecorder {
  readonly #store: UsageWrites;
  readonly #options: UsageRecorderOptions;
  #current = new Map<string, UsageBucket>();
  /** Buckets of a minute that has ended, waiting for the next flush. */
  #finished: UsageBucket[] = [];
  /** Batches taken by earlier flushes and not written yet. */
  readonly #batches: UsageBatchQueue;
  /** The flush under way: flushes run one at a time, or two would write one batch twice. */
  #flushing: Promise<void> | null = null;
  #timer: NodeJS.Timeout | undefined;
  #lastPurge = 0;
  /** Would-denies since the last flush, by minute, code, API, route and key. */
  #wouldDenies = new Map<string, WouldDenyMinute>();
  /** Would-deny rows a flush could not write yet, oldest first. */
  #pendingWouldDenies: WouldDenyMinute[] = [];
  #droppedWouldDenies = 0;
  /** Requests per API and outcome, once the gateway has named its APIs (`countApis`). */
  #apis: ApiUsage | null = null;

  constructor(store: UsageWrites, options: UsageRecorderOptions) {
    this.#store = store;
    this.#options = options;
    this.#batches = new UsageBatchQueue(store, (dropped) => options.onDropped?.(dropped));
  }

  /** The bucket for a key in the minute of `now` (a new one when the minute turns). */
  #bucket(keyId: string, now: number): UsageBucket {
    const minute = now - (now % MINUTE);
    let bucket = this.#current.get(keyId);
    if (bucket === undefined || bucket.minute !== minute) {
      if (bucket !== undefined) {
        bucket.closed = true;
        this.#finished.push(bucket);
      }
      bucket = new UsageBucket(keyId, minute);
      this.#current.set(keyId, bucket);
    }
    return bucket;
  }

  /**
   * `#bucket`, but first the one `holder` kept, while it is still open and of this minute: an
   * open bucket is the one `#current` holds for its key and minute, so the answer is the same.
   */
  #bucketVia(holder: UsageBucketHolder | null, keyId: string, now: number): UsageBucket {
    if (holder === null) return this.#bucket(keyId, now);
    const held = holder.usageBucket;
    if (held !== null && !held.closed && held.keyId === keyId && now >= held.minute && now < held.minute + MINUTE) return held;
    return (holder.usageBucket = this.#bucket(keyId, now));
  }

  /**
   * A forwarded request, told once when its exchange is over: counted in the minute it ends
   * (`endedAt`), with its bytes both ways and the code the gateway answered with if the
   * upstream failed; its arrival (`usedAt`) moves the last-used facts. `holder`: see
   * UsageBucketHolder.
   */
  recordExchange(keyId: string, address: string, usedAt: number, endedAt: number, bytesIn: number, bytesOut: number, failureCode: string | null, holder: UsageBucketHolder | null = null): void {
    const bucket = this.#bucketVia(holder, keyId, endedAt);
    // The last-used address was added when it was recorded: skip the set for a client that repeats.
    const repeated = bucket.lastUsedAt !== 0 && address === bucket.lastUsedAddress;
    bucket.requests++;
    bucket.bytesIn += bytesIn;
    bucket.bytesOut += bytesOut;
    if (!repeated) bucket.addAddress(address);
    if (usedAt >= bucket.lastUsedAt) {
      bucket.lastUsedAt = usedAt;
      bucket.lastUsedAddress = address;
    }
    if (failureCode !== null) bucket.countDenial(failureCode);
  }

  /** A request presenting this key that the gateway refused. */
  recordDenial(keyId: string, address: string, now: number, code: string): void {
    const bucket = this.#bucket(keyId, now);
    bucket.requests++;
    bucket.addAddress(address);
    bucket.countDenial(code);
  }

  /** Counts requests per API (by index into `names`) and outcome from now on, written at each flush with the rest. */
  countApis(names: readonly string[]): ApiUsage {
    return (this.#apis = new ApiUsage(names));
  }

  /**
   * A WebSocket of this key was opened (the upstream answered 101); `open` is how many of the
   * key's WebSockets are open on this node now, this one included.
   */
  recordWebSocketOpened(keyId: string, now: number, open: number): void {
    const bucket = this.#bucket(keyId, now);
    bucket.websocketsOpened++;
    if (open > bucket.websocketsPeak) bucket.websocketsPeak = open;
  }

  /**
   * How many of the key's WebSockets are still open on this node: told at least once a minute
   * while any is, so that a minute in which none was opened still has its peak.
   */
  recordWebSocketsOpen(keyId: string, now: number, open: number): void {
    const bucket = this.#bucket(keyId, now);
    if (open > bucket.websocketsPeak) bucket.websocketsPeak = open;
  }

  /** A request a policy in report mode let through that enforcing would have refused with `code`. */
  recordWouldDeny(now: number, code: string, api: string, route: string, keyId: string | null): void {
    const minute = now - (now % MINUTE);
    let id = `${minute}\u0000${code}\u0000${api}\u0000${route}\u0000${keyId ?? ''}`;
    let row = this.#wouldDenies.get(id);
    if (row === undefined && this.#wouldDenies.size >= MAX_WOULD_DENY_ROWS) {
      [route, keyId] = [OTHER_ROUTES, null];
      id = `${minute}\u0000${code}\u0000${api}\u0000${route}\u0000`;
      row = this.#wouldDenies.get(id);
    }
    if (row === undefined) this.#wouldDenies.set(id, (row = { minute, code, api, route, keyId, requests: 0 }));
    row.requests++;
  }

  start(interval: number): void {
    this.#timer = setInterval(() => {
      // A flush still waiting on a slow store is not joined by another.
      if (this.#flushing === null) this.flush().catch((error: unknown) => this.#options.onError?.(error));
    }, interval);
    this.#timer.unref();
  }

  /** Would-deny rows given up on: the store was out of reach while more than 100,000 waited. */
  get droppedWouldDenies(): number {
    return this.#droppedWouldDenies;
  }

  /** Buckets dropped: refused by the store REFUSALS_BEFORE_DROP (store-errors.ts) times, or kept too long while it was out of reach. */
  get dropped(): number {
    return this.#batches.droppedBuckets;
  }

  /**
   * Writes what has accumulated, and every batch still pending, oldest first. A batch the store
   * could not be reached for is kept for the next flush (nothing is lost to an outage); one it
   * refused is tried again at the next flushes and dropped, reported, after REFUSALS_BEFORE_DROP.
   * Rejects with the first failure, after trying every batch it could.
   */
  async flush(now = Date.now()): Promise<void> {
    while (this.#flushing !== null) await this.#flushing.catch(() => {});
    const flushing = this.#flushOnce(now);
    this.#flushing = flushing;
    try {
      await flushing;
    } finally {
      if (this.#flushing === flushing) this.#flushing = null;
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }

  /** The would-denies to write now: those left by earlier flushes, then the new ones (bounded). */
  #takeWouldDenies(): WouldDenyMinute[] {
    const rows = this.#pendingWouldDenies;
    for (const row of this.#wouldDenies.values()) rows.push(row);
    this.#wouldDenies = new Map();
    this.#pendingWouldDenies = [];
    const excess = rows.length - MAX_PENDING_WOULD_DENY_ROWS;
    if (excess > 0) this.#droppedWouldDenies += rows.splice(0, excess).length;
    return rows;
  }

  /** Writes would-deny rows; kept for the next flush when the store fails (counts only add, so no row is written twice). */
  async #writeWouldDenies(rows: WouldDenyMinute[]): Promise<void> {
    if (rows.length === 0) return;
    try {
      await this.#store.recordWouldDenyMinutes(rows);
    } catch (error) {
      this.#pendingWouldDenies = rows.concat(this.#pendingWouldDenies);
      throw error;
    }
  }

  /** Writes the per-API rows; those the store could not take are kept for the next flush (counts only add, so none is written twice). */
  async #writeApiUsage(): Promise<void> {
    const apis = this.#apis;
    if (apis === null) return;
    const rows = apis.take();
    if (rows.length === 0) return;
    try {
      await this.#store.recordApiUsageMinutes(rows);
    } catch (error) {
      apis.keep(rows);
      throw error;
    }
  }

  async #flushOnce(now: number): Promise<void> {
    const buckets = this.#finished;
    for (const bucket of this.#current.values()) {
      bucket.closed = true;
      buckets.push(bucket);
    }
    this.#current = new Map();
    this.#finished = [];
    this.#batches.add(buckets);
    const wouldDenies = this.#takeWouldDenies();
    // Both are tried whatever the other did; each keeps what it could not write.
    const results = await Promise.allSettled([this.#batches.write(), this.#writeWouldDenies(wouldDenies), this.#writeApiUsage()]);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    if (now - this.#lastPurge >= PURGE_EVERY) {
      this.#lastPurge = now;
      await this.#store.purgeUsageBefore(now - this.#options.retention);
    }
  }
}

