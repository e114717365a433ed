import type Database from 'better-sqlite3';
import type { AdminTokenRecord, AdminTokenStore, NewAdminToken } from '../admin-token-store.ts';
import type { AuditActor } from '../audit-log.ts';
import { storedAdminToken, storedTime } from '../stored-values.ts';
import type { SqliteAuditLog } from './sqlite-audit-log.ts';

const columns = 'id, name, role, digest, display_prefix AS displayPrefix, created_at AS createdAt, revoked_at AS revokedAt';

const sqliteAdminTokenSql = {
  insert: `INSERT INTO admin_tokens (id, name, role, digest, display_prefix, created_at)
    VALUES (@id, @name, @role, @digest, @displayPrefix, @now) RETURNING ${columns}`,
  byDigest: `SELECT ${columns} FROM admin_tokens WHERE digest = ?`,
  byId: `SELECT ${columns} FROM admin_tokens WHERE id = ?`,
  list: `SELECT ${columns} FROM admin_tokens ORDER BY created_at, id`,
  revoke: `UPDATE admin_tokens SET revoked_at = @now WHERE id = @id AND revoked_at IS NULL RETURNING ${columns}`,
} as const;

/** Admin tokens in SQLite; each change and its audit entry share one IMMEDIATE transaction. */
export class SqliteAdminTokens implements AdminTokenStore {
  readonly #db: Database.Database;
  readonly #audit: SqliteAuditLog;
  readonly #statements;

  constructor(db: Database.Database, audit: SqliteAuditLog) {
    this.#db = db;
    this.#audit = audit;
    const sql = sqliteAdminTokenSql;
    this.#statements = {
      insert: db.prepare<NewAdminToken & { now: number }, AdminTokenRecord>(sql.insert),
      byDigest: db.prepare<[string], AdminTokenRecord>(sql.byDigest),
      byId: db.prepare<[string], AdminTokenRecord>(sql.byId),
      list: db.prepare<[], AdminTokenRecord>(sql.list),
      revoke: db.prepare<{ id: string; now: number }, AdminTokenRecord>(sql.revoke),
    };
  }

  async createAdminToken(given: NewAdminToken, at: number, by: AuditActor): Promise<AdminTokenRecord> {
    const [token, now] = [storedAdminToken(given), storedTime(at, 'now')];
    return this.#db.transaction(() => {
      const record = this.#statements.insert.get({ ...token, now });
      if (record === undefined) throw new Error(`Admin token ${token.id} was not inserted`);
      this.#audit.append({
        at: now, actor: by.actor, address: by.address, action: 'admin_token.created', target: token.id, reason: null,
        details: JSON.stringify({ name: token.name, role: token.role, displayPrefix: token.displayPrefix }),
      });
      return record;
    }).immediate();
  }

  async getAdminTokenByDigest(digest: string): Promise<AdminTokenRecord | null> {
    return this.#statements.byDigest.get(digest) ?? null;
  }

  async getAdminTokenById(id: string): Promise<AdminTokenRecord | null> {
    return this.#statements.byId.get(id) ?? null;
  }

  async listAdminTokens(): Promise<AdminTokenRecord[]> {
    return this.#statements.list.all();
  }

  async revokeAdminToken(id: string, at: number, by: AuditActor): Promise<AdminTokenRecord | null> {
    const now = storedTime(at, 'now');
    return this.#db.transaction(() => {
      const revoked = this.#statements.revoke.get({ id, now });
      if (revoked === undefined) return this.#statements.byId.get(id) ?? null;
      this.#audit.append({ at: now, actor: by.actor, address: by.address, action: 'admin_token.revoked', target: id, reason: null, details: JSON.stringify({ name: revoked.name, role: revoked.role }) });
      return revoked;
    }).immediate();
  }
}
