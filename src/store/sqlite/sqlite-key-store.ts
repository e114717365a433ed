import Database from 'better-sqlite3';
import type { KeyRecord, KeySettings, LeakAction } from '../../keys/key-record.ts';
import type {
  AuditEvidence,
  KeyEvent,
  KeyEventKind,
  KeyFilter,
  ImportProgress,
  ImportResult,
  KeySettingsUpdate,
  KeyUsage,
  NewKey,
  QuotaUsage,
  QuotaUsageDelta,
  RotateResult,
} from '../key-store.ts';
import type { AuditActor, NewAuditEntry } from '../audit-log.ts';
import type { Store } from '../store.ts';
import { latestSchemaVersion, migrations, schemaMigrationsTable } from '../migrations/index.ts';
import { SqliteAuditLog } from './sqlite-audit-log.ts';
import { SqliteAdminTokens } from './sqlite-admin-tokens.ts';
import { SqliteTokenSigningKeys } from './sqlite-token-signing-keys.ts';
import { SqliteRevokedTokens } from './sqlite-revoked-tokens.ts';
import { SqliteUsageStore } from './sqlite-usage-store.ts';
import { SqliteNodeHeartbeats } from './sqlite-node-heartbeats.ts';
import { StoreWithParts } from '../store-parts.ts';
import { SqliteAnomalyTables } from './sqlite-anomaly-tables.ts';
import { preparePrivateDatabaseFile } from './private-database-file.ts';
import { detailsInChangeSet, evidenceDetails, keyChangeDetails, keyCreationDetails } from '../key-audit-details.ts';
import { checkEventLimit, listLimit, refuseRotation, replacementSettings, rotatedExpiry } from '../key-store-rules.ts';
import { exactRow, storedActor, storedKeyUsage, storedNewKey, storedQuotaUsage, storedReplacement, storedSettingsUpdate, storedText, storedTime } from '../stored-values.ts';


/** An `api_keys` row as SQLite returns it: snake_case, JSON as text. */
export interface KeyRow {
  id: string;
  name: string;
  digest: string;
  display_prefix: string;
  tags: string;
  scopes: string;
  allowed_cidrs: string;
  cert_fingerprint: string | null;
  signing_key: string | null;
  apis: string;
  leak_action: LeakAction | null;
  rate_limit: string | null;
  quota: string | null;
  metadata: string;
  created_at: number;
  updated_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  revoked_reason: string | null;
  quarantined_at: number | null;
  quarantined_reason: string | null;
  rotated_to: string | null;
  last_used_at: number | null;
  last_used_address: string | null;
}

const keyColumnNames = [
  'id', 'name', 'digest', 'display_prefix', 'tags', 'scopes', 'allowed_cidrs', 'cert_fingerprint',
  'rate_limit', 'quota', 'metadata', 'created_at', 'updated_at', 'expires_at', 'revoked_at', 'revoked_reason',
  'quarantined_at', 'quarantined_reason', 'rotated_to', 'last_used_at', 'last_used_address', 'signing_key', 'apis', 'leak_action',
] as const satisfies readonly (keyof KeyRow)[];
const keyColumns = keyColumnNames.join(', ');
const joinedKeyColumns = keyColumnNames.map((column) => `k.${column}`).join(', ');

/**
 * Every statement the store runs, compiled once when the store opens.
 * Exported only so that tests can check the query plans (no table scans).
 */
