import type pg from 'pg';
import type { AdminTokenRecord, AdminTokenStore, NewAdminToken } from '../admin-token-store.ts';
import type { AuditActor } from '../audit-log.ts';
import { storedAdminToken, storedTime } from '../stored-values.ts';
import type { PostgresAuditLog } from './postgres-audit-log.ts';
import { inTransaction } from './postgres-event-log.ts';

const columns = 'id, name, role, digest, display_prefix AS "displayPrefix", created_at AS "createdAt", revoked_at AS "revokedAt"';

const postgresAdminTokenSql = {
  insert: `INSERT INTO admin_tokens (id, name, role, digest, display_prefix, created_at)
    VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${columns}`,
  byDigest: `SELECT ${columns} FROM admin_tokens WHERE digest = $1`,
  byId: `SELECT ${columns} FROM admin_tokens WHERE id = $1`,
  list: `SELECT ${columns} FROM admin_tokens ORDER BY created_at, id`,
  revoke: `UPDATE admin_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING ${columns}`,
} as const;

async function one(db: pg.Pool | pg.PoolClient, name: keyof typeof postgresAdminTokenSql, values: unknown[]): Promise<AdminTokenRecord | null> {
  const { rows } = await db.query<AdminTokenRecord>({ name: `portcullis_admin_${name}`, text: postgresAdminTokenSql[name], values });
  return rows[0] ?? null;
}

/** Admin tokens in PostgreSQL; each change and its audit entry share one transaction. */
export class PostgresAdminTokens implements AdminTokenStore {
  readonly #pool: pg.Pool;
  readonly #audit: PostgresAuditLog;

  constructor(pool: pg.Pool, audit: PostgresAuditLog) {
    this.#pool = pool;
    this.#audit = audit;
  }

  async createAdminToken(given: NewAdminToken, at: number, by: AuditActor): Promise<AdminTokenRecord> {
    const [token, now] = [storedAdminToken(given), storedTime(at, 'now')];
    return inTransaction(this.#pool, async (client) => {
      const record = await one(client, 'insert', [token.id, token.name, token.role, token.digest, token.displayPrefix, now]);
      if (record === null) throw new Error(`Admin token ${token.id} was not inserted`);
      await this.#audit.append(client, {
        at: now, actor: by.actor, address: by.address, action: 'admin_token.created', target: token.id, reason: null,
        details: JSON.stringify({ name: token.name, role: token.role, displayPrefix: token.displayPrefix }),
      });
      return record;
    });
  }

  async getAdminTokenByDigest(digest: string): Promise<AdminTokenRecord | null> {
    return one(this.#pool, 'byDigest', [digest]);
  }

  async getAdminTokenById(id: string): Promise<AdminTokenRecord | null> {
    return one(this.#pool, 'byId', [id]);
  }

  async listAdminTokens(): Promise<AdminTokenRecord[]> {
    const { rows } = await this.#pool.query<AdminTokenRecord>({ name: 'portcullis_admin_list', text: postgresAdminTokenSql.list });
    return rows;
  }

  async revokeAdminToken(id: string, at: number, by: AuditActor): Promise<AdminTokenRecord | null> {
    const now = storedTime(at, 'now');
    return inTransaction(this.#pool, async (client) => {
      const revoked = await one(client, 'revoke', [id, now]);
      if (revoked === null) return one(client, 'byId', [id]);
      await this.#audit.append(client, { at: now, actor: by.actor, address: by.address, action: 'admin_token.revoked', target: id, reason: null, details: JSON.stringify({ name: revoked.name, role: revoked.role }) });
      return revoked;
    });
  }
}
