import type pg from 'pg';
import type { AuditActor } from '../audit-log.ts';
import type { RevokedTokenRecord, RevokedTokenStore } from '../revoked-token-store.ts';
import { storedTime } from '../stored-values.ts';
import type { PostgresAuditLog } from './postgres-audit-log.ts';
import { inTransaction } from './postgres-event-log.ts';

const sql = {
  insert: `INSERT INTO revoked_tokens (token_id, key_id, expires_at, revoked_at, reason)
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (token_id) DO NOTHING`,
  since: `SELECT token_id AS "tokenId", key_id AS "keyId", expires_at AS "expiresAt", revoked_at AS "revokedAt", reason
    FROM revoked_tokens WHERE revoked_at >= $1 AND expires_at > $2 ORDER BY revoked_at, token_id`,
  purge: 'DELETE FROM revoked_tokens WHERE expires_at <= $1',
} as const;

/** BIGINT columns come back as text from `pg`; times fit in a double. */
function recordOf(row: Record<string, unknown>): RevokedTokenRecord {
  return { tokenId: row.tokenId as string, keyId: row.keyId as string, expiresAt: Number(row.expiresAt), revokedAt: Number(row.revokedAt), reason: row.reason as string | null };
}

/** The revoked-token denylist in PostgreSQL; a revocation and its audit entry share one transaction. */
export class PostgresRevokedTokens implements RevokedTokenStore {
  readonly #pool: pg.Pool;
  readonly #audit: PostgresAuditLog;

  constructor(pool: pg.Pool, audit: PostgresAuditLog) {
    this.#pool = pool;
    this.#audit = audit;
  }

  async revokeToken(tokenId: string, keyId: string, expiresAt: number, reason: string | null, at: number, by: AuditActor): Promise<boolean> {
    const now = storedTime(at, 'now');
    const until = storedTime(expiresAt, 'expiresAt');
    return inTransaction(this.#pool, async (client) => {
      const inserted = await client.query(sql.insert, [tokenId, keyId, until, now, reason]);
      if ((inserted.rowCount ?? 0) === 0) return false;
      await this.#audit.append(client, { at: now, actor: by.actor, address: by.address, action: 'token.revoked', target: tokenId, reason, details: JSON.stringify({ keyId: keyId === '' ? null : keyId, expiresAt: until }) });
      return true;
    });
  }

  async revokedTokensSince(fromRevokedAt: number, now: number): Promise<RevokedTokenRecord[]> {
    const values = [storedTime(fromRevokedAt, 'fromRevokedAt'), storedTime(now, 'now')];
    const { rows } = await this.#pool.query<Record<string, unknown>>({ name: 'portcullis_revoked_tokens_since', text: sql.since, values });
    return rows.map(recordOf);
  }

  async purgeRevokedTokens(now: number): Promise<number> {
    const result = await this.#pool.query(sql.purge, [storedTime(now, 'now')]);
    return result.rowCount ?? 0;
  }
}