export const sqliteKeyStoreSql = {
  insertKey: `INSERT INTO api_keys (id, name, digest, display_prefix, tags, scopes, allowed_cidrs,
      cert_fingerprint, signing_key, apis, leak_action, rate_limit, quota, metadata, created_at, updated_at, expires_at)
    VALUES (@id, @name, @digest, @displayPrefix, @tags, @scopes, @allowedCidrs,
      @certFingerprint, @signingKey, @apis, @leakAction, @rateLimit, @quota, @metadata, @now, @now, @expiresAt)
    RETURNING ${keyColumns}`,
  insertImported: `INSERT INTO api_keys (id, name, digest, display_prefix, tags, scopes, allowed_cidrs,
      cert_fingerprint, signing_key, apis, leak_action, rate_limit, quota, metadata, created_at, updated_at, expires_at)
    VALUES (@id, @name, @digest, @displayPrefix, @tags, @scopes, @allowedCidrs,
      @certFingerprint, @signingKey, @apis, @leakAction, @rateLimit, @quota, @metadata, @now, @now, @expiresAt)`,
  insertTag: 'INSERT OR IGNORE INTO key_tags (key_id, tag) VALUES (?, ?)',
  insertEvent: 'INSERT INTO key_events (key_id, kind, at) VALUES (?, ?, ?)',
  keyById: `SELECT ${keyColumns} FROM api_keys WHERE id = ?`,
  keyByDigest: `SELECT ${keyColumns} FROM api_keys WHERE digest = ?`,
  digestExists: 'SELECT 1 FROM api_keys WHERE digest = ?',
  recentlyUsed: `SELECT ${keyColumns} FROM api_keys WHERE revoked_at IS NULL AND last_used_at IS NOT NULL ORDER BY last_used_at DESC LIMIT ?`,
  // No index yet: asked once per client certificate (then cached), and only with tls.certificateIdentity on.
  keysByCertFingerprint: `SELECT ${keyColumns} FROM api_keys WHERE cert_fingerprint = ? ORDER BY created_at DESC, id DESC LIMIT 100`,
  listAll: `SELECT ${keyColumns} FROM api_keys ORDER BY id LIMIT ?`,
  listAfter: `SELECT ${keyColumns} FROM api_keys WHERE id > ? ORDER BY id LIMIT ?`,
  listByTag: `SELECT ${joinedKeyColumns} FROM key_tags t JOIN api_keys k ON k.id = t.key_id
    WHERE t.tag = ? ORDER BY t.key_id LIMIT ?`,
  listByTagAfter: `SELECT ${joinedKeyColumns} FROM key_tags t JOIN api_keys k ON k.id = t.key_id
    WHERE t.tag = ? AND t.key_id > ? ORDER BY t.key_id LIMIT ?`,
  unrevokedIdsByTag: `SELECT t.key_id FROM key_tags t JOIN api_keys k ON k.id = t.key_id
    WHERE t.tag = ? AND k.revoked_at IS NULL ORDER BY t.key_id`,
  revoke: `UPDATE api_keys SET revoked_at = @now, revoked_reason = @reason, updated_at = @now
    WHERE id = @id AND revoked_at IS NULL RETURNING ${keyColumns}`,
  // A revoked key stays revoked, and a quarantined one keeps its first time and reason.
  quarantine: `UPDATE api_keys SET quarantined_at = @now, quarantined_reason = @reason, updated_at = @now
    WHERE id = @id AND revoked_at IS NULL AND quarantined_at IS NULL RETURNING ${keyColumns}`,
  release: `UPDATE api_keys SET quarantined_at = NULL, quarantined_reason = NULL, updated_at = @now
    WHERE id = @id AND quarantined_at IS NOT NULL RETURNING ${keyColumns}`,
  markRotated: `UPDATE api_keys SET expires_at = @expiresAt, rotated_to = @rotatedTo, updated_at = @now
    WHERE id = @id RETURNING ${keyColumns}`,
  updateSettings: `UPDATE api_keys SET name = @name, tags = @tags, scopes = @scopes, allowed_cidrs = @allowedCidrs,
      cert_fingerprint = @certFingerprint, signing_key = @signingKey, apis = @apis, leak_action = @leakAction, rate_limit = @rateLimit, quota = @quota, metadata = @metadata, expires_at = @expiresAt,
      updated_at = @now
    WHERE id = @id RETURNING ${keyColumns}`,
  deleteTags: 'DELETE FROM key_tags WHERE key_id = ?',
  // A use only moves the last-used facts forward in time, so batches from
  // several nodes may arrive in any order.
  recordUsage: `UPDATE api_keys SET last_used_at = @lastUsedAt, last_used_address = @lastUsedAddress
    WHERE id = @keyId AND (last_used_at IS NULL OR last_used_at < @lastUsedAt)`,
  eventsSince: 'SELECT seq, key_id AS keyId, kind, at FROM key_events WHERE seq > ? ORDER BY seq LIMIT ?',
  // One counter per key, for its latest period: a newer period replaces the count, an older
  // one (a late flush from a slow node) leaves it alone. Unknown keys insert nothing.
  addQuotaUsage: `INSERT INTO key_quota_usage (key_id, period_start, used)
    SELECT @keyId, @periodStart, @used WHERE EXISTS (SELECT 1 FROM api_keys WHERE id = @keyId)
    ON CONFLICT (key_id) DO UPDATE SET
      used = CASE
        WHEN excluded.period_start = key_quota_usage.period_start THEN key_quota_usage.used + excluded.used
        WHEN excluded.period_start > key_quota_usage.period_start THEN excluded.used
        ELSE key_quota_usage.used END,
      period_start = max(key_quota_usage.period_start, excluded.period_start)
    RETURNING key_id AS keyId, period_start AS periodStart, used`,
  quotaUsage: 'SELECT key_id AS keyId, period_start AS periodStart, used FROM key_quota_usage WHERE key_id = ?',
  latestEventSeq: 'SELECT coalesce(max(seq), 0) FROM key_events',
} as const;

