import { PostgresAnomalyTables } from './postgres-anomaly-tables.ts';
import type pg from 'pg';
import type { KeyRecord, KeySettings } from '../../keys/key-record.ts';
import type {
  AuditEvidence,
  ChangeSubscription,
  ImportProgress,
  ImportResult,
  KeyEvent,
  KeyFilter,
  KeySettingsUpdate,
  KeyUsage,
  NewKey,
  QuotaUsage,
  QuotaUsageDelta,
  RotateResult,
} from '../key-store.ts';
import type { AuditActor, NewAuditEntry } from '../audit-log.ts';
import type { Store } from '../store.ts';
import { detailsInChangeSet, evidenceDetails, keyChangeDetails, keyCreationDetails } from '../key-audit-details.ts';
import { PostgresAuditLog } from './postgres-audit-log.ts';
import { PostgresAdminTokens } from './postgres-admin-tokens.ts';
import { PostgresTokenSigningKeys } from './postgres-token-signing-keys.ts';
import { PostgresRevokedTokens } from './postgres-revoked-tokens.ts';
import { PostgresUsageStore } from './postgres-usage-store.ts';
import { PostgresNodeHeartbeats } from './postgres-node-heartbeats.ts';
import { StoreWithParts } from '../store-parts.ts';
import { checkEventLimit, listLimit, refuseRotation, replacementSettings, rotatedExpiry } from '../key-store-rules.ts';
import { describeStoreLocation } from '../store-location.ts';
import { storedActor, storedKeyUsage, storedNewKey, storedQuotaUsage, storedReplacement, storedSettingsUpdate, storedText, storedTime } from '../stored-values.ts';
import { createPool } from './postgres-connection.ts';
import { inEventTransaction, inTransaction } from './postgres-event-log.ts';
import { applyPostgresMigrations } from './postgres-migrations.ts';
import { postgresKeyStoreSql as sql } from './postgres-key-sql.ts';
import { PostgresChangeListener } from './postgres-change-listener.ts';

type Queryable = pg.Pool | pg.PoolClient;

/**
 * Reads reuse a server-side prepared statement per connection (named queries), so a key
 * lookup costs one round trip without re-planning.
 */
async function query<R extends pg.QueryResultRow>(db: Queryable, name: keyof typeof sql, values: unknown[]): Promise<R[]> {
  const result = await db.query<R>({ name: `portcullis_${name}`, text: sql[name], values });
  return result.rows;
}

async function one<R extends pg.QueryResultRow>(db: Queryable, name: keyof typeof sql, values: unknown[]): Promise<R | null> {
  return (await query<R>(db, name, values))[0] ?? null;
}

/** The parameters of `insertKey`, JSON columns as JSON text (pg would send arrays as SQL arrays). */
function insertParameters(key: NewKey, now: number): unknown[] {
  return [
    key.id, key.name, key.digest, key.displayPrefix, JSON.stringify(key.tags), JSON.stringify(key.scopes),
    JSON.stringify(key.allowedCidrs), key.certFingerprint, key.rateLimit, JSON.stringify(key.metadata), now, key.expiresAt,
    key.quota, key.signingKey ?? null, JSON.stringify(key.apis ?? []), key.leakAction ?? null,
  ];
}

/** Keys per statement of an import: 13 arrays of this many elements each (and the time). */
const importChunk = 5000;

/** The parameters of `importKeys`: one array per column, JSON columns as JSON text. */
function importParameters(keys: readonly NewKey[], now: number): unknown[] {
  const column = <T>(value: (key: NewKey) => T) => keys.map(value);
  return [
    column((key) => key.id), column((key) => key.name), column((key) => key.digest), column((key) => key.displayPrefix),
    column((key) => JSON.stringify(key.tags)), column((key) => JSON.stringify(key.scopes)), column((key) => JSON.stringify(key.allowedCidrs)),
    column((key) => key.certFingerprint), column((key) => key.rateLimit), column((key) => key.quota), column((key) => JSON.stringify(key.metadata)),
    column((key) => key.expiresAt), now, column((key) => key.signingKey ?? null), column((key) => JSON.stringify(key.apis ?? [])), column((key) => key.leakAction ?? null),
  ];
}

