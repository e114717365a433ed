import { SlotTable } from './slot-table.ts';

/**
 * This node's list of client addresses to refuse before any key lookup (pipeline stage 4),
 * and until when: locked out after too many invalid keys, or throttled after too many denied
 * requests. Checking an address is one map lookup; memory is bounded by `capacity`.
 *
 * It is local on purpose, with either backend: the decision to add an address is taken by
 * the backend (shared through Redis when configured), and each node then refuses the address
 * without asking anyone. Another node learns of a lock at the address's next invalid key.
 */
export class RefusedAddresses {
  readonly #slots: SlotTable;
  readonly #lockedUntil: Float64Array;
  readonly #throttledUntil: Float64Array;

  constructor(capacity: number) {
    this.#slots = new SlotTable(capacity);
    this.#lockedUntil = new Float64Array(capacity);
    this.#throttledUntil = new Float64Array(capacity);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** The address's slot for lockedUntilAt / throttledUntilAt, -1 when it is not listed. */
  find(address: string): number {
    return this.#slots.find(address);
  }

  lockedUntilAt(slot: number): number {
    return this.#lockedUntil[slot] as number;
  }

  throttledUntilAt(slot: number): number {
    return this.#throttledUntil[slot] as number;
  }

  /** Whether the address is refused at `now`, for either reason. */
  isRefused(address: string, now: number): boolean {
    const slot = this.#slots.find(address);
    return slot !== -1 && ((this.#lockedUntil[slot] as number) > now || (this.#throttledUntil[slot] as number) > now);
  }

  lock(address: string, until: number, now: number): void {
    const slot = this.#claim(address, now);
    this.#lockedUntil[slot] = until;
    this.#slots.setExpiry(slot, Math.max(until, this.#throttledUntil[slot] as number));
  }

  throttle(address: string, until: number, now: number): void {
    const slot = this.#claim(address, now);
    this.#throttledUntil[slot] = until;
    this.#slots.setExpiry(slot, Math.max(until, this.#lockedUntil[slot] as number));
  }

  #claim(address: string, now: number): number {
    const slot = this.#slots.claim(address, now);
    if (slot >= 0) return slot;
    this.#lockedUntil[~slot] = 0;
    this.#throttledUntil[~slot] = 0;
    return ~slot;
  }
}