interface InsertKeyParams {
  id: string;
  name: string;
  digest: string;
  displayPrefix: string;
  tags: string;
  scopes: string;
  allowedCidrs: string;
  certFingerprint: string | null;
  signingKey: string | null;
  apis: string;
  leakAction: LeakAction | null;
  rateLimit: string | null;
  quota: string | null;
  metadata: string;
  now: number;
  expiresAt: number | null;
}

function prepareStatements(db: Database.Database) {
  const sql = sqliteKeyStoreSql;
  return {
    insertKey: db.prepare<InsertKeyParams, KeyRow>(sql.insertKey),
    insertImported: db.prepare<InsertKeyParams>(sql.insertImported),
    insertTag: db.prepare<[string, string]>(sql.insertTag),
    insertEvent: db.prepare<[string, KeyEventKind, number]>(sql.insertEvent),
    keyById: db.prepare<[string], KeyRow>(sql.keyById),
    keyByDigest: db.prepare<[string], KeyRow>(sql.keyByDigest),
    digestExists: db.prepare<[string], number>(sql.digestExists).pluck(),
    recentlyUsed: db.prepare<[number], KeyRow>(sql.recentlyUsed),
    keysByCertFingerprint: db.prepare<[string], KeyRow>(sql.keysByCertFingerprint),
    listAll: db.prepare<[number], KeyRow>(sql.listAll),
    listAfter: db.prepare<[string, number], KeyRow>(sql.listAfter),
    listByTag: db.prepare<[string, number], KeyRow>(sql.listByTag),
    listByTagAfter: db.prepare<[string, string, number], KeyRow>(sql.listByTagAfter),
    unrevokedIdsByTag: db.prepare<[string], string>(sql.unrevokedIdsByTag).pluck(),
    revoke: db.prepare<{ id: string; reason: string | null; now: number }, KeyRow>(sql.revoke),
    quarantine: db.prepare<{ id: string; reason: string; now: number }, KeyRow>(sql.quarantine),
    release: db.prepare<{ id: string; now: number }, KeyRow>(sql.release),
    markRotated: db.prepare<{ id: string; expiresAt: number; rotatedTo: string; now: number }, KeyRow>(sql.markRotated),
    updateSettings: db.prepare<Omit<InsertKeyParams, 'digest' | 'displayPrefix'>, KeyRow>(sql.updateSettings),
    deleteTags: db.prepare<[string]>(sql.deleteTags),
    recordUsage: db.prepare<KeyUsage>(sql.recordUsage),
    eventsSince: db.prepare<[number, number], KeyEvent>(sql.eventsSince),
    latestEventSeq: db.prepare<[], number>(sql.latestEventSeq).pluck(),
    // A counter can outgrow 2^53: read as BigInt and checked (exactRow), as PostgreSQL's parser does.
    addQuotaUsage: db.prepare<QuotaUsageDelta, Record<string, unknown>>(sql.addQuotaUsage).safeIntegers(),
    quotaUsage: db.prepare<[string], Record<string, unknown>>(sql.quotaUsage).safeIntegers(),
  };
}

// The JSON columns are written only by this module, from typed values (exported for the change feed thread's reads).
/** The record of a row a `get` found, or null when it found none. */
export function recordOrNull(row: KeyRow | undefined): KeyRecord | null {
  return row === undefined ? null : recordFromRow(row);
}

