import type pg from 'pg';

/**
 * Ordering the change log on PostgreSQL.
 *
 * `key_events.seq` is a BIGSERIAL: `nextval()` hands out numbers when rows are inserted, not
 * when transactions commit. Two transactions could take seq 7 and 8 and commit 8 first; a
 * follower reading `seq > 6` at that moment would see 8, move its position to 8 and never
 * read 7. SQLite cannot do this (one writer at a time); PostgreSQL can.
 *
 * The fix: every transaction that appends events first takes one transaction-level advisory
 * lock (`pg_advisory_xact_lock`), so such transactions run one after the other and commit in
 * the order they took their numbers. PostgreSQL releases the lock only after the commit is
 * visible, so when the next writer takes its first seq, every smaller seq is either
 * committed and visible or rolled back for good. A follower reading `seq > last` can
 * therefore never skip an event. Holes left by rolled-back transactions stay holes.
 *
 * Key changes are rare (operators, not requests, make them), so serialising them costs
 * nothing that matters; usage writes do not append events and do not take the lock.
 *
 * The lock key combines a fixed tag with the OID of this schema's `key_events` table, so two
 * deployments in two schemas of one database do not wait for each other.
 */
export const lockEventLogSql =
  "SELECT pg_advisory_xact_lock((x'50434c53'::bigint << 32) | 'key_events'::regclass::oid::bigint)";

/** The channel followers LISTEN on; the payload is the schema whose log changed. */
export const keyEventsChannel = 'portcullis_key_events';

/** Sent inside the writing transaction: PostgreSQL delivers it at commit, and only then. */
export const notifyKeyEventsSql = `SELECT pg_notify('${keyEventsChannel}', current_schema())`;

/**
 * Runs `work` in a transaction that may append to the change log: it takes the log's lock
 * first and notifies listeners on commit. Two round trips are folded into `work`'s own:
 * `BEGIN` with the lock, and the notification with `COMMIT`.
 */
export function inEventTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return inTransaction(pool, work, `BEGIN; ${lockEventLogSql}`, `${notifyKeyEventsSql}; COMMIT`);
}

/**
 * Runs `work` in a transaction (for writes that append no key event: admin tokens, usage).
 * A connection that failed mid-transaction is discarded rather than returned to the pool.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN', commit = 'COMMIT'): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(begin);
    try {
      const result = await work(client);
      await client.query(commit);
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch((rollbackError: unknown) => {
        broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
      });
      throw error;
    }
  } catch (error) {
    broken ??= isConnectionError(error) ? (error as Error) : undefined;
    throw error;
  } finally {
    client.release(broken);
  }
}

/** Errors that leave a connection unusable (as opposed to a refused statement). */
function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return true;
  const code = (error as { code?: unknown }).code;
  // SQLSTATE codes are five characters; anything else (ECONNRESET, a timeout) is the connection.
  return typeof code !== 'string' || code.length !== 5;
}
