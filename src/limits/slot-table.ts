/**
 * A fixed-capacity index from ids (key ids, client addresses) to slots 0…capacity-1, so that
 * per-id state can live in preallocated typed arrays: updating an id's numbers on the hot path
 * allocates nothing. Memory is bounded by construction, whatever ids clients make up.
 *
 * Each slot has an expiry time set by its owner. When the table is full, a new id takes the
 * first expired slot found by a clock hand sweeping at most `SWEEP` slots; if none has
 * expired, it takes the slot under the hand (the one claimed longest ago, roughly). Losing an
 * unexpired slot forgets that id's state, which for a limiter means being lenient to it once:
 * the price of a hard memory bound, and documented as such in docs/security.md.
 */
const SWEEP = 32;

export class SlotTable {
  readonly capacity: number;
  readonly #slots = new Map<string, number>();
  readonly #ids: Array<string | undefined>;
  readonly #expiry: Float64Array;
  #hand = 0;
  #used = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.#ids = new Array<string | undefined>(capacity).fill(undefined);
    this.#expiry = new Float64Array(capacity);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** The id's slot, or -1 when it has none. */
  find(id: string): number {
    return this.#slots.get(id) ?? -1;
  }

  /**
   * The id's slot, claiming one if it has none. A newly claimed slot is returned as `~slot`
   * (a negative number) so the caller knows to reset its state there.
   */
  claim(id: string, now: number): number {
    const existing = this.#slots.get(id);
    if (existing !== undefined) return existing;
    let slot: number;
    if (this.#used < this.capacity) slot = this.#used++;
    else {
      slot = this.#hand;
      for (let step = 0; step < SWEEP; step++) {
        const candidate = (this.#hand + step) % this.capacity;
        if ((this.#expiry[candidate] as number) <= now) {
          slot = candidate;
          break;
        }
      }
      this.#hand = (slot + 1) % this.capacity;
      this.#slots.delete(this.#ids[slot] as string);
    }
    this.#ids[slot] = id;
    this.#expiry[slot] = now;
    this.#slots.set(id, slot);
    return ~slot;
  }

  /** Until when the slot's state matters; after that it may be reused for another id. */
  setExpiry(slot: number, until: number): void {
    this.#expiry[slot] = until;
  }
}
