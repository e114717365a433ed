import type { Store } from './store.ts';

const postgresUrl = /^postgres(?:ql)?:\/\//i;

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
export async function openKeyStore(location: string): Promise<Store> {
  if (postgresUrl.test(location)) {
    throw new Error('PostgreSQL stores (postgres://…) are not supported yet');
  }
  const { openSqliteKeyStore } = await import('./sqlite/sqlite-key-store.ts');
  return openSqliteKeyStore(location);
}
