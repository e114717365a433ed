/**
 * One budget of bytes that request bodies may hold in memory for validation, shared by every
 * request of the process (`requests.maxBufferedBytes`).
 *
 * Each JSON body the gateway reads to validate has a limit of its own, but without a shared
 * budget the process holds that limit once per slow client: 150 keyed connections trickling
 * 1 MB bodies hold 150 MB. A request reserves its share before a byte is read (its declared
 * Content-Length, or its whole limit when the length is not known) and gives it back when its
 * response is over; a request that does not fit is refused at once (503 `validation_busy`), so
 * memory held for validation never grows past the budget, however many clients wait.
 */
export class BufferedBodyBudget {
  readonly capacity: number;
  #held = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  /** Bytes reserved now, across every request. */
  get held(): number {
    return this.#held;
  }

  /** Reserves `bytes`, or returns null when they do not fit beside what is already reserved. */
  reserve(bytes: number): BodyReservation | null {
    if (this.#held + bytes > this.capacity) return null;
    this.#held += bytes;
    return new BodyReservation(this, bytes);
  }

  /** For BodyReservation only. */
  giveBack(bytes: number): void {
    this.#held -= bytes;
  }
}

/** One request's share of the budget. */
export class BodyReservation {
  readonly #budget: BufferedBodyBudget;
  #bytes: number;

  constructor(budget: BufferedBodyBudget, bytes: number) {
    this.#budget = budget;
    this.#bytes = bytes;
  }

  /** Keeps only `bytes` of the share (a chunked body turned out smaller than its limit). */
  shrinkTo(bytes: number): void {
    if (bytes >= this.#bytes) return;
    this.#budget.giveBack(this.#bytes - bytes);
    this.#bytes = bytes;
  }

  /** Gives the whole share back; later calls do nothing. An arrow, to be a response's 'close' listener as it is. */
  readonly release = (): void => {
    this.#budget.giveBack(this.#bytes);
    this.#bytes = 0;
  };
}