export function recordFromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    digest: row.digest,
    displayPrefix: row.display_prefix,
    tags: JSON.parse(row.tags) as string[],
    scopes: JSON.parse(row.scopes) as string[],
    allowedCidrs: JSON.parse(row.allowed_cidrs) as string[],
    certFingerprint: row.cert_fingerprint,
    signingKey: row.signing_key,
    apis: JSON.parse(row.apis) as string[],
    leakAction: row.leak_action,
    rateLimit: row.rate_limit,
    quota: row.quota,
    metadata: JSON.parse(row.metadata) as Record<string, unknown>,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedReason: row.revoked_reason,
    quarantinedAt: row.quarantined_at,
    quarantinedReason: row.quarantined_reason,
    rotatedTo: row.rotated_to,
    lastUsedAt: row.last_used_at,
    lastUsedAddress: row.last_used_address,
  };
}

function readSchemaVersion(db: Database.Database): number {
  return db.prepare<[], number>('SELECT coalesce(max(version), 0) FROM schema_migrations').pluck().get() ?? 0;
}

/**
 * Applies pending migrations, each in its own IMMEDIATE transaction that
 * re-reads the ledger first, so two processes opening the same new file at
 * once apply each migration exactly once. Refuses a database written by a
 * newer Portcullis: its tables may mean something this code does not know.
 */
