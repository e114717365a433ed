/**
 * The signatures a process has accepted within the window, so that each is accepted once.
 *
 * An entry is the SHA-256 of the key id and the signature base, not the signature value: an
 * ECDSA signature can be rewritten into a second valid one for the same base (s → n − s), so
 * the value alone would let a captured request through twice. Two honest requests with the same
 * base (same method, URI, body digest and `created` second) need a `nonce` to differ.
 *
 * Memory is bounded by `capacity`. Entries leave once their `created` has fallen out of the
 * window (the window check refuses them from then on). When the cache is full of entries still
 * in the window, the oldest is dropped and its `created` becomes the floor: from then on, every
 * signature created at or before the floor is refused as too old. So a dropped entry can never
 * be replayed, and under a flood of valid signatures the window shrinks instead of failing open.
 */

type ReplayVerdict = 'fresh' | 'replayed' | 'below-floor';

export class SignatureReplayCache {
  readonly #capacity: number;
  /** How long an entry is kept after its `created` (ms): the window plus the allowed clock skew. */
  readonly #keepFor: number;
  /** Entry → its `created` (ms); a Map keeps insertion order, which is roughly `created` order. */
  readonly #entries = new Map<string, number>();
  #floor = Number.NEGATIVE_INFINITY;

  constructor(capacity: number, keepFor: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.#capacity = capacity;
    this.#keepFor = keepFor;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The `created` (ms) at or below which signatures are refused: -Infinity until the cache has had to drop an entry. */
  get floor(): number {
    return this.#floor;
  }

  /** Records `entry` (created at `created`, ms) unless it was seen before or is at or below the floor. */
  admit(entry: string, created: number, now: number): ReplayVerdict {
    if (created <= this.#floor) return 'below-floor';
    this.#forgetExpired(now);
    if (this.#entries.has(entry)) return 'replayed';
    if (this.#entries.size >= this.#capacity) this.#dropOldest();
    this.#entries.set(entry, created);
    return 'fresh';
  }

  #forgetExpired(now: number): void {
    for (const [entry, created] of this.#entries) {
      if (created + this.#keepFor > now) return;
      this.#entries.delete(entry);
    }
  }

  #dropOldest(): void {
    for (const [entry, created] of this.#entries) {
      this.#entries.delete(entry);
      if (created > this.#floor) this.#floor = created;
      return;
    }
  }
}
