import type { AnomalyKind } from '../../store/anomaly-store.ts';

/** What the detectors are told to look for and how far a minute may stray from a key's baselines. */
export interface AnomalySettings {
  /** How long a new profile only learns: no finding before a key has been seen this long (ms). */
  readonly learningWindow: number;
  /** The kinds of finding looked for. */
  readonly detect: ReadonlySet<AnomalyKind>;
  /** Networks remembered per key; a key seen from more is taken as used from anywhere (no `new_network`). */
  readonly maxNetworksPerKey: number;
  /** A minute above this many times a baseline (requests, distinct addresses) is a finding. */
  readonly rateMultiple: number;
  /** `rate_spike` needs at least this many requests in the minute, whatever the baseline. */
  readonly minRequestsPerMinute: number;
  /** `many_addresses` needs more distinct addresses than this in the minute, whatever the baseline. */
  readonly addressesPerMinute: number;
  /** `denial_spike`: the minute's share of 4xx answers reaches this (or twice the key's usual share, when higher). */
  readonly denialRatio: number;
  /** `denial_spike` needs at least this many 4xx answers in the minute. */
  readonly minDenialsPerMinute: number;
}

export const MINUTE_MS = 60_000;
/** A key gets at most one finding of each kind per window (counted once across nodes). */
export const FINDING_WINDOW_MS = 3_600_000;
/**
 * The weight of a finished minute of use in the baselines: about the last hour of use. The
 * first minutes are averaged (weight 1/n), so a young baseline is not pulled towards zero.
 */
const BASELINE_WEIGHT = 1 / 60;
/** The most distinct addresses a profile holds for its current minute, whatever the thresholds. */
const MAX_ADDRESSES_PER_MINUTE = 4096;

const KIND_INDEX: Readonly<Record<AnomalyKind, number>> = { new_network: 0, many_addresses: 1, rate_spike: 2, denial_spike: 3, new_country: 4 };
/**
 * Countries remembered per key (with `anomaly.countries`), the most recently used; a key used
 * from more roams, and a new country says nothing for it.
 */
export const MAX_COUNTRIES_PER_KEY = 32;

/** A finding a request brought: what kind, and the evidence. */
export interface DetectedAnomaly {
  readonly keyId: string;
  readonly kind: AnomalyKind;
  readonly at: number;
  readonly windowStart: number;
  readonly evidence: Record<string, string | number>;
}

/**
 * One key's learned traffic: the networks it was used from (oldest use first: a Map keeps
 * insertion order, and a use moves a network to the end), baselines of a minute of use, and
 * the minute in progress. Every field is a number, a string or a bounded collection.
 */
export class KeyProfile {
  readonly keyId: string;
  firstSeen: number;
  updatedAt: number;
  activeMinutes = 0;
  rateBaseline = 0;
  addressBaseline = 0;
  denialBaseline = 0;
  /** Network (network-prefix.ts) → the last minute it was used in. */
  readonly networks = new Map<number, number>();
  /** Networks used since the profile was last written. */
  readonly touched = new Set<number>();
  /** Country (ISO 3166-1 alpha-2) → the last minute it was used in, oldest use first; empty unless `anomaly.countries`. */
  readonly countries = new Map<string, number>();
  /** When the profile began learning countries (its first country, from any node); -1: not yet. */
  countriesSince = -1;
  /** Countries used since the profile was last written, with when each was first seen here. */
  readonly touchedCountries = new Map<string, number>();
  /** The minute in progress (its start), and what it has seen so far. */
  minute = -1;
  requests = 0;
  denials = 0;
  readonly addresses = new Set<string>();
  /** Whether the minute in progress brought a finding: such a minute does not teach the baselines. */
  flagged = false;
  /** The window of the last finding of each kind (KIND_INDEX), -1 for none. */
  readonly lastFindingWindow = [-1, -1, -1, -1, -1];
  /** Whether it changed since it was last written. */
  dirty = false;

  constructor(keyId: string, now: number) {
    this.keyId = keyId;
    this.firstSeen = now;
    this.updatedAt = now;
  }

  /** Ends the minute in progress: a minute with traffic and no finding moves the baselines towards it. */
  closeMinute(): void {
    if (this.requests > 0 && !this.flagged) {
      this.activeMinutes++;
      const weight = Math.max(1 / this.activeMinutes, BASELINE_WEIGHT);
      this.rateBaseline += weight * (this.requests - this.rateBaseline);
      this.addressBaseline += weight * (this.addresses.size - this.addressBaseline);
      this.denialBaseline += weight * (this.denials / this.requests - this.denialBaseline);
    }
    this.requests = 0;
    this.denials = 0;
    this.addresses.clear();
    this.flagged = false;
  }

  /**
   * A finding of this kind at `now`, unless the key had one in the same window; marks the
   * minute. A window starts on the hour, or when the key was last changed (`since`: released
   * from a quarantine, edited), so a key released by an operator is judged afresh.
   */
  finding(kind: AnomalyKind, now: number, since: number, evidence: Record<string, string | number>): DetectedAnomaly | null {
    const windowStart = Math.max(now - (now % FINDING_WINDOW_MS), Math.min(since, now));
    const index = KIND_INDEX[kind];
    this.flagged = true;
    if (this.lastFindingWindow[index] === windowStart) return null;
    this.lastFindingWindow[index] = windowStart;
    return { keyId: this.keyId, kind, at: now, windowStart, evidence };
  }

  /** The most distinct addresses of a minute worth holding: one past the `many_addresses` threshold. */
  addressThreshold(settings: AnomalySettings): number {
    return Math.min(MAX_ADDRESSES_PER_MINUTE - 1, Math.max(settings.addressesPerMinute, Math.ceil(settings.rateMultiple * this.addressBaseline)));
  }

  rateThreshold(settings: AnomalySettings): number {
    return Math.max(settings.minRequestsPerMinute, Math.ceil(settings.rateMultiple * this.rateBaseline));
  }

  denialThreshold(settings: AnomalySettings): number {
    return Math.max(settings.denialRatio, 2 * this.denialBaseline);
  }
}

/** Rounds a baseline for evidence. */
export function rounded(value: number): number {
  return Math.round(value * 100) / 100;
}
