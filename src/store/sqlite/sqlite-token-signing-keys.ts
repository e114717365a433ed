import type Database from 'better-sqlite3';
import type { AuditActor } from '../audit-log.ts';
import { storedTime } from '../stored-values.ts';
import type { NewTokenSigningKey, TokenSigningKeyRecord, TokenSigningKeyStore } from '../token-signing-key-store.ts';
import type { SqliteAuditLog } from './sqlite-audit-log.ts';

interface Row {
  kid: string;
  algorithm: 'ES256';
  publicJwk: string;
  privateJwk: string;
  createdAt: number;
  retiredAt: number | null;
  verifiesUntil: number | null;
}

const columns = 'kid, algorithm, public_jwk AS publicJwk, private_jwk AS privateJwk, created_at AS createdAt, retired_at AS retiredAt, verifies_until AS verifiesUntil';

const sql = {
  list: `SELECT ${columns} FROM token_signing_keys WHERE signing IS NOT NULL OR verifies_until > ? ORDER BY created_at DESC, kid`,
  insert: `INSERT INTO token_signing_keys (kid, algorithm, public_jwk, private_jwk, signing, created_at)
    VALUES (@kid, @algorithm, @publicJwk, @privateJwk, 1, @now) ON CONFLICT (signing) DO NOTHING`,
  retire: `UPDATE token_signing_keys SET signing = NULL, retired_at = @now, verifies_until = @until WHERE signing IS NOT NULL RETURNING kid`,
} as const;

function recordOf(row: Row): TokenSigningKeyRecord {
  return { ...row, publicJwk: JSON.parse(row.publicJwk) as Record<string, string>, privateJwk: JSON.parse(row.privateJwk) as Record<string, string> };
}

/** Token signing keys in SQLite; each change and its audit entry share one IMMEDIATE transaction. */
export class SqliteTokenSigningKeys implements TokenSigningKeyStore {
  readonly #db: Database.Database;
  readonly #audit: SqliteAuditLog;
  readonly #statements;

  constructor(db: Database.Database, audit: SqliteAuditLog) {
    this.#db = db;
    this.#audit = audit;
    this.#statements = {
      list: db.prepare<[number], Row>(sql.list),
      insert: db.prepare<Record<string, string | number>>(sql.insert),
      retire: db.prepare<{ now: number; until: number }, { kid: string }>(sql.retire),
    };
  }

  async listTokenSigningKeys(now: number): Promise<TokenSigningKeyRecord[]> {
    return this.#statements.list.all(storedTime(now, 'now')).map(recordOf);
  }

  async createTokenSigningKey(key: NewTokenSigningKey, at: number, by: AuditActor): Promise<boolean> {
    const now = storedTime(at, 'now');
    return this.#db.transaction(() => {
      if (this.#insert(key, now) === 0) return false;
      this.#audit.append({ at: now, actor: by.actor, address: by.address, action: 'token_signing_key.created', target: key.kid, reason: null, details: JSON.stringify({ algorithm: key.algorithm }) });
      return true;
    }).immediate();
  }

  async rotateTokenSigningKey(key: NewTokenSigningKey, overlapMs: number, at: number, by: AuditActor): Promise<string | null> {
    const now = storedTime(at, 'now');
    const until = storedTime(at + overlapMs, 'verifiesUntil');
    return this.#db.transaction(() => {
      const retired = this.#statements.retire.get({ now, until })?.kid ?? null;
      if (this.#insert(key, now) === 0) throw new Error(`Token signing key ${key.kid} was not inserted`);
      this.#audit.append({ at: now, actor: by.actor, address: by.address, action: 'token_signing_key.rotated', target: key.kid, reason: null, details: JSON.stringify({ algorithm: key.algorithm, retired, verifiesUntil: until }) });
      return retired;
    }).immediate();
  }

  #insert(key: NewTokenSigningKey, now: number): number {
    return this.#statements.insert.run({ kid: key.kid, algorithm: key.algorithm, publicJwk: JSON.stringify(key.publicJwk), privateJwk: JSON.stringify(key.privateJwk), now }).changes;
  }
}
