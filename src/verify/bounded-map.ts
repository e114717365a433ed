/**
 * A Map with a maximum size that evicts a long-unused entry when it is full. Used for the key
 * cache and the unknown-key cache, whose memory must stay bounded whatever clients send.
 *
 * Eviction is "second chance" (the CLOCK approximation of least-recently-used): a hit only sets
 * a flag on the entry, and the eviction scan, oldest first, spares a flagged entry once (moving
 * it to the back with its flag cleared) and evicts the first unflagged one. Exact LRU would
 * re-insert the entry on every hit: a delete and a set of a 64-character digest per request,
 * which is most of what a cache hit used to cost. An entry used since the last scan passed it
 * is never the one evicted.
 */
interface Slot<V> {
  value: V;
  used: boolean;
  removed: boolean;
}

/**
 * An entry's handle, as `set` returns it: lets a holder check that the entry is still in the
 * map with this value (`removed` turns true when it is deleted, evicted or cleared; a later
 * `set` of the same key replaces `value`), and mark it used, without a lookup.
 */
export interface BoundedMapSlot<V> {
  readonly value: V;
  readonly removed: boolean;
  used: boolean;
}

const NOT_KEPT: BoundedMapSlot<never> = Object.freeze({ value: undefined as never, removed: true, used: false });

export class BoundedMap<K, V> {
  readonly #entries = new Map<K, Slot<V>>();
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const slot = this.#entries.get(key);
    if (slot === undefined) return undefined;
    slot.used = true;
    return slot.value;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  /** Stores `value` and returns its entry's handle (one that is already removed when the capacity is 0). */
  set(key: K, value: V): BoundedMapSlot<V> {
    if (this.#capacity === 0) return NOT_KEPT;
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      existing.value = value;
      existing.used = true;
      return existing;
    }
    if (this.#entries.size >= this.#capacity) this.#evictOne();
    const slot: Slot<V> = { value, used: false, removed: false };
    this.#entries.set(key, slot);
    return slot;
  }

  delete(key: K): boolean {
    const slot = this.#entries.get(key);
    if (slot === undefined) return false;
    slot.removed = true;
    return this.#entries.delete(key);
  }

  clear(): void {
    for (const slot of this.#entries.values()) slot.removed = true;
    this.#entries.clear();
  }

  *values(): IterableIterator<V> {
    for (const slot of this.#entries.values()) yield slot.value;
  }

  /** Oldest first: a used entry gets a second chance at the back; the first unused one goes. */
  #evictOne(): void {
    // After one full pass every flag is clear, so this ends within size + 1 steps.
    for (;;) {
      const oldest = this.#entries.entries().next();
      if (oldest.done === true) return;
      const [key, slot] = oldest.value;
      this.#entries.delete(key);
      if (!slot.used) {
        slot.removed = true;
        return;
      }
      slot.used = false;
      this.#entries.set(key, slot);
    }
  }
}
