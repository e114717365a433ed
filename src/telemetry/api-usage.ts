import type { ApiUsageMinute } from '../store/usage-store.ts';

const MINUTE = 60_000;
/** Rows kept for the store while it is out of reach; the oldest go first past it. */
const MAX_PENDING_ROWS = 100_000;

/** One API's requests by outcome in one minute on this node. */
class ApiMinute {
  readonly minute: number;
  readonly outcomes = new Map<string, number>();

  constructor(minute: number) {
    this.minute = minute;
  }
}

/**
 * Requests per API, minute and outcome on this node, for the store's `api_usage_minutes`
 * (every request matched to an API, with or without a key). The API is its index, known when
 * stage 5 matched it, and the outcome a code string the gateway already holds, so counting a
 * request is a map update: nothing is built per request. The usage recorder writes the rows
 * at each flush (`take`), and gives back those the store could not take (`keep`).
 */
export class ApiUsage {
  readonly #names: readonly string[];
  readonly #current: Array<ApiMinute | undefined>;
  /** Rows of minutes that ended, and rows a flush could not write, oldest first. */
  #rows: ApiUsageMinute[] = [];
  #dropped = 0;

  constructor(names: readonly string[]) {
    this.#names = names;
    this.#current = new Array<ApiMinute | undefined>(names.length);
  }

  /** A request to API `api` (its index) that ended at `now` with `outcome` (`forwarded`, `aborted` or an error code). */
  count(api: number, outcome: string, now: number): void {
    let counts = this.#current[api];
    if (counts === undefined || now < counts.minute || now >= counts.minute + MINUTE) {
      if (counts !== undefined) this.#finish(api, counts);
      counts = this.#current[api] = new ApiMinute(now - (now % MINUTE));
    }
    counts.outcomes.set(outcome, (counts.outcomes.get(outcome) ?? 0) + 1);
  }

  /** Every row not written yet, the current minutes' included (their later requests start new rows, which the store adds up). */
  take(): ApiUsageMinute[] {
    for (let api = 0; api < this.#current.length; api++) {
      const counts = this.#current[api];
      if (counts !== undefined) this.#finish(api, counts);
      this.#current[api] = undefined;
    }
    const rows = this.#rows;
    this.#rows = [];
    return rows;
  }

  /** Rows the store could not write: kept, before any counted since, for the next flush (bounded; the oldest go first). */
  keep(rows: readonly ApiUsageMinute[]): void {
    this.#rows = rows.concat(this.#rows);
    const excess = this.#rows.length - MAX_PENDING_ROWS;
    if (excess > 0) this.#dropped += this.#rows.splice(0, excess).length;
  }

  /** Rows given up on: the store was out of reach while more than 100,000 waited. */
  get dropped(): number {
    return this.#dropped;
  }

  #finish(api: number, counts: ApiMinute): void {
    const name = this.#names[api] as string;
    for (const [outcome, requests] of counts.outcomes) this.#rows.push({ minute: counts.minute, api: name, outcome, requests });
  }
}