export interface PostgresKeyStoreOptions {
  /** Errors on idle pooled connections and on the notification connection (logged by the gateway). */
  onConnectionError?: (error: Error) => void;
}

/**
 * The `Store` for several gateway nodes: PostgreSQL through a `pg` pool. The schema comes
 * from the connection's `search_path` (default `public`), so one database can hold several
 * deployments, or a test run, each in its own schema.
 *
 * Mutations take the change log's advisory lock (see postgres-event-log.ts), so followers
 * never skip an event; `subscribeToChanges` wakes followers on commit via LISTEN/NOTIFY. Every
 * key and admin-token change appends its audit entry in the same transaction (the audit
 * append locks `audit_head`), mirroring the SQLite store.
 */
export class PostgresKeyStore extends StoreWithParts implements Store {
  readonly #pool: pg.Pool;
  readonly #url: string;
  readonly #onConnectionError: (error: Error) => void;
  readonly #listeners = new Set<PostgresChangeListener>();
  readonly #audit: PostgresAuditLog;

  constructor(url: string, options: PostgresKeyStoreOptions = {}) {
    const onConnectionError = options.onConnectionError ?? (() => {});
    const pool = createPool(url, (error) => onConnectionError(error));
    const audit = new PostgresAuditLog(pool);
    super({ anomaly: new PostgresAnomalyTables(pool, audit), audit, adminTokens: new PostgresAdminTokens(pool, audit), usage: new PostgresUsageStore(pool), nodes: new PostgresNodeHeartbeats(pool), signingKeys: new PostgresTokenSigningKeys(pool, audit), revokedTokens: new PostgresRevokedTokens(pool, audit) });
    this.#url = url;
    this.#onConnectionError = onConnectionError;
    this.#pool = pool;
    this.#audit = audit;
  }

  async migrate(): Promise<void> {
    await applyPostgresMigrations(this.#pool);
  }

  async createKey(given: NewKey, at: number, actor: AuditActor): Promise<KeyRecord> {
    const [key, now, by] = [storedNewKey(given), storedTime(at, 'now'), storedActor(actor)];
    return inEventTransaction(this.#pool, async (client) => {
      const record = await this.#insertKey(client, key, now);
      await this.#audit.append(client, { at: now, actor: by.actor, address: by.address, action: 'key.created', target: key.id, reason: null, details: detailsInChangeSet(keyCreationDetails(record), by) });
      return record;
    });
  }

