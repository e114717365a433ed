/**
 * Wall-clock time for the request path, read off the monotonic clock that the pipeline reads
 * anyway (`performance.now()` at a request's arrival) instead of a second clock call per
 * request: `Date.now()` is a runtime call in V8, several times dearer than `performance.now()`.
 *
 * The offset between the two clocks is taken again whenever a second has passed since it was
 * last taken, so a stepped system clock (NTP, a resumed VM) is followed within a second, and
 * between steps the error stays below what NTP slewing moves in a second (well under 1 ms).
 */
export class WallClock {
  readonly #readWall: () => number;
  readonly #readMonotonic: () => number;
  #offset = 0;
  #syncedAt = Number.NEGATIVE_INFINITY;

  /** The two clocks can be replaced in tests. */
  constructor(readWall: () => number = Date.now, readMonotonic: () => number = () => performance.now()) {
    this.#readWall = readWall;
    this.#readMonotonic = readMonotonic;
  }

  /** The wall-clock time (ms since the epoch) of a `performance.now()` reading. */
  wallTime(monotonic: number): number {
    if (monotonic - this.#syncedAt >= 1000 || monotonic < this.#syncedAt) {
      this.#offset = this.#readWall() - this.#readMonotonic();
      this.#syncedAt = monotonic;
    }
    return this.#offset + monotonic;
  }
}
