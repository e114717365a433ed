/**
 * The arithmetic of a constant-arrival-rate load generator (bench/latency.ts). Request `i` is
 * intended to leave at `start + i / rate`, whatever happened to the requests before it; its
 * latency is counted from that intended time, not from when a connection was free to send it.
 * So a pause of the server under test (or of the generator) shows in the latency of every
 * request that should have gone out during it, and is not hidden by sending fewer of them
 * (no coordinated omission).
 */
export class ArrivalSchedule {
  readonly #start: number;
  readonly #interval: number;
  #issued = 0;

  /** `start`: the first request's intended time, ms on the same clock as the `now` given later. */
  constructor(ratePerSecond: number, start: number) {
    if (!(ratePerSecond > 0)) throw new RangeError(`rate must be > 0, not ${ratePerSecond}`);
    this.#start = start;
    this.#interval = 1000 / ratePerSecond;
  }

  /** Requests taken so far. */
  get issued(): number {
    return this.#issued;
  }

  /** Intended time of request `index` (ms). */
  intendedTime(index: number): number {
    return this.#start + index * this.#interval;
  }

  /**
   * The intended times of the requests due by `now` and not taken yet, oldest first. A tick
   * that comes late takes every request it missed, each with its own intended time.
   */
  takeDue(now: number): number[] {
    const due = now < this.#start ? 0 : Math.floor((now - this.#start) / this.#interval) + 1;
    const times: number[] = [];
    for (; this.#issued < due; this.#issued++) times.push(this.intendedTime(this.#issued));
    return times;
  }

  /** When the next request is due (ms). */
  nextDue(): number {
    return this.intendedTime(this.#issued);
  }
}

/** Nearest-rank percentile (a latency that happened) of ascending `sorted`. */
export function percentileOf(sorted: Float64Array | readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('percentile of nothing');
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Latencies measured from intended send times, for one run. */
export class LatencyRecord {
  #samples: Float64Array;
  #count = 0;

  constructor(expected: number) {
    this.#samples = new Float64Array(Math.max(16, expected));
  }

  get count(): number {
    return this.#count;
  }

  /** One response: `completedAt` − `intendedAt` (ms). */
  add(intendedAt: number, completedAt: number): void {
    if (this.#count === this.#samples.length) {
      const grown = new Float64Array(this.#samples.length * 2);
      grown.set(this.#samples);
      this.#samples = grown;
    }
    this.#samples[this.#count++] = completedAt - intendedAt;
  }

  summary(): { count: number; p50: number; p99: number; p999: number; max: number } {
    const sorted = this.#samples.slice(0, this.#count).sort();
    return { count: this.#count, p50: percentileOf(sorted, 50), p99: percentileOf(sorted, 99), p999: percentileOf(sorted, 99.9), max: sorted[sorted.length - 1]! };
  }
}
