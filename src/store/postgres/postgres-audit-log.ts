import type pg from 'pg';
import type { AuditEntry, AuditHead, AuditLog, AuditQuery, NewAuditEntry } from '../audit-log.ts';
import { chainAuditEntry } from '../audit-chain.ts';
import { auditLimit } from '../sqlite/sqlite-audit-log.ts';

const auditColumns = 'seq, at, actor, actor_address AS address, action, target, reason, details, prev_hash AS "prevHash", hash';

/** Every statement of the PostgreSQL audit log. */
const postgresAuditSql = {
  head: 'SELECT seq, hash FROM audit_head WHERE id = 1',
  // Locks the head row until the writing transaction ends: appends from every node run one
  // after the other, each chained onto the previous one's hash, so the chain never forks.
  lockHead: 'SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE',
  setHead: 'UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1',
  insert: `INSERT INTO audit_log (seq, at, actor, actor_address, action, target, reason, details, prev_hash, hash)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  insertMany: `INSERT INTO audit_log (seq, at, actor, actor_address, action, target, reason, details, prev_hash, hash)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])`,
  since: `SELECT ${auditColumns} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`,
  newest: `SELECT ${auditColumns} FROM audit_log WHERE seq < $1 ORDER BY seq DESC LIMIT $2`,
  newestForTarget: `SELECT ${auditColumns} FROM audit_log WHERE target = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`,
} as const;

const missingHead = 'audit_head is missing: the audit log has been tampered with';

/**
 * The PostgreSQL audit log. `append` runs inside the caller's transaction (the one that makes
 * the change) and locks `audit_head` with `SELECT … FOR UPDATE`, which serialises appends
 * across nodes; `seq` is head.seq + 1, so the log is gapless (no sequence to skip numbers).
 */
export class PostgresAuditLog implements AuditLog {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  /** Appends one entry; `client` holds the writing transaction. */
  async append(client: pg.PoolClient, entry: NewAuditEntry): Promise<AuditEntry> {
    const { rows } = await client.query<AuditHead>({ name: 'portcullis_audit_lockHead', text: postgresAuditSql.lockHead });
    const head = rows[0];
    if (head === undefined) throw new Error(missingHead);
    const e = chainAuditEntry(head, entry);
    await client.query({
      name: 'portcullis_audit_insert',
      text: postgresAuditSql.insert,
      values: [e.seq, e.at, e.actor, e.address, e.action, e.target, e.reason, e.details, e.prevHash, e.hash],
    });
    await client.query({ name: 'portcullis_audit_setHead', text: postgresAuditSql.setHead, values: [e.seq, e.hash] });
    return e;
  }

  /**
   * Appends many entries in order, as `append` would one by one, with one lock of the head and
   * one insert per `chunk` entries; `client` holds the writing transaction.
   */
  async appendMany(client: pg.PoolClient, entries: readonly NewAuditEntry[], chunk = 5000): Promise<void> {
    if (entries.length === 0) return;
    const { rows } = await client.query<AuditHead>({ name: 'portcullis_audit_lockHead', text: postgresAuditSql.lockHead });
    let head = rows[0];
    if (head === undefined) throw new Error(missingHead);
    for (let start = 0; start < entries.length; start += chunk) {
      const chained: AuditEntry[] = [];
      for (const entry of entries.slice(start, start + chunk)) {
        const e = chainAuditEntry(head, entry);
        chained.push(e);
        head = { seq: e.seq, hash: e.hash };
      }
      const column = <K extends keyof AuditEntry>(name: K) => chained.map((e) => e[name]);
      await client.query(postgresAuditSql.insertMany, [
        column('seq'), column('at'), column('actor'), column('address'), column('action'), column('target'),
        column('reason'), column('details'), column('prevHash'), column('hash'),
      ]);
    }
    await client.query({ name: 'portcullis_audit_setHead', text: postgresAuditSql.setHead, values: [head.seq, head.hash] });
  }

  async listAuditEntries(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const limit = auditLimit(query.limit);
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    const { rows } = query.target === undefined
      ? await this.#pool.query<AuditEntry>({ name: 'portcullis_audit_newest', text: postgresAuditSql.newest, values: [before, limit] })
      : await this.#pool.query<AuditEntry>({ name: 'portcullis_audit_newestForTarget', text: postgresAuditSql.newestForTarget, values: [query.target, before, limit] });
    return rows;
  }

  async auditEntriesSince(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const { rows } = await this.#pool.query<AuditEntry>({ name: 'portcullis_audit_since', text: postgresAuditSql.since, values: [afterSeq, auditLimit(limit)] });
    return rows;
  }

  async auditHead(): Promise<AuditHead> {
    const { rows } = await this.#pool.query<AuditHead>({ name: 'portcullis_audit_head', text: postgresAuditSql.head });
    const head = rows[0];
    if (head === undefined) throw new Error(missingHead);
    return head;
  }
}