  async getKeyById(id: string): Promise<KeyRecord | null> {
    return one<KeyRecord>(this.#pool, 'keyById', [id]);
  }

  async getKeyByDigest(digest: string): Promise<KeyRecord | null> {
    return one<KeyRecord>(this.#pool, 'keyByDigest', [digest]);
  }

  async recentlyUsedKeys(limit: number): Promise<KeyRecord[]> {
    return query<KeyRecord>(this.#pool, 'recentlyUsed', [limit]);
  }

  async getKeysByCertFingerprint(fingerprint: string): Promise<KeyRecord[]> {
    return query<KeyRecord>(this.#pool, 'keysByCertFingerprint', [fingerprint]);
  }

  async listKeys(filter: KeyFilter = {}): Promise<KeyRecord[]> {
    const limit = listLimit(filter.limit);
    const { tag, after } = filter;
    if (tag === undefined) return after === undefined ? query(this.#pool, 'listAll', [limit]) : query(this.#pool, 'listAfter', [after, limit]);
    return after === undefined ? query(this.#pool, 'listByTag', [tag, limit]) : query(this.#pool, 'listByTagAfter', [tag, after, limit]);
  }

  async revokeKey(id: string, givenReason: string | null, at: number, actor: AuditActor, evidence?: AuditEvidence): Promise<KeyRecord | null> {
    const [reason, now, by] = [storedText(givenReason, 'reason'), storedTime(at, 'now'), storedActor(actor)];
    return inEventTransaction(this.#pool, async (client) => {
      const revoked = await one<KeyRecord>(client, 'revoke', [id, reason, now]);
      // Unknown, or already revoked: the first revocation's time and reason stand.
      if (revoked === null) return one<KeyRecord>(client, 'keyById', [id]);
      await this.#audit.append(client, { at: now, actor: by.actor, address: by.address, action: 'key.revoked', target: id, reason, details: detailsInChangeSet(evidenceDetails(evidence), by) });
      return revoked;
    });
  }

  async quarantineKey(id: string, givenReason: string, at: number, actor: AuditActor, evidence?: AuditEvidence): Promise<KeyRecord | null> {
    const [reason, now, by] = [storedText(givenReason, 'reason'), storedTime(at, 'now'), storedActor(actor)];
    return inEventTransaction(this.#pool, async (client) => {
      const quarantined = await one<KeyRecord>(client, 'quarantine', [id, reason, now]);
      // Unknown, revoked, or already quarantined: nothing changes.
      if (quarantined === null) return one<KeyRecord>(client, 'keyById', [id]);
      await this.#audit.append(client, { at: now, actor: by.actor, address: by.address, action: 'key.quarantined', target: id, reason, details: detailsInChangeSet(evidenceDetails(evidence), by) });
      return quarantined;
    });
  }

  async releaseKey(id: string, givenReason: string | null, at: number, actor: AuditActor): Promise<KeyRecord | null> {
    const [reason, now, by] = [storedText(givenReason, 'reason'), storedTime(at, 'now'), storedActor(actor)];
    return inEventTransaction(this.#pool, async (client) => {
      const released = await one<KeyRecord & { liftedAt: number; liftedReason: string | null }>(client, 'release', [id, now]);
      if (released === null) return one<KeyRecord>(client, 'keyById', [id]);
      const { liftedAt, liftedReason, ...record } = released;
      const details = JSON.stringify({ quarantinedAt: liftedAt, quarantinedReason: liftedReason });
      await this.#audit.append(client, { at: now, actor: by.actor, address: by.address, action: 'key.released', target: id, reason, details: detailsInChangeSet(details, by) });
      return record;
    });
  }

  async revokeKeysByTag(tag: string, givenReason: string | null, at: number, actor: AuditActor): Promise<KeyRecord[]> {
    const [reason, now, by] = [storedText(givenReason, 'reason'), storedTime(at, 'now'), storedActor(actor)];
    return inEventTransaction(this.#pool, async (client) => {
      const revoked = (await query<KeyRecord>(client, 'revokeByTag', [tag, reason, now])).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const details = detailsInChangeSet(JSON.stringify({ byTag: tag }), by);
      for (const record of revoked) {
        await this.#audit.append(client, { at: now, actor: by.actor, address: by.address, action: 'key.revoked', target: record.id, reason, details });
      }
      return revoked;
    });
  }

  async rotateKey(
    oldId: string,
    givenReplacement: Omit<NewKey, keyof KeySettings>,
    givenGraceEnd: number,
    at: number,
    actor: AuditActor,
  ): Promise<RotateResult | null> {
    const [replacement, graceEndsAt, now, by] = [storedReplacement(givenReplacement), storedTime(givenGraceEnd, 'graceEndsAt'), storedTime(at, 'now'), storedActor(actor)];
    return inEventTransaction(this.#pool, async (client): Promise<RotateResult | null> => {
      const old = await one<KeyRecord>(client, 'keyById', [oldId]);
      if (old === null) return null;
      refuseRotation(old, now);
      const newKey = await this.#insertKey(client, { ...replacementSettings(old), ...replacement }, now);
      // After the new key's `created` event, so a follower that reads `rotatedTo` has
      // already been told about the key it names.
      const expiresAt = rotatedExpiry(old, graceEndsAt);
      const oldKey = await one<KeyRecord>(client, 'markRotated', [oldId, expiresAt, newKey.id, now]);
      if (oldKey === null) throw new Error(`Key ${oldId} vanished during rotation`);
      const audit = { at: now, actor: by.actor, address: by.address, reason: null };
      await this.#audit.append(client, { ...audit, action: 'key.created', target: newKey.id, details: keyCreationDetails(newKey, oldId) });
      await this.#audit.append(client, { ...audit, action: 'key.rotated', target: oldId, details: JSON.stringify({ replacedBy: newKey.id, expiresAt }) });
      return { oldKey, newKey };
    });
  }

  async updateKey(id: string, givenChanges: KeySettingsUpdate, at: number, actor: AuditActor): Promise<KeyRecord | null> {
    const [changes, now, by] = [storedSettingsUpdate(givenChanges), storedTime(at, 'now'), storedActor(actor)];
    // The row is locked before it is compared, so a concurrent update cannot slip in between.
    return inEventTransaction(this.#pool, async (client): Promise<KeyRecord | null> => {
      const current = await one<KeyRecord>(client, 'keyByIdForUpdate', [id]);
      if (current === null) return null;
      const changed = keyChangeDetails(current, changes);
      if (changed === null) return current;
      const details = detailsInChangeSet(changed, by);
      const next = { ...current, ...changes };
      const updated = await one<KeyRecord>(client, 'updateSettings', [
        id, next.name, JSON.stringify(next.tags), JSON.stringify(next.scopes), JSON.stringify(next.allowedCidrs),
        next.certFingerprint, next.rateLimit, next.quota, JSON.stringify(next.metadata), next.expiresAt, now, next.signingKey ?? null, JSON.stringify(next.apis ?? []), next.leakAction ?? null,
      ]);
      if (updated === null) throw new Error(`Key ${id} vanished during update`);
      if (changes.tags !== undefined) {
        await query(client, 'deleteTags', [id]);
        await query(client, 'insertTags', [id, JSON.stringify(next.tags)]);
      }
      await this.#audit.append(client, { at: now, actor: by.actor, address: by.address, action: 'key.updated', target: id, reason: null, details });
      return updated;
    });
  }

