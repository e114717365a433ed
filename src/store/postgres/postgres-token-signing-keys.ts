import type pg from 'pg';
import type { AuditActor } from '../audit-log.ts';
import { storedTime } from '../stored-values.ts';
import type { NewTokenSigningKey, TokenSigningKeyRecord, TokenSigningKeyStore } from '../token-signing-key-store.ts';
import type { PostgresAuditLog } from './postgres-audit-log.ts';
import { inTransaction } from './postgres-event-log.ts';

const columns = 'kid, algorithm, public_jwk AS "publicJwk", private_jwk AS "privateJwk", created_at AS "createdAt", retired_at AS "retiredAt", verifies_until AS "verifiesUntil"';

const sql = {
  list: `SELECT ${columns} FROM token_signing_keys WHERE signing IS NOT NULL OR verifies_until > $1 ORDER BY created_at DESC, kid`,
  insert: `INSERT INTO token_signing_keys (kid, algorithm, public_jwk, private_jwk, signing, created_at)
    VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (signing) DO NOTHING`,
  retire: 'UPDATE token_signing_keys SET signing = NULL, retired_at = $1, verifies_until = $2 WHERE signing IS NOT NULL RETURNING kid',
} as const;

/** BIGINT columns come back as text from `pg`; times fit in a double. */
function recordOf(row: Record<string, unknown>): TokenSigningKeyRecord {
  const time = (value: unknown): number | null => (value === null ? null : Number(value));
  return {
    kid: row.kid as string,
    algorithm: row.algorithm as 'ES256',
    publicJwk: row.publicJwk as Record<string, string>,
    privateJwk: row.privateJwk as Record<string, string>,
    createdAt: Number(row.createdAt),
    retiredAt: time(row.retiredAt),
    verifiesUntil: time(row.verifiesUntil),
  };
}

async function insert(client: pg.PoolClient, key: NewTokenSigningKey, now: number): Promise<number> {
  const result = await client.query(sql.insert, [key.kid, key.algorithm, JSON.stringify(key.publicJwk), JSON.stringify(key.privateJwk), now]);
  return result.rowCount ?? 0;
}

/** Token signing keys in PostgreSQL; each change and its audit entry share one transaction. */
export class PostgresTokenSigningKeys implements TokenSigningKeyStore {
  readonly #pool: pg.Pool;
  readonly #audit: PostgresAuditLog;

  constructor(pool: pg.Pool, audit: PostgresAuditLog) {
    this.#pool = pool;
    this.#audit = audit;
  }

  async listTokenSigningKeys(now: number): Promise<TokenSigningKeyRecord[]> {
    const { rows } = await this.#pool.query<Record<string, unknown>>({ name: 'portcullis_token_keys_list', text: sql.list, values: [storedTime(now, 'now')] });
    return rows.map(recordOf);
  }

  async createTokenSigningKey(key: NewTokenSigningKey, at: number, by: AuditActor): Promise<boolean> {
    const now = storedTime(at, 'now');
    return inTransaction(this.#pool, async (client) => {
      if ((await insert(client, key, now)) === 0) return false;
      await this.#audit.append(client, { at: now, actor: by.actor, address: by.address, action: 'token_signing_key.created', target: key.kid, reason: null, details: JSON.stringify({ algorithm: key.algorithm }) });
      return true;
    });
  }

  async rotateTokenSigningKey(key: NewTokenSigningKey, overlapMs: number, at: number, by: AuditActor): Promise<string | null> {
    const now = storedTime(at, 'now');
    const until = storedTime(at + overlapMs, 'verifiesUntil');
    return inTransaction(this.#pool, async (client) => {
      const { rows } = await client.query<{ kid: string }>(sql.retire, [now, until]);
      const retired = rows[0]?.kid ?? null;
      if ((await insert(client, key, now)) === 0) throw new Error(`Token signing key ${key.kid} was not inserted`);
      await this.#audit.append(client, { at: now, actor: by.actor, address: by.address, action: 'token_signing_key.rotated', target: key.kid, reason: null, details: JSON.stringify({ algorithm: key.algorithm, retired, verifiesUntil: until }) });
      return retired;
    });
  }
}
