/**
 * Telling an outage from a refusal. A batch writer (usage, quota counts) keeps a batch that
 * failed because the store could not be reached, and writes it again later; a batch the store
 * *refused* (a value it cannot hold, a broken constraint) would be refused again, so retrying
 * it forever, or merging it into the next batch, would only take good data down with it.
 */

/**
 * SQLSTATE classes that say the server or the connection failed, not the statement: 08
 * connection exception, 25 invalid transaction state (25006: a read-only server, as a standby is
 * during a failover), 40 transaction rollback (deadlock, serialization), 53 insufficient
 * resources, 55 object not in prerequisite state (lock not available), 57 operator
 * intervention (shutdown, statement timeout), 58 system error.
 */
const transientSqlStateClasses = new Set(['08', '25', '40', '53', '55', '57', '58']);

/** SQLite result codes of a statement the database refused for what it held. */
const refusingSqliteCodes = /^SQLITE_(?:CONSTRAINT|MISMATCH|TOOBIG|RANGE|ERROR)/;

/**
 * Whether the store answered and refused this write, so the same write cannot succeed later.
 * Anything it cannot place (a socket error, a timeout, a busy or closed database, an error
 * without a code) counts as the store being unreachable: retried, never dropped.
 *
 * @example
 * if (storeRefusedWrite(error)) dropAfterSomeAttempts(batch); else keepForNextFlush(batch);
 */
export function storeRefusedWrite(error: unknown): boolean {
  // The stores' own checks of a value (stored-values.ts, counts) are RangeErrors.
  if (error instanceof RangeError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  if (code.startsWith('SQLITE_')) return refusingSqliteCodes.test(code);
  // A PostgreSQL error (pg's DatabaseError: a SQLSTATE and a severity); anything else
  // (ECONNRESET, EPIPE, ETIMEDOUT) is the connection.
  if (/^[0-9A-Z]{5}$/.test(code) && typeof (error as { severity?: unknown }).severity === 'string') return !transientSqlStateClasses.has(code.slice(0, 2));
  return false;
}

/** Times a batch writer lets the store refuse one batch before dropping it (and saying so). */
export const REFUSALS_BEFORE_DROP = 3;
