import type Database from 'better-sqlite3';
import { ANOMALY_ACTOR, anomalyAuditDetails, MAX_STORED_COUNTRIES, MAX_STORED_NETWORKS, newCountryOf, newestCountries, newNetworkOf, newestNetworks, type AnomalyFinding, type AnomalyTables, type KeyProfileQuery, type KeyProfileWrite, type StoredKeyProfile } from '../anomaly-store.ts';
import { storedTime } from '../stored-values.ts';
import type { SqliteAuditLog } from './sqlite-audit-log.ts';

const sqliteAnomalySql = {
  upsertProfile: `INSERT INTO key_profiles (key_id, first_seen, updated_at, active_minutes, rate_baseline, address_baseline, denial_baseline)
    VALUES (@keyId, @firstSeen, @updatedAt, @activeMinutes, @rateBaseline, @addressBaseline, @denialBaseline)
    ON CONFLICT (key_id) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), updated_at = max(updated_at, excluded.updated_at),
      active_minutes = max(active_minutes, excluded.active_minutes), rate_baseline = excluded.rate_baseline,
      address_baseline = excluded.address_baseline, denial_baseline = excluded.denial_baseline`,
  upsertNetwork: `INSERT INTO key_profile_networks (key_id, network, last_seen) VALUES (?, ?, ?)
    ON CONFLICT (key_id, network) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)`,
  pruneNetworks: `DELETE FROM key_profile_networks WHERE key_id = @keyId AND network NOT IN
    (SELECT network FROM key_profile_networks WHERE key_id = @keyId ORDER BY last_seen DESC, network LIMIT @limit)`,
  profiles: `SELECT key_id AS keyId, first_seen AS firstSeen, updated_at AS updatedAt, active_minutes AS activeMinutes,
      rate_baseline AS rateBaseline, address_baseline AS addressBaseline, denial_baseline AS denialBaseline
    FROM key_profiles ORDER BY updated_at DESC, key_id LIMIT ?`,
  networks: 'SELECT network, last_seen AS lastSeen FROM key_profile_networks WHERE key_id = ? ORDER BY last_seen DESC, network LIMIT ?',
  knownNetwork: 'SELECT 1 AS known FROM key_profile_networks WHERE key_id = ? AND network = ?',
  upsertCountry: `INSERT INTO key_profile_countries (key_id, country, first_seen, last_seen) VALUES (?, ?, ?, ?)
    ON CONFLICT (key_id, country) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)`,
  countries: 'SELECT country, first_seen AS firstSeen, last_seen AS lastSeen FROM key_profile_countries WHERE key_id = ? ORDER BY last_seen DESC, country LIMIT ?',
  knownCountry: 'SELECT 1 AS known FROM key_profile_countries WHERE key_id = ? AND country = ?',
  insertFinding: `INSERT INTO key_anomaly_findings (key_id, kind, window_start, at, action, evidence)
    VALUES (@keyId, @kind, @windowStart, @at, @action, @evidence) ON CONFLICT DO NOTHING`,
} as const;

type ProfileRow = Omit<StoredKeyProfile, 'networks' | 'countries'>;

/**
 * Profiles and findings in SQLite. A batch of profiles is one IMMEDIATE transaction; a
 * finding's row and its `key.anomaly` audit entry are another, so the entry exists exactly
 * when the row does.
 */
export class SqliteAnomalyTables implements AnomalyTables {
  readonly #db: Database.Database;
  readonly #audit: SqliteAuditLog;
  readonly #statements;

  constructor(db: Database.Database, audit: SqliteAuditLog) {
    const sql = sqliteAnomalySql;
    this.#db = db;
    this.#audit = audit;
    this.#statements = {
      upsertProfile: db.prepare<Omit<KeyProfileWrite, 'networks' | 'countries'>>(sql.upsertProfile),
      upsertNetwork: db.prepare<[string, string, number]>(sql.upsertNetwork),
      pruneNetworks: db.prepare<{ keyId: string; limit: number }>(sql.pruneNetworks),
      profiles: db.prepare<[number], ProfileRow>(sql.profiles),
      networks: db.prepare<[string, number], { network: string; lastSeen: number }>(sql.networks),
      knownNetwork: db.prepare<[string, string], { known: number }>(sql.knownNetwork),
      upsertCountry: db.prepare<[string, string, number, number]>(sql.upsertCountry),
      countries: db.prepare<[string, number], { country: string; firstSeen: number; lastSeen: number }>(sql.countries),
      knownCountry: db.prepare<[string, string], { known: number }>(sql.knownCountry),
      insertFinding: db.prepare<Omit<AnomalyFinding, 'evidence'> & { evidence: string }>(sql.insertFinding),
    };
  }

  async recordKeyProfiles(batch: KeyProfileWrite[]): Promise<void> {
    const s = this.#statements;
    this.#db.transaction(() => {
      for (const { networks, countries = [], ...profile } of batch) {
        s.upsertProfile.run({ ...profile, firstSeen: storedTime(profile.firstSeen, 'firstSeen'), updatedAt: storedTime(profile.updatedAt, 'updatedAt') });
        // About 250 country codes in all: a key's rows are bounded without pruning.
        for (const { country, firstSeen, lastSeen } of countries) s.upsertCountry.run(profile.keyId, country, storedTime(firstSeen, 'firstSeen'), storedTime(lastSeen, 'lastSeen'));
        if (networks.length === 0) continue;
        for (const { network, lastSeen } of networks) s.upsertNetwork.run(profile.keyId, network, storedTime(lastSeen, 'lastSeen'));
        s.pruneNetworks.run({ keyId: profile.keyId, limit: MAX_STORED_NETWORKS });
      }
    }).immediate();
  }

  async loadKeyProfiles({ limit, networksPerKey, countriesPerKey = 0 }: KeyProfileQuery): Promise<StoredKeyProfile[]> {
    const s = this.#statements;
    return s.profiles.all(limit).map((row) => {
      const loaded: StoredKeyProfile = { ...row, networks: newestNetworks(s.networks.all(row.keyId, networksPerKey), networksPerKey) };
      if (countriesPerKey > 0) loaded.countries = newestCountries(s.countries.all(row.keyId, Math.min(countriesPerKey, MAX_STORED_COUNTRIES)));
      return loaded;
    });
  }

  async insertAnomalyFinding(finding: AnomalyFinding): Promise<boolean> {
    const { reason, details } = anomalyAuditDetails(finding);
    const network = newNetworkOf(finding);
    const country = newCountryOf(finding);
    return this.#db.transaction(() => {
      if (network !== null && this.#statements.knownNetwork.get(finding.keyId, network) !== undefined) return false;
      if (country !== null && this.#statements.knownCountry.get(finding.keyId, country) !== undefined) return false;
      const inserted = this.#statements.insertFinding.run({ ...finding, at: storedTime(finding.at, 'at'), evidence: JSON.stringify(finding.evidence) }).changes === 1;
      if (inserted) this.#audit.append({ at: finding.at, actor: ANOMALY_ACTOR.actor, address: null, action: 'key.anomaly', target: finding.keyId, reason, details });
      return inserted;
    }).immediate();
  }
}
