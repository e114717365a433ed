import pg from 'pg';

/**
 * Connection settings for the PostgreSQL store. The URL is passed to `pg` as it is, so
 * everything `pg` reads from a connection string works (`sslmode`, `options=-c search_path=…`,
 * `application_name`), and so do the libpq environment variables (`PGPASSWORD`, …), which keep
 * a password out of the command line.
 */

/** How long to wait for a connection before a lookup fails (and the gateway answers 503). */
const connectTimeoutMs = 3000;
/** How long one statement may take before the client gives up on it. */
const queryTimeoutMs = 10_000;
const poolSize = 10;

const INT8_OID = 20;

/**
 * `pg` returns BIGINT as strings, because not every 64-bit integer fits a JavaScript number.
 * Every BIGINT Portcullis stores (millisecond times, event sequence numbers) does; a value
 * that does not is refused rather than silently rounded. Set per pool, never on the global
 * `pg.types`, so other users of `pg` in the same process are unaffected.
 */
export function parseBigint(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed)) throw new RangeError(`BIGINT ${value} does not fit a JavaScript number`);
  return parsed;
}

const typeParsers = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8_OID && format !== 'binary') return parseBigint;
    // pg's own typings only describe the text and binary overloads separately.
    return (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format);
  },
};

/** The options every connection of the store uses: the URL, the BIGINT parser and timeouts. */
export function connectionOptions(url: string): pg.ClientConfig {
  return {
    connectionString: url,
    types: typeParsers as pg.CustomTypesConfig,
    connectionTimeoutMillis: connectTimeoutMs,
    query_timeout: queryTimeoutMs,
    keepAlive: true,
    fallback_application_name: 'portcullis',
  };
}

/**
 * A pool for the store. An idle connection that the server drops (a restart, a failover)
 * makes the pool emit `error`; without a listener that would end the process, so the error
 * is handed to `onIdleError` instead and the pool replaces the connection on next use.
 */
export function createPool(url: string, onIdleError: (error: Error) => void): pg.Pool {
  const pool = new pg.Pool({ ...connectionOptions(url), max: poolSize, idleTimeoutMillis: 30_000 });
  pool.on('error', onIdleError);
  return pool;
}

/**
 * The schema the connection's `search_path` resolves to, or an error that says how to fix
 * it: with no existing schema on the path, PostgreSQL refuses to create tables with a
 * message that does not mention the connection string.
 */
export async function currentSchemaOf(client: pg.ClientBase | pg.Pool): Promise<string> {
  const { rows } = await client.query<{ schema: string | null }>('SELECT current_schema() AS schema');
  const schema = rows[0]?.schema ?? null;
  if (schema === null) {
    const { rows: path } = await client.query<{ search_path: string }>('SHOW search_path');
    throw new Error(
      `PostgreSQL store: the search_path (${path[0]?.search_path ?? '?'}) names no existing schema. ` +
        'Create the schema first (CREATE SCHEMA …), or fix options=-c search_path=… in the store URL.',
    );
  }
  return schema;
}
