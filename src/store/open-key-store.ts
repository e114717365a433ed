import type { Store } from './store.ts';
import { isPostgresLocation } from './store-location.ts';

export interface OpenKeyStoreOptions {
  /** Errors on idle networked connections (PostgreSQL), which no caller is waiting for. */
  onConnectionError?: (error: Error) => void;
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
 * const store = await openKeyStore(config.store ?? './data/portcullis.db');
 */
export async function openKeyStore(location: string, options: OpenKeyStoreOptions = {}): Promise<Store> {
  if (isPostgresLocation(location)) {
    const { openPostgresKeyStore } = await import('./postgres/postgres-key-store.ts');
    return openPostgresKeyStore(location, options);
  }
  const { openSqliteKeyStore } = await import('./sqlite/sqlite-key-store.ts');
  return openSqliteKeyStore(location);
}
