import type Database from 'better-sqlite3';
import type { AuditActor } from '../audit-log.ts';
import type { RevokedTokenRecord, RevokedTokenStore } from '../revoked-token-store.ts';
import { storedTime } from '../stored-values.ts';
import type { SqliteAuditLog } from './sqlite-audit-log.ts';

const sql = {
  insert: `INSERT INTO revoked_tokens (token_id, key_id, expires_at, revoked_at, reason)
    VALUES (@tokenId, @keyId, @expiresAt, @now, @reason) ON CONFLICT (token_id) DO NOTHING`,
  since: `SELECT token_id AS tokenId, key_id AS keyId, expires_at AS expiresAt, revoked_at AS revokedAt, reason
    FROM revoked_tokens WHERE revoked_at >= ? AND expires_at > ? ORDER BY revoked_at, token_id`,
  purge: 'DELETE FROM revoked_tokens WHERE expires_at <= ?',
} as const;

/** The revoked-token denylist in SQLite; a revocation and its audit entry share one IMMEDIATE transaction. */
export class SqliteRevokedTokens implements RevokedTokenStore {
  readonly #db: Database.Database;
  readonly #audit: SqliteAuditLog;
  readonly #statements;

  constructor(db: Database.Database, audit: SqliteAuditLog) {
    this.#db = db;
    this.#audit = audit;
    this.#statements = {
      insert: db.prepare<Record<string, string | number | null>>(sql.insert),
      since: db.prepare<[number, number], RevokedTokenRecord>(sql.since),
      purge: db.prepare<[number]>(sql.purge),
    };
  }

  async revokeToken(tokenId: string, keyId: string, expiresAt: number, reason: string | null, at: number, by: AuditActor): Promise<boolean> {
    const now = storedTime(at, 'now');
    const until = storedTime(expiresAt, 'expiresAt');
    return this.#db.transaction(() => {
      if (this.#statements.insert.run({ tokenId, keyId, expiresAt: until, now, reason }).changes === 0) return false;
      this.#audit.append({ at: now, actor: by.actor, address: by.address, action: 'token.revoked', target: tokenId, reason, details: JSON.stringify({ keyId: keyId === '' ? null : keyId, expiresAt: until }) });
      return true;
    }).immediate();
  }

  async revokedTokensSince(fromRevokedAt: number, now: number): Promise<RevokedTokenRecord[]> {
    return this.#statements.since.all(storedTime(fromRevokedAt, 'fromRevokedAt'), storedTime(now, 'now'));
  }

  async purgeRevokedTokens(now: number): Promise<number> {
    return this.#statements.purge.run(storedTime(now, 'now')).changes;
  }
}
