/**
 * Per-key, per-minute usage: aggregated in memory by each gateway node (see
 * `src/telemetry/usage-recorder.ts`) and merged into the store in batches. Counts add up, so
 * batches from several nodes for the same key and minute may arrive in any order.
 */

/** One node's counts for one key in one minute. */
export interface UsageMinute {
  keyId: string;
  /** Start of the minute, ms since the epoch (a multiple of 60 000). */
  minute: number;
  /** Requests that presented this key, allowed or not. */
  requests: number;
  /** Request body bytes (as declared by Content-Length) of forwarded requests. */
  bytesIn: number;
  /** Response body bytes streamed back from the upstream. */
  bytesOut: number;
  /** Refusals and errors the gateway answered for this key, by error code. */
  denials: Record<string, number>;
  /** Distinct client addresses seen (bounded per minute by the recorder). */
  addresses: string[];
  /** WebSockets opened with this key (absent: none). */
  websocketsOpened?: number;
  /** The most WebSockets of this key open at once on this node in this minute (absent: none). */
  websocketsPeak?: number;
}

/** A key's usage in one minute, merged across nodes. */
export interface UsagePoint {
  minute: number;
  requests: number;
  bytesIn: number;
  bytesOut: number;
  denials: Record<string, number>;
  /** Distinct client addresses in this minute. */
  addresses: number;
}

export interface UsageAddress {
  address: string;
  /** The latest minute it was seen in. */
  lastSeen: number;
  /** In how many minutes of the window it was seen. */
  minutes: number;
}

export interface UsageTotal {
  keyId: string;
  requests: number;
  denied: number;
  bytesIn: number;
  bytesOut: number;
}

/** Usage across every key in one step of a window (see `usageSteps`). */
export interface UsageStep {
  /** Start of the step, ms since the epoch: the window's `from` plus a whole number of steps. */
  at: number;
  requests: number;
  bytesIn: number;
  bytesOut: number;
  /** Refusals and errors by error code; their sum is the step's refused requests. */
  denials: Record<string, number>;
}

/**
 * One node's would-denies of one kind in one minute: requests a policy in report mode let
 * through that enforcing would have refused with `code`.
 */
export interface WouldDenyMinute {
  minute: number;
  code: string;
  /** The API the request was for (`default` with a single upstream). */
  api: string;
  /** The matched operation (`POST /orders/{id}`), or a bounded path when no route matched. */
  route: string;
  /** The key the request presented, or null when none was known yet. */
  keyId: string | null;
  requests: number;
}

/** Would-denies of one code, API, route and key in a window, summed across minutes and nodes. */
export interface WouldDenyTotal {
  code: string;
  api: string;
  route: string;
  keyId: string | null;
  requests: number;
  /** The first and the last minute of the window with one. */
  firstMinute: number;
  lastMinute: number;
}

/** One node's requests to one API with one outcome in one minute. */
export interface ApiUsageMinute {
  minute: number;
  /** The API's name (`default` with a single upstream). */
  api: string;
  /** `forwarded`, `aborted`, or the error code the gateway answered with. */
  outcome: string;
  requests: number;
}

/** One API's requests in one step of a window (see `apiUsageSteps`), by outcome. */
export interface ApiUsageStep {
  api: string;
  /** Start of the step, ms since the epoch. */
  at: number;
  /** Requests by outcome (`forwarded`, `aborted` or an error code); their sum is the step's requests. */
  outcomes: Record<string, number>;
}

/** A key's WebSockets in one minute, merged across nodes. */
export interface WebSocketMinute {
  minute: number;
  /** WebSockets opened (the upstream answered 101), summed across nodes. */
  opened: number;
  /** The most open at once on one node (a node's count, as `websockets.maxPerKey` is per node). */
  peak: number;
}

/** What `usageTotals` ranks keys by. */
export type UsageRanking = 'requests' | 'denied';

export interface UsageStore {
  /** Adds a batch of per-minute counts (summing with what is there). */
  recordUsageMinutes(batch: UsageMinute[]): Promise<void>;
  /** One key's minutes in `[from, to)`, oldest first; minutes without traffic are absent. */
  usageSeries(keyId: string, from: number, to: number): Promise<UsagePoint[]>;
  /** The addresses a key was used from in `[from, to)`, most recent first, at most `limit`. */
  usageAddresses(keyId: string, from: number, to: number, limit: number): Promise<UsageAddress[]>;
  /**
   * Totals per key in `[from, to)`, at most `limit`: busiest first (`by` `requests`, the
   * default), or most refused first (`denied`: only keys with refusals). Ties go by key id.
   */
  usageTotals(from: number, to: number, limit: number, by?: UsageRanking): Promise<UsageTotal[]>;
  /**
   * Usage across every key in `[from, to)`, summed per step of `step` ms (a whole number):
   * step `i` is `[from + i·step, from + (i+1)·step)`, with `from` rounded up to a whole
   * millisecond as every bound is (which keeps each minute in the step it falls in). Oldest
   * first; steps without traffic are absent.
   */
  usageSteps(from: number, to: number, step: number): Promise<UsageStep[]>;
  /** How many keys have usage in `[from, to)`. */
  usageKeyCount(from: number, to: number): Promise<number>;
  /** Adds a batch of would-denies (summing with what is there). */
  recordWouldDenyMinutes(batch: WouldDenyMinute[]): Promise<void>;
  /** Would-denies in `[from, to)` by code, API, route and key, most first, at most `limit`. */
  wouldDenyTotals(from: number, to: number, limit: number): Promise<WouldDenyTotal[]>;
  /** Adds a batch of per-API counts (summing with what is there). */
  recordApiUsageMinutes(batch: ApiUsageMinute[]): Promise<void>;
  /**
   * Requests per API and outcome in `[from, to)`, summed per step of `step` ms as `usageSteps`
   * does; ordered by API, then oldest first; steps without traffic are absent.
   */
  apiUsageSteps(from: number, to: number, step: number): Promise<ApiUsageStep[]>;
  /** One key's WebSocket minutes in `[from, to)`, oldest first; minutes without one are absent. */
  webSocketSeries(keyId: string, from: number, to: number): Promise<WebSocketMinute[]>;
  /** Deletes usage (and would-denies, per-API and WebSocket minutes) older than `minute`; returns the number of minutes rows removed. */
  purgeUsageBefore(minute: number): Promise<number>;
}
