import type pg from 'pg';
import { ANOMALY_ACTOR, anomalyAuditDetails, MAX_STORED_COUNTRIES, MAX_STORED_NETWORKS, newCountryOf, newestCountries, newNetworkOf, newestNetworks, type AnomalyFinding, type AnomalyTables, type KeyProfileQuery, type KeyProfileWrite, type ProfileCountry, type ProfileNetwork, type StoredKeyProfile } from '../anomaly-store.ts';
import { storedTime } from '../stored-values.ts';
import type { PostgresAuditLog } from './postgres-audit-log.ts';
import { inTransaction } from './postgres-event-log.ts';

/**
 * Every statement of the profile and finding tables. A batch goes as arrays (`unnest`), in key
 * order, so two nodes flushing overlapping batches lock rows in the same order.
 */
const postgresAnomalySql = {
  upsertProfiles: `INSERT INTO key_profiles AS p (key_id, first_seen, updated_at, active_minutes, rate_baseline, address_baseline, denial_baseline)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::float8[], $6::float8[], $7::float8[]) ORDER BY 1
    ON CONFLICT (key_id) DO UPDATE SET first_seen = LEAST(p.first_seen, excluded.first_seen), updated_at = GREATEST(p.updated_at, excluded.updated_at),
      active_minutes = GREATEST(p.active_minutes, excluded.active_minutes), rate_baseline = excluded.rate_baseline,
      address_baseline = excluded.address_baseline, denial_baseline = excluded.denial_baseline`,
  upsertNetworks: `INSERT INTO key_profile_networks AS n (key_id, network, last_seen)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ORDER BY 1, 2
    ON CONFLICT (key_id, network) DO UPDATE SET last_seen = GREATEST(n.last_seen, excluded.last_seen)`,
  pruneNetworks: `DELETE FROM key_profile_networks n USING (
      SELECT key_id, network, row_number() OVER (PARTITION BY key_id ORDER BY last_seen DESC, network) AS rank
      FROM key_profile_networks WHERE key_id = ANY($1::text[])) r
    WHERE n.key_id = r.key_id AND n.network = r.network AND r.rank > $2`,
  profiles: `SELECT key_id AS "keyId", first_seen AS "firstSeen", updated_at AS "updatedAt", active_minutes AS "activeMinutes",
      rate_baseline AS "rateBaseline", address_baseline AS "addressBaseline", denial_baseline AS "denialBaseline"
    FROM key_profiles ORDER BY updated_at DESC, key_id LIMIT $1`,
  networks: `SELECT key_id AS "keyId", network, last_seen AS "lastSeen" FROM (
      SELECT key_id, network, last_seen, row_number() OVER (PARTITION BY key_id ORDER BY last_seen DESC, network) AS rank
      FROM key_profile_networks WHERE key_id = ANY($1::text[])) r WHERE rank <= $2`,
  knownNetwork: 'SELECT 1 FROM key_profile_networks WHERE key_id = $1 AND network = $2',
  upsertCountries: `INSERT INTO key_profile_countries AS c (key_id, country, first_seen, last_seen)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) ORDER BY 1, 2
    ON CONFLICT (key_id, country) DO UPDATE SET first_seen = LEAST(c.first_seen, excluded.first_seen), last_seen = GREATEST(c.last_seen, excluded.last_seen)`,
  countries: `SELECT key_id AS "keyId", country, first_seen AS "firstSeen", last_seen AS "lastSeen" FROM (
      SELECT key_id, country, first_seen, last_seen, row_number() OVER (PARTITION BY key_id ORDER BY last_seen DESC, country) AS rank
      FROM key_profile_countries WHERE key_id = ANY($1::text[])) r WHERE rank <= $2`,
  knownCountry: 'SELECT 1 FROM key_profile_countries WHERE key_id = $1 AND country = $2',
  insertFinding: `INSERT INTO key_anomaly_findings (key_id, kind, window_start, at, action, evidence)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
} as const;

/** BIGINT columns come back as text from `pg`. */
function profileOf(row: Record<string, unknown>): Omit<StoredKeyProfile, 'networks'> {
  return {
    keyId: row.keyId as string,
    firstSeen: Number(row.firstSeen),
    updatedAt: Number(row.updatedAt),
    activeMinutes: Number(row.activeMinutes),
    rateBaseline: Number(row.rateBaseline),
    addressBaseline: Number(row.addressBaseline),
    denialBaseline: Number(row.denialBaseline),
  };
}

/** Profiles and findings in PostgreSQL; a finding's row and its audit entry share one transaction. */
export class PostgresAnomalyTables implements AnomalyTables {
  readonly #pool: pg.Pool;
  readonly #audit: PostgresAuditLog;

  constructor(pool: pg.Pool, audit: PostgresAuditLog) {
    this.#pool = pool;
    this.#audit = audit;
  }

  async recordKeyProfiles(batch: KeyProfileWrite[]): Promise<void> {
    if (batch.length === 0) return;
    const profiles = [...batch].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
    const column = <T>(pick: (profile: KeyProfileWrite) => T): T[] => profiles.map(pick);
    const networks = profiles.flatMap((profile) => profile.networks.map((seen) => [profile.keyId, seen.network, storedTime(seen.lastSeen, 'lastSeen')] as const));
    // About 250 country codes in all: a key's rows are bounded without pruning.
    const countries = profiles.flatMap((profile) => (profile.countries ?? []).map((seen) => [profile.keyId, seen.country, storedTime(seen.firstSeen, 'firstSeen'), storedTime(seen.lastSeen, 'lastSeen')] as const));
    await inTransaction(this.#pool, async (client) => {
      await client.query(postgresAnomalySql.upsertProfiles, [
        column((p) => p.keyId), column((p) => storedTime(p.firstSeen, 'firstSeen')), column((p) => storedTime(p.updatedAt, 'updatedAt')),
        column((p) => p.activeMinutes), column((p) => p.rateBaseline), column((p) => p.addressBaseline), column((p) => p.denialBaseline),
      ]);
      if (countries.length > 0) await client.query(postgresAnomalySql.upsertCountries, [countries.map((row) => row[0]), countries.map((row) => row[1]), countries.map((row) => row[2]), countries.map((row) => row[3])]);
      if (networks.length === 0) return;
      await client.query(postgresAnomalySql.upsertNetworks, [networks.map((row) => row[0]), networks.map((row) => row[1]), networks.map((row) => row[2])]);
      const touched = profiles.filter((profile) => profile.networks.length > 0).map((profile) => profile.keyId);
      await client.query(postgresAnomalySql.pruneNetworks, [touched, MAX_STORED_NETWORKS]);
    });
  }

  async loadKeyProfiles({ limit, networksPerKey, countriesPerKey = 0 }: KeyProfileQuery): Promise<StoredKeyProfile[]> {
    const { rows } = await this.#pool.query<Record<string, unknown>>(postgresAnomalySql.profiles, [limit]);
    const profiles = rows.map(profileOf);
    const seen = new Map<string, ProfileNetwork[]>(profiles.map((profile) => [profile.keyId, []]));
    if (profiles.length > 0) {
      const networks = await this.#pool.query<Record<string, unknown>>(postgresAnomalySql.networks, [profiles.map((profile) => profile.keyId), networksPerKey]);
      for (const row of networks.rows) seen.get(row.keyId as string)?.push({ network: row.network as string, lastSeen: Number(row.lastSeen) });
    }
    const loaded: StoredKeyProfile[] = profiles.map((profile) => ({ ...profile, networks: newestNetworks(seen.get(profile.keyId) ?? [], networksPerKey) }));
    if (countriesPerKey <= 0 || profiles.length === 0) return loaded;
    const countries = new Map<string, ProfileCountry[]>(profiles.map((profile) => [profile.keyId, []]));
    const stored = await this.#pool.query<Record<string, unknown>>(postgresAnomalySql.countries, [profiles.map((profile) => profile.keyId), Math.min(countriesPerKey, MAX_STORED_COUNTRIES)]);
    for (const row of stored.rows) countries.get(row.keyId as string)?.push({ country: row.country as string, firstSeen: Number(row.firstSeen), lastSeen: Number(row.lastSeen) });
    return loaded.map((profile) => ({ ...profile, countries: newestCountries(countries.get(profile.keyId) ?? []) }));
  }

  async insertAnomalyFinding(finding: AnomalyFinding): Promise<boolean> {
    const { reason, details } = anomalyAuditDetails(finding);
    const at = storedTime(finding.at, 'at');
    const network = newNetworkOf(finding);
    const country = newCountryOf(finding);
    return inTransaction(this.#pool, async (client) => {
      if (network !== null && ((await client.query(postgresAnomalySql.knownNetwork, [finding.keyId, network])).rowCount ?? 0) > 0) return false;
      if (country !== null && ((await client.query(postgresAnomalySql.knownCountry, [finding.keyId, country])).rowCount ?? 0) > 0) return false;
      const inserted = await client.query(postgresAnomalySql.insertFinding, [finding.keyId, finding.kind, finding.windowStart, at, finding.action, JSON.stringify(finding.evidence)]);
      if (inserted.rowCount !== 1) return false;
      await this.#audit.append(client, { at, actor: ANOMALY_ACTOR.actor, address: null, action: 'key.anomaly', target: finding.keyId, reason, details });
      return true;
    });
  }
}
