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

export interface UsageStore {
  /** Adds a batch of per-minute counts (summing with what is there). */
  recordUsageMinutes(batch: UsageMinute[]): Promise<void>;
  /** One key's minutes in `[from, to)`, oldest first; minutes without traffic are absent. */
  usageSeries(keyId: string, from: number, to: number): Promise<UsagePoint[]>;
  /** The addresses a key was used from in `[from, to)`, most recent first, at most `limit`. */
  usageAddresses(keyId: string, from: number, to: number, limit: number): Promise<UsageAddress[]>;
  /** Totals per key in `[from, to)`, busiest first, at most `limit`. */
  usageTotals(from: number, to: number, limit: number): Promise<UsageTotal[]>;
  /** Deletes usage older than `minute`; returns the number of minutes rows removed. */
  purgeUsageBefore(minute: number): Promise<number>;
}