function applyMigrations(db: Database.Database): void {
  db.exec(schemaMigrationsTable.sqlite);
  const found = readSchemaVersion(db);
  if (found > latestSchemaVersion) {
    throw new Error(
      `Database ${db.name} has schema version ${found}, newer than this Portcullis supports ` +
        `(${latestSchemaVersion}); upgrade Portcullis to open it.`,
    );
  }
  const isApplied = db.prepare<[number], number>('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
  const record = db.prepare<[number, string, number]>(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  for (const migration of migrations) {
    // Every migration the ledger lacks, not only those above `found`: see Migration.version.
    db.transaction(() => {
      if (isApplied.get(migration.version) !== undefined) return;
      db.exec(migration.sqlite);
      record.run(migration.version, migration.name, Date.now());
    }).immediate();
  }
}

/**
 * The embedded store. better-sqlite3 is synchronous, so every method has
 * finished its work before the returned promise settles. All writes use
 * `BEGIN IMMEDIATE`: a deferred transaction that reads and then writes can fail
 * with SQLITE_BUSY at once (without waiting out `busy_timeout`) when another
 * process wrote in between. Every key mutation writes its `key_events` row and
 * its audit entry in that same transaction.
 */
class SqliteKeyStore extends StoreWithParts implements Store {
  readonly #db: Database.Database;
  readonly #statements: ReturnType<typeof prepareStatements>;
  readonly #audit: SqliteAuditLog;

  /** Takes an open connection, migrates it, and compiles the statements. */
  constructor(db: Database.Database) {
    applyMigrations(db);
    const audit = new SqliteAuditLog(db);
    super({ anomaly: new SqliteAnomalyTables(db, audit), audit, adminTokens: new SqliteAdminTokens(db, audit), usage: new SqliteUsageStore(db), nodes: new SqliteNodeHeartbeats(db), signingKeys: new SqliteTokenSigningKeys(db, audit), revokedTokens: new SqliteRevokedTokens(db, audit) });
    this.#db = db;
    this.#statements = prepareStatements(db);
    this.#audit = audit;
  }

  async migrate(): Promise<void> {
    applyMigrations(this.#db);
  }

  async createKey(given: NewKey, at: number, actor: AuditActor): Promise<KeyRecord> {
    const [key, now, by] = [storedNewKey(given), storedTime(at, 'now'), storedActor(actor)];
    return this.#db.transaction(() => {
      const record = this.#insertKey(key, now);
      this.#audit.append({ at: now, actor: by.actor, address: by.address, action: 'key.created', target: key.id, reason: null, details: detailsInChangeSet(keyCreationDetails(record), by) });
      return record;
    }).immediate();
  }

  async getKeyById(id: string): Promise<KeyRecord | null> {
    const row = this.#statements.keyById.get(id);
    return recordOrNull(row);
  }

  async getKeyByDigest(digest: string): Promise<KeyRecord | null> {
    const row = this.#statements.keyByDigest.get(digest);
    return recordOrNull(row);
  }

  async recentlyUsedKeys(limit: number): Promise<KeyRecord[]> {
    return this.#statements.recentlyUsed.all(limit).map(recordFromRow);
  }

  async getKeysByCertFingerprint(fingerprint: string): Promise<KeyRecord[]> {
    return this.#statements.keysByCertFingerprint.all(fingerprint).map(recordFromRow);
  }

  async listKeys(filter: KeyFilter = {}): Promise<KeyRecord[]> {
    const limit = listLimit(filter.limit);
    const { tag, after } = filter;
    const s = this.#statements;
    let rows: KeyRow[];
    if (tag === undefined) rows = after === undefined ? s.listAll.all(limit) : s.listAfter.all(after, limit);
    else rows = after === undefined ? s.listByTag.all(tag, limit) : s.listByTagAfter.all(tag, after, limit);
    return rows.map(recordFromRow);
  }

  async revokeKey(id: string, givenReason: string | null, at: number, actor: AuditActor, evidence?: AuditEvidence): Promise<KeyRecord | null> {
    const [reason, now, by] = [storedText(givenReason, 'reason'), storedTime(at, 'now'), storedActor(actor)];
    return this.#db.transaction(() => {
      const revoked = this.#revoke(id, reason, now, by, evidenceDetails(evidence));
      if (revoked !== null) return revoked;
      // Unknown, or already revoked: the first revocation's time and reason stand.
      const row = this.#statements.keyById.get(id);
      return recordOrNull(row);
    }).immediate();
  }

  async quarantineKey(id: string, givenReason: string, at: number, actor: AuditActor, evidence?: AuditEvidence): Promise<KeyRecord | null> {
    const [reason, now, by] = [storedText(givenReason, 'reason'), storedTime(at, 'now'), storedActor(actor)];
    return this.#db.transaction(() => {
      const row = this.#statements.quarantine.get({ id, reason, now });
      if (row === undefined) return this.#keyOrNull(id);
      this.#statements.insertEvent.run(id, 'quarantined', now);
      this.#audit.append({ at: now, actor: by.actor, address: by.address, action: 'key.quarantined', target: id, reason, details: detailsInChangeSet(evidenceDetails(evidence), by) });
      return recordFromRow(row);
    }).immediate();
  }

  async releaseKey(id: string, givenReason: string | null, at: number, actor: AuditActor): Promise<KeyRecord | null> {
    const [reason, now, by] = [storedText(givenReason, 'reason'), storedTime(at, 'now'), storedActor(actor)];
    return this.#db.transaction(() => {
      const before = this.#statements.keyById.get(id);
      const row = this.#statements.release.get({ id, now });
      if (before === undefined || row === undefined) return this.#keyOrNull(id);
      this.#statements.insertEvent.run(id, 'released', now);
      const details = JSON.stringify({ quarantinedAt: before.quarantined_at, quarantinedReason: before.quarantined_reason });
      this.#audit.append({ at: now, actor: by.actor, address: by.address, action: 'key.released', target: id, reason, details: detailsInChangeSet(details, by) });
      return recordFromRow(row);
    }).immediate();
  }

  async revokeKeysByTag(tag: string, givenReason: string | null, at: number, actor: AuditActor): Promise<KeyRecord[]> {
    const [reason, now, by] = [storedText(givenReason, 'reason'), storedTime(at, 'now'), storedActor(actor)];
    return this.#db.transaction(() => {
      const revoked: KeyRecord[] = [];
      const details = JSON.stringify({ byTag: tag });
      for (const id of this.#statements.unrevokedIdsByTag.all(tag)) {
        const record = this.#revoke(id, reason, now, by, details);
        if (record !== null) revoked.push(record);
      }
      return revoked;
    }).immediate();
  }

  async rotateKey(
    oldId: string,
    givenReplacement: Omit<NewKey, keyof KeySettings>,
    givenGraceEnd: number,
    at: number,
    actor: AuditActor,
  ): Promise<RotateResult | null> {
    const [replacement, graceEndsAt, now, by] = [storedReplacement(givenReplacement), storedTime(givenGraceEnd, 'graceEndsAt'), storedTime(at, 'now'), storedActor(actor)];
    return this.#db.transaction((): RotateResult | null => {
      const oldRow = this.#statements.keyById.get(oldId);
      if (oldRow === undefined) return null;
      const old = recordFromRow(oldRow);
      refuseRotation(old, now);
      const newKey = this.#insertKey({ ...replacementSettings(old), id: replacement.id, digest: replacement.digest, displayPrefix: replacement.displayPrefix }, now);
      const expiresAt = rotatedExpiry(old, graceEndsAt);
      const oldKey = this.#statements.markRotated.get({ id: oldId, expiresAt, rotatedTo: newKey.id, now });
      if (oldKey === undefined) throw new Error(`Key ${oldId} vanished during rotation`);
      // After the new key's `created` event, so a follower that reads
      // `rotatedTo` has already been told about the key it names.
      this.#statements.insertEvent.run(oldId, 'rotated', now);
      const audit = { at: now, actor: by.actor, address: by.address, reason: null };
      this.#audit.append({ ...audit, action: 'key.created', target: newKey.id, details: keyCreationDetails(newKey, oldId) });
      this.#audit.append({ ...audit, action: 'key.rotated', target: oldId, details: JSON.stringify({ replacedBy: newKey.id, expiresAt }) });
      return { oldKey: recordFromRow(oldKey), newKey };
    }).immediate();
  }

  async updateKey(id: string, givenChanges: KeySettingsUpdate, at: number, actor: AuditActor): Promise<KeyRecord | null> {
    const [changes, now, by] = [storedSettingsUpdate(givenChanges), storedTime(at, 'now'), storedActor(actor)];
    return this.#db.transaction((): KeyRecord | null => {
      const row = this.#statements.keyById.get(id);
      if (row === undefined) return null;
      const old = recordFromRow(row);
      const changed = keyChangeDetails(old, changes);
      if (changed === null) return old;
      const details = detailsInChangeSet(changed, by);
      const next = { ...old, ...changes };
      const updated = this.#statements.updateSettings.get({
        id,
        name: next.name,
        tags: JSON.stringify(next.tags),
        scopes: JSON.stringify(next.scopes),
        allowedCidrs: JSON.stringify(next.allowedCidrs),
        certFingerprint: next.certFingerprint,
        signingKey: next.signingKey ?? null,
        apis: JSON.stringify(next.apis ?? []),
        leakAction: next.leakAction ?? null,
        rateLimit: next.rateLimit,
        quota: next.quota,
        metadata: JSON.stringify(next.metadata),
        expiresAt: next.expiresAt,
        now,
      });
      if (updated === undefined) throw new Error(`Key ${id} vanished during update`);
      if (changes.tags !== undefined) {
        this.#statements.deleteTags.run(id);
        for (const tag of next.tags) this.#statements.insertTag.run(id, tag);
      }
      this.#statements.insertEvent.run(id, 'updated', now);
      this.#audit.append({ at: now, actor: by.actor, address: by.address, action: 'key.updated', target: id, reason: null, details });
      return recordFromRow(updated);
    }).immediate();
  }

  async importKeys(given: readonly NewKey[], at: number, actor: AuditActor, onProgress?: ImportProgress): Promise<ImportResult> {
    const [keys, now, by] = [given.map(storedNewKey), storedTime(at, 'now'), storedActor(actor)];
    const s = this.#statements;
    return this.#db.transaction((): ImportResult => {
      const audit: NewAuditEntry[] = [];
      let alreadyStored = 0;
      keys.forEach((key, index) => {
        if (s.digestExists.get(key.digest) !== undefined) alreadyStored++;
        else {
          // As #insertKey, without reading the row back: the record is what was written.
          s.insertImported.run(this.#keyParameters(key, now));
          for (const tag of key.tags) s.insertTag.run(key.id, tag);
          s.insertEvent.run(key.id, 'created', now);
          const record: KeyRecord = { ...key, signingKey: key.signingKey ?? null, apis: key.apis ?? [], leakAction: key.leakAction ?? null, createdAt: now, updatedAt: now, revokedAt: null, revokedReason: null, quarantinedAt: null, quarantinedReason: null, rotatedTo: null, lastUsedAt: null, lastUsedAddress: null };
          audit.push({ at: now, actor: by.actor, address: by.address, action: 'key.created', target: key.id, reason: null, details: detailsInChangeSet(keyCreationDetails(record), by) });
        }
        // better-sqlite3 holds the thread for the whole transaction: a progress bar on a terminal writes synchronously.
        if (onProgress !== undefined && ((index + 1) % 1000 === 0 || index + 1 === keys.length)) onProgress(index + 1, keys.length);
      });
      this.#audit.appendMany(audit);
      return { created: audit.length, alreadyStored };
    }).immediate();
  }

  async eventsSince(afterSeq: number, limit: number): Promise<KeyEvent[]> {
    checkEventLimit(limit);
    return this.#statements.eventsSince.all(afterSeq, limit);
  }

  async latestEventSeq(): Promise<number> {
    return this.#statements.latestEventSeq.get() ?? 0;
  }

  async recordUsage(given: KeyUsage[]): Promise<void> {
    if (given.length === 0) return;
    const batch = storedKeyUsage(given);
    const { recordUsage } = this.#statements;
    this.#db.transaction(() => {
      for (const usage of batch) recordUsage.run(usage);
    }).immediate();
  }

  async addQuotaUsage(given: QuotaUsageDelta[]): Promise<QuotaUsage[]> {
    if (given.length === 0) return [];
    const batch = storedQuotaUsage(given);
    const { addQuotaUsage } = this.#statements;
    return this.#db.transaction(() => {
      const totals: QuotaUsage[] = [];
      for (const delta of batch) {
        const total = addQuotaUsage.get(delta);
        if (total !== undefined) totals.push(exactRow<QuotaUsage>(total));
      }
      return totals;
    }).immediate();
  }

  async getQuotaUsage(keyId: string): Promise<QuotaUsage | null> {
    const row = this.#statements.quotaUsage.get(keyId);
    return row === undefined ? null : exactRow<QuotaUsage>(row);
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #keyOrNull(id: string): KeyRecord | null {
    const row = this.#statements.keyById.get(id);
    return recordOrNull(row);
  }

  #keyParameters(key: NewKey, now: number): InsertKeyParams {
    return {
      id: key.id,
      name: key.name,
      digest: key.digest,
      displayPrefix: key.displayPrefix,
      tags: JSON.stringify(key.tags),
      scopes: JSON.stringify(key.scopes),
      allowedCidrs: JSON.stringify(key.allowedCidrs),
      certFingerprint: key.certFingerprint,
      signingKey: key.signingKey ?? null,
      apis: JSON.stringify(key.apis ?? []),
      leakAction: key.leakAction ?? null,
      rateLimit: key.rateLimit,
      quota: key.quota,
      metadata: JSON.stringify(key.metadata),
      now,
      expiresAt: key.expiresAt,
    };
  }

  /** Inserts the key, its tags and its `created` event; the caller holds the transaction. */
  #insertKey(key: NewKey, now: number): KeyRecord {
    const s = this.#statements;
    const row = s.insertKey.get(this.#keyParameters(key, now));
    if (row === undefined) throw new Error(`Key ${key.id} was not inserted`);
    for (const tag of key.tags) s.insertTag.run(key.id, tag);
    s.insertEvent.run(key.id, 'created', now);
    return recordFromRow(row);
  }

  /** Revokes one unrevoked key and logs and audits it; null when there was nothing to revoke. */
  #revoke(id: string, reason: string | null, now: number, by: AuditActor, details: string): KeyRecord | null {
    const row = this.#statements.revoke.get({ id, reason, now });
    if (row === undefined) return null;
    this.#statements.insertEvent.run(id, 'revoked', now);
    this.#audit.append({ at: now, actor: by.actor, address: by.address, action: 'key.revoked', target: id, reason, details: detailsInChangeSet(details, by) });
    return recordFromRow(row);
  }
}

/**
 * Opens (creating if needed) the SQLite key store at `path`, such as the
 * default `./data/portcullis.db`, and applies pending migrations.
 *
 * @example
 * const store = await openSqliteKeyStore('./data/portcullis.db');
 * const key = await store.getKeyByDigest(digest);
 * await store.close();
 */
export async function openSqliteKeyStore(path: string): Promise<Store> {
  const inMemory = path === '' || path === ':memory:';
  // The database holds key and admin token digests, client addresses and the audit log: a new
  // one (with its -wal and -shm files) is readable by its owner only, whatever the umask.
  if (!inMemory && !path.startsWith('file:')) preparePrivateDatabaseFile(path);
  const db = new Database(path, { timeout: 5000 });
  try {
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    // In WAL mode NORMAL loses no integrity on power loss, only the last commits.
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    return new SqliteKeyStore(db);
  } catch (error) {
    db.close();
    throw error;
  }
}
