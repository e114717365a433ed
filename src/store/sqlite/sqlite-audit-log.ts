import type Database from 'better-sqlite3';
import type { AuditEntry, AuditHead, AuditLog, AuditQuery, NewAuditEntry } from '../audit-log.ts';
import { chainAuditEntry } from '../audit-chain.ts';

const defaultAuditLimit = 100;
const maxAuditLimit = 1000;

const auditColumns = `seq, at, actor, actor_address AS address, action, target, reason, details, prev_hash AS prevHash, hash`;

/** Every statement of the audit log, compiled once. Exported for the query-plan test. */
export const sqliteAuditSql = {
  head: 'SELECT seq, hash FROM audit_head WHERE id = 1',
  setHead: 'UPDATE audit_head SET seq = @seq, hash = @hash WHERE id = 1',
  insert: `INSERT INTO audit_log (seq, at, actor, actor_address, action, target, reason, details, prev_hash, hash)
    VALUES (@seq, @at, @actor, @address, @action, @target, @reason, @details, @prevHash, @hash)`,
  since: `SELECT ${auditColumns} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`,
  newest: `SELECT ${auditColumns} FROM audit_log WHERE seq < ? ORDER BY seq DESC LIMIT ?`,
  newestForTarget: `SELECT ${auditColumns} FROM audit_log WHERE target = ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
} as const;

export function auditLimit(limit: number | undefined): number {
  if (limit === undefined) return defaultAuditLimit;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return Math.min(limit, maxAuditLimit);
}

/**
 * The SQLite audit log. `append` runs inside the caller's IMMEDIATE transaction (the one that
 * makes the change), which also serialises appends across processes, so the chain never forks.
 */
export class SqliteAuditLog implements AuditLog {
  readonly #statements;

  constructor(db: Database.Database) {
    const sql = sqliteAuditSql;
    this.#statements = {
      head: db.prepare<[], AuditHead>(sql.head),
      setHead: db.prepare<AuditHead>(sql.setHead),
      insert: db.prepare<AuditEntry>(sql.insert),
      since: db.prepare<[number, number], AuditEntry>(sql.since),
      newest: db.prepare<[number, number], AuditEntry>(sql.newest),
      newestForTarget: db.prepare<[string, number, number], AuditEntry>(sql.newestForTarget),
    };
  }

  /** Appends one entry; the caller holds the write transaction. */
  append(entry: NewAuditEntry): AuditEntry {
    const head = this.#statements.head.get();
    if (head === undefined) throw new Error('audit_head is missing: the audit log has been tampered with');
    const chained = chainAuditEntry(head, entry);
    this.#statements.insert.run(chained);
    this.#statements.setHead.run({ seq: chained.seq, hash: chained.hash });
    return chained;
  }

  /** Appends many entries in order, reading and writing the head once; the caller holds the write transaction. */
  appendMany(entries: readonly NewAuditEntry[]): void {
    let head = this.#statements.head.get();
    if (head === undefined) throw new Error('audit_head is missing: the audit log has been tampered with');
    for (const entry of entries) {
      const chained = chainAuditEntry(head, entry);
      this.#statements.insert.run(chained);
      head = { seq: chained.seq, hash: chained.hash };
    }
    this.#statements.setHead.run(head);
  }

  async listAuditEntries(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = auditLimit(query.limit);
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    return query.target === undefined
      ? this.#statements.newest.all(before, limit)
      : this.#statements.newestForTarget.all(query.target, before, limit);
  }

  async auditEntriesSince(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.#statements.since.all(afterSeq, auditLimit(limit));
  }

  async auditHead(): Promise<AuditHead> {
    const head = this.#statements.head.get();
    if (head === undefined) throw new Error('audit_head is missing: the audit log has been tampered with');
    return head;
  }
}
