/**
 * The `jti` values of the DPoP proofs accepted within their time window (RFC 9449 §11.1), so
 * that a proof is accepted once. Each entry is kept until the proof it came from would be
 * refused for its age anyway (its `iat` plus the window), then forgotten: after that, the `iat`
 * check refuses a replay, so the cache never needs to hold more than one window of proofs.
 *
 * Memory is bounded by `capacity`. When the cache is full of entries still inside their window
 * it refuses the new proof (`full`) instead of evicting one: forgetting a live entry would let
 * that proof be replayed, which is exactly what the cache is for. So a full cache fails closed
 * (503, `Retry-After` until the oldest entry leaves) and cannot be flushed to make room for a
 * replay. Only proofs that passed every other check (signature, key binding to a valid token,
 * `htm`/`htu`, `iat`) are remembered, so filling it takes valid tokens, which the per-key rate
 * limits meter. Size it as window × peak accepted proofs per second.
 *
 * Expired entries leave in expiry order through a binary min-heap: each entry is pushed and
 * popped once, O(log n), with no timer and no scan of the whole cache.
 */
import type { SharedReplayClaims } from '../shared-replay.ts';

/** What `remember` found: a first use (now remembered), a replay, or no room. */
export type ReplayVerdict = 'fresh' | 'replayed' | 'full';

/** What the DPoP proof check asks of a replay cache: this node's alone, or shared with every node. */
export interface ProofReplayCache {
  remember(key: string, expiresAt: number, now: number): ReplayVerdict | Promise<ReplayVerdict>;
  msUntilRoom(now: number): number;
}

/**
 * A `JtiReplayCache` shared with every node through Redis (src/verify/shared-replay.ts): the
 * local cache answers first, then a first use on this node is claimed once across the cluster.
 */
export class SharedJtiReplayCache implements ProofReplayCache {
  readonly #local: JtiReplayCache;
  readonly #shared: SharedReplayClaims;

  constructor(local: JtiReplayCache, shared: SharedReplayClaims) {
    this.#local = local;
    this.#shared = shared;
  }

  remember(key: string, expiresAt: number, now: number): ReplayVerdict | Promise<ReplayVerdict> {
    const verdict = this.#local.remember(key, expiresAt, now);
    return verdict === 'fresh' ? this.#shared.claim(key, expiresAt, now) : verdict;
  }

  msUntilRoom(now: number): number {
    return this.#local.msUntilRoom(now);
  }
}

export class JtiReplayCache implements ProofReplayCache {
  /** Key → expiry (ms since the epoch). */
  readonly #expiries = new Map<string, number>();
  // The heap as two parallel arrays (expiry, key): no object per entry.
  readonly #heapExpiries: number[] = [];
  readonly #heapKeys: string[] = [];
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Invalid replay cache capacity: ${capacity} (a positive integer)`);
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#expiries.size;
  }

  /**
   * Remembers `key` until `expiresAt` unless it is already remembered (`replayed`) or there is
   * no room (`full`). Synchronous: two requests with one proof cannot both see it as fresh.
   */
  remember(key: string, expiresAt: number, now: number): ReplayVerdict {
    this.#forgetExpired(now);
    const known = this.#expiries.get(key);
    if (known !== undefined) return 'replayed';
    if (this.#expiries.size >= this.#capacity) return 'full';
    this.#expiries.set(key, expiresAt);
    this.#push(expiresAt, key);
    return 'fresh';
  }

  /** Milliseconds until the oldest entry leaves (0 when empty): the `Retry-After` of a full cache. */
  msUntilRoom(now: number): number {
    const oldest = this.#heapExpiries[0];
    return oldest === undefined ? 0 : Math.max(0, oldest - now);
  }

  #forgetExpired(now: number): void {
    while (this.#heapExpiries.length > 0 && this.#heapExpiries[0]! <= now) {
      this.#expiries.delete(this.#heapKeys[0]!);
      this.#pop();
    }
  }

  #push(expiresAt: number, key: string): void {
    const expiries = this.#heapExpiries;
    const keys = this.#heapKeys;
    let index = expiries.length;
    expiries.push(expiresAt);
    keys.push(key);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (expiries[parent]! <= expiresAt) break;
      expiries[index] = expiries[parent]!;
      keys[index] = keys[parent]!;
      index = parent;
    }
    expiries[index] = expiresAt;
    keys[index] = key;
  }

  #pop(): void {
    const expiries = this.#heapExpiries;
    const keys = this.#heapKeys;
    const lastExpiry = expiries.pop()!;
    const lastKey = keys.pop()!;
    const length = expiries.length;
    if (length === 0) return;
    let index = 0;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= length) break;
      if (child + 1 < length && expiries[child + 1]! < expiries[child]!) child++;
      if (expiries[child]! >= lastExpiry) break;
      expiries[index] = expiries[child]!;
      keys[index] = keys[child]!;
      index = child;
    }
    expiries[index] = lastExpiry;
    keys[index] = lastKey;
  }
}