  async importKeys(given: readonly NewKey[], at: number, actor: AuditActor, onProgress?: ImportProgress): Promise<ImportResult> {
    const [keys, now, by] = [given.map(storedNewKey), storedTime(at, 'now'), storedActor(actor)];
    return inEventTransaction(this.#pool, async (client): Promise<ImportResult> => {
      const fresh = await this.#unstoredKeys(client, keys);
      const audit: NewAuditEntry[] = [];
      for (let start = 0; start < fresh.length; start += importChunk) {
        const chunk = fresh.slice(start, start + importChunk);
        await client.query(sql.importKeys, importParameters(chunk, now));
        for (const key of chunk) {
          const record: KeyRecord = { ...key, signingKey: key.signingKey ?? null, apis: key.apis ?? [], leakAction: key.leakAction ?? null, createdAt: now, updatedAt: now, revokedAt: null, revokedReason: null, quarantinedAt: null, quarantinedReason: null, rotatedTo: null, lastUsedAt: null, lastUsedAddress: null };
          audit.push({ at: now, actor: by.actor, address: by.address, action: 'key.created', target: key.id, reason: null, details: detailsInChangeSet(keyCreationDetails(record), by) });
        }
        onProgress?.(Math.min(keys.length, keys.length - fresh.length + start + chunk.length), keys.length);
      }
      await this.#audit.appendMany(client, audit);
      if (fresh.length === 0) onProgress?.(keys.length, keys.length);
      return { created: fresh.length, alreadyStored: keys.length - fresh.length };
    });
  }

  async eventsSince(afterSeq: number, limit: number): Promise<KeyEvent[]> {
    checkEventLimit(limit);
    return query<KeyEvent>(this.#pool, 'eventsSince', [afterSeq, limit]);
  }

  async latestEventSeq(): Promise<number> {
    return (await one<{ seq: number }>(this.#pool, 'latestEventSeq', []))?.seq ?? 0;
  }

  async recordUsage(given: KeyUsage[]): Promise<void> {
    if (given.length === 0) return;
    const batch = storedKeyUsage(given);
    await this.#pool.query({
      name: 'portcullis_recordUsage',
      text: sql.recordUsage,
      values: [batch.map((usage) => usage.keyId), batch.map((usage) => usage.lastUsedAt), batch.map((usage) => usage.lastUsedAddress)],
    });
  }

  async addQuotaUsage(given: QuotaUsageDelta[]): Promise<QuotaUsage[]> {
    if (given.length === 0) return [];
    const batch = storedQuotaUsage(given);
    // Counters are locked in key order, so two nodes flushing overlapping batches cannot deadlock.
    const ordered = [...batch].sort((a, b) => (a.keyId < b.keyId ? -1 : a.keyId > b.keyId ? 1 : 0));
    const totals = await inTransaction(this.#pool, async (client) => {
      const rows: QuotaUsage[] = [];
      for (const delta of ordered) {
        const total = await one<QuotaUsage>(client, 'addQuotaUsage', [delta.keyId, delta.periodStart, delta.used]);
        if (total !== null) rows.push(total);
      }
      return rows;
    });
    // In the batch's own order, as the SQLite store returns them.
    const order = new Map(batch.map((delta, index) => [delta.keyId, index]));
    return totals.sort((a, b) => (order.get(a.keyId) ?? 0) - (order.get(b.keyId) ?? 0));
  }

  async getQuotaUsage(keyId: string): Promise<QuotaUsage | null> {
    return one<QuotaUsage>(this.#pool, 'quotaUsage', [keyId]);
  }

  async subscribeToChanges(onChange: () => void): Promise<ChangeSubscription> {
    const listener = new PostgresChangeListener(this.#url, onChange, (error) => this.#onConnectionError(error));
    this.#listeners.add(listener);
    await listener.start();
    return {
      get listening() {
        return listener.listening;
      },
      close: async () => {
        this.#listeners.delete(listener);
        await listener.stop();
      },
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.#listeners].map((listener) => listener.stop()));
    this.#listeners.clear();
    if (!this.#pool.ended) await this.#pool.end();
  }

  /** The keys whose digest is neither stored nor earlier in `keys`, in their order. */
  async #unstoredKeys(client: pg.PoolClient, keys: readonly NewKey[]): Promise<NewKey[]> {
    const seen = new Set<string>();
    for (let start = 0; start < keys.length; start += importChunk) {
      const digests = keys.slice(start, start + importChunk).map((key) => key.digest);
      for (const row of await query<{ digest: string }>(client, 'storedDigests', [digests])) seen.add(row.digest);
    }
    const fresh: NewKey[] = [];
    for (const key of keys) {
      if (seen.has(key.digest)) continue;
      seen.add(key.digest);
      fresh.push(key);
    }
    return fresh;
  }

  /** Inserts the key, its tags and its `created` event; the caller holds the transaction. */
  async #insertKey(client: pg.PoolClient, key: NewKey, now: number): Promise<KeyRecord> {
    const record = await one<KeyRecord>(client, 'insertKey', insertParameters(key, now));
    if (record === null) throw new Error(`Key ${key.id} was not inserted`);
    return record;
  }
}

/**
 * Opens the PostgreSQL key store at `url` and applies pending migrations.
 *
 * @example
 * const store = await openPostgresKeyStore('postgres://portcullis@db.internal:5432/portcullis');
 * const key = await store.getKeyByDigest(digest);
 * await store.close();
 */
export async function openPostgresKeyStore(url: string, options: PostgresKeyStoreOptions = {}): Promise<PostgresKeyStore> {
  const store = new PostgresKeyStore(url, options);
  try {
    await store.migrate();
    return store;
  } catch (error) {
    await store.close();
    const code = (error as { code?: unknown }).code;
    if (error instanceof Error && typeof code === 'string' && code.startsWith('E')) {
      // A socket error (ECONNREFUSED, ENOTFOUND…) says nothing of which store it was.
      throw new Error(`Cannot reach the PostgreSQL key store at ${describeStoreLocation(url)}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
