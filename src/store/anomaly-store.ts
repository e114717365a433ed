/**
 * What the store keeps for anomaly detection (src/policies/anomaly): each key's learned
 * profile, so a restart does not begin learning again, and the findings, one row per key, kind
 * and window, so a finding several nodes make at once counts once.
 */

/** What a key's traffic can look like when it is not its owner's (src/limits/anomaly/key-profile.ts). */
export type AnomalyKind = 'new_network' | 'many_addresses' | 'rate_spike' | 'denial_spike' | 'new_country';

/** What a finding does to its key: an audit entry only, a quarantine (403 `key_quarantined`), or a revocation. */
export type AnomalyAction = 'notify' | 'quarantine' | 'revoke';

export const ANOMALY_KINDS: readonly AnomalyKind[] = ['new_network', 'many_addresses', 'rate_spike', 'denial_spike', 'new_country'];

/** A network a key was used from (`203.0.113.0/24`, `2001:db8:1::/48`) and when it last was. */
export interface ProfileNetwork {
  network: string;
  lastSeen: number;
}

/** A country a key was used from (ISO 3166-1 alpha-2, `anomaly.countries`) and when it last was. */
export interface ProfileCountry {
  country: string;
  /** When it was first seen (the store keeps the earliest any node wrote). */
  firstSeen: number;
  lastSeen: number;
}

/** A key's profile as one node learned it, written in batches by the store write thread. */
export interface KeyProfileWrite {
  keyId: string;
  /** When the profile began learning; the store keeps the earliest any node wrote. */
  firstSeen: number;
  updatedAt: number;
  /** Minutes with traffic the baselines were learned from. */
  activeMinutes: number;
  /** Requests per minute of use, exponentially weighted. */
  rateBaseline: number;
  /** Distinct client addresses per minute of use, exponentially weighted. */
  addressBaseline: number;
  /** Share of a minute's requests answered 4xx, exponentially weighted. */
  denialBaseline: number;
  /** The networks seen since the last write (with their last use); the store adds them to the key's. */
  networks: ProfileNetwork[];
  /** The countries seen since the last write (with `anomaly.countries`); absent or empty: none. */
  countries?: ProfileCountry[];
}

/** A stored profile, read at start: its newest networks first. */
export type StoredKeyProfile = KeyProfileWrite;

export interface KeyProfileQuery {
  /** At most this many profiles, the most recently updated. */
  limit: number;
  /** At most this many networks per profile, the most recently seen. */
  networksPerKey: number;
  /** At most this many countries per profile, the most recently seen; absent or 0: none read. */
  countriesPerKey?: number;
}

/** One finding, as a node made it. */
export interface AnomalyFinding {
  keyId: string;
  kind: AnomalyKind;
  /** The start of the window it belongs to: a key gets at most one finding of a kind per window. */
  windowStart: number;
  at: number;
  action: AnomalyAction;
  /** What was seen (network, counts, baseline): recorded as it is in the finding and its audit entries. */
  evidence: Readonly<Record<string, string | number>>;
}

/** What recording a finding came to: `recorded` is false when another node (or an earlier call) recorded it first. */
export interface AnomalyFindingResult {
  keyId: string;
  kind: AnomalyKind;
  windowStart: number;
  recorded: boolean;
}

export interface AnomalyStore {
  /** Adds each profile to the key's stored one: earliest start, these baselines, the networks joined (the newest kept). */
  recordKeyProfiles(batch: KeyProfileWrite[]): Promise<void>;
  /** The profiles to start from. */
  loadKeyProfiles(query: KeyProfileQuery): Promise<StoredKeyProfile[]>;
  /**
   * Records each finding unless one of its key, kind and window is there already (or, for
   * `new_network` or `new_country`, the network or country is among the key's stored ones:
   * another node has seen it); a
   * new one gets a `key.anomaly` audit entry with its evidence and then its action (quarantine
   * or revoke, each audited as usual and carried by the change feed).
   */
  recordAnomalyFindings(batch: AnomalyFinding[]): Promise<AnomalyFindingResult[]>;
}

/** A dialect's part: the profile SQL, and the finding row with its audit entry in one transaction. */
export interface AnomalyTables {
  recordKeyProfiles(batch: KeyProfileWrite[]): Promise<void>;
  loadKeyProfiles(query: KeyProfileQuery): Promise<StoredKeyProfile[]>;
  /** Inserts the finding and its `key.anomaly` entry when absent (and its network, if any, unknown); true when this call inserted it. */
  insertAnomalyFinding(finding: AnomalyFinding): Promise<boolean>;
}

/** The audit reason and details of a finding (the same in both dialects). */
export function anomalyAuditDetails(finding: AnomalyFinding): { reason: string; details: string } {
  return {
    reason: `anomaly detected: ${finding.kind.replace('_', ' ')}`,
    details: JSON.stringify({ kind: finding.kind, windowStart: finding.windowStart, action: finding.action, evidence: finding.evidence }),
  };
}

/**
 * The network of a `new_network` finding, or null for another kind. Each node learns from the
 * traffic it sees, so a network new to one node may be known to another (its keep-alive
 * connections went there): such a finding is not recorded.
 */
export function newNetworkOf(finding: AnomalyFinding): string | null {
  return finding.kind === 'new_network' && typeof finding.evidence.network === 'string' ? finding.evidence.network : null;
}

/** The country of a `new_country` finding, or null for another kind: like a network, one another node has stored for the key is no finding. */
export function newCountryOf(finding: AnomalyFinding): string | null {
  return finding.kind === 'new_country' && typeof finding.evidence.country === 'string' ? finding.evidence.country : null;
}

/** The actor of every change anomaly detection makes. */
export const ANOMALY_ACTOR = Object.freeze({ actor: 'anomaly-detection', address: null });

/**
 * The networks the store keeps per key, the most recently seen: what several nodes saw
 * together, where a node keeps `anomaly.maxNetworksPerKey` (at most this) in memory.
 */
export const MAX_STORED_NETWORKS = 1024;

/**
 * The countries the store keeps per key, the most recently seen (there are about 250 codes:
 * in practice every country a key was used from).
 */
export const MAX_STORED_COUNTRIES = 256;

/** Keeps the newest `limit` networks of a profile, newest first. */
export function newestNetworks(networks: ProfileNetwork[], limit: number): ProfileNetwork[] {
  return networks.sort((a, b) => b.lastSeen - a.lastSeen || (a.network < b.network ? -1 : 1)).slice(0, limit);
}

/** A profile's countries, newest first. */
export function newestCountries(countries: ProfileCountry[]): ProfileCountry[] {
  return countries.sort((a, b) => b.lastSeen - a.lastSeen || (a.country < b.country ? -1 : 1));
}
