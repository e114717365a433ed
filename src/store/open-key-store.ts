import { existsSync, statSync } from 'node:fs';
import type { Store } from './store.ts';
import { describeStoreLocation, isPostgresLocation } from './store-location.ts';

export interface OpenKeyStoreOptions {
  /** Errors on idle networked connections (PostgreSQL), which no caller is waiting for. */
  onConnectionError?: (error: Error) => void;
  /**
   * What to do when there is no store at `location` yet: `create` it (and its folder, for
   * SQLite; its tables, for PostgreSQL), as `serve` and `keys create` do, or `refuse` with a
   * `StoreNotFoundError` and create nothing, as every command that only reads does.
   */
  ifMissing?: 'create' | 'refuse';
}

/** There is no Portcullis store where the settings point (nothing was created). */
export class StoreNotFoundError extends Error {
  override name = 'StoreNotFoundError';
  /** The location looked at, printable (a PostgreSQL URL without its password). */
  readonly location: string;

  constructor(location: string, why: string) {
    super(`no key store at ${describeStoreLocation(location)}: ${why}`);
    this.location = describeStoreLocation(location);
  }
}

/** What is at a store location, found without creating or changing anything. */
export type StorePresence = { present: true; schemaVersion: number } | { present: false; why: string };

/**
 * Whether a Portcullis store is at `location`, read-only: a SQLite file that holds the
 * migrations ledger, or a PostgreSQL schema (from the URL's `search_path`) that holds it.
 * Throws when a PostgreSQL server cannot be reached.
 */
export async function inspectKeyStore(location: string): Promise<StorePresence> {
  return isPostgresLocation(location) ? inspectPostgresStore(location) : inspectSqliteStore(location);
}

async function inspectSqliteStore(path: string): Promise<StorePresence> {
  if (path === '' || path === ':memory:') return { present: false, why: 'an in-memory database holds no store' };
  if (!existsSync(path)) return { present: false, why: 'the file does not exist' };
  if (!statSync(path).isFile() || statSync(path).size === 0) return { present: false, why: 'it is not a database file' };
  const { default: Database } = await import('better-sqlite3');
  let db;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (error) {
    return { present: false, why: `it cannot be opened as a SQLite database (${(error as Error).message})` };
  }
  try {
    const ledger = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
    if (ledger === undefined) return { present: false, why: 'the file is a SQLite database without Portcullis tables' };
    return { present: true, schemaVersion: (db.prepare('SELECT coalesce(max(version), 0) FROM schema_migrations').pluck().get() as number) ?? 0 };
  } catch (error) {
    return { present: false, why: `it cannot be read as a SQLite database (${(error as Error).message})` };
  } finally {
    db.close();
  }
}

async function inspectPostgresStore(url: string): Promise<StorePresence> {
  const { default: pg } = await import('pg');
  const { connectionOptions } = await import('./postgres/postgres-connection.ts');
  const client = new pg.Client(connectionOptions(url));
  client.on('error', () => {});
  try {
    await client.connect();
    const { rows } = await client.query<{ schema: string | null; ledger: string | null }>("SELECT current_schema() AS schema, to_regclass('schema_migrations')::text AS ledger");
    const { schema, ledger } = rows[0] ?? { schema: null, ledger: null };
    if (schema === null) return { present: false, why: 'the search_path names no existing schema' };
    if (ledger === null) return { present: false, why: `schema ${schema} holds no Portcullis tables` };
    const version = await client.query<{ version: number }>('SELECT coalesce(max(version), 0)::int AS version FROM schema_migrations');
    return { present: true, schemaVersion: version.rows[0]?.version ?? 0 };
  } catch (error) {
    throw new Error(`Cannot reach the PostgreSQL key store at ${describeStoreLocation(url)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Opens the key store that `location` names, as `--store` and the config's
 * store setting do: a `postgres://` (or `postgresql://`) URL, or else the path
 * of a SQLite database file (default `./data/portcullis.db`).
 *
 * Each implementation is imported only when chosen, so a PostgreSQL deployment
 * never loads the SQLite native addon and vice versa.
 *
 * @example
 * const store = await openKeyStore(config.store, { ifMissing: 'refuse' });
 */
export async function openKeyStore(location: string, options: OpenKeyStoreOptions = {}): Promise<Store> {
  if (options.ifMissing === 'refuse') {
    const presence = await inspectKeyStore(location);
    if (!presence.present) throw new StoreNotFoundError(location, presence.why);
  }
  if (isPostgresLocation(location)) {
    const { openPostgresKeyStore } = await import('./postgres/postgres-key-store.ts');
    return openPostgresKeyStore(location, options);
  }
  const { openSqliteKeyStore } = await import('./sqlite/sqlite-key-store.ts');
  return openSqliteKeyStore(location);
}
