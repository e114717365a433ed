import { afterEach, beforeEach } from 'node:test';
import { join } from 'node:path';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import type { KeyStore } from '../../src/store/key-store.ts';
import { temporaryDirectory } from './processes.ts';

export type MakeFreshStore<S> = () => Promise<{ store: S; cleanup: () => Promise<void> }>;

/**
 * Gives every test of the calling suite a new, migrated store (handed to `use`) and cleans it
 * up afterwards, for the shared store suites.
 *
 * @example
 * let store: Store;
 * freshStorePerTest(makeStore, (fresh) => (store = fresh));
 */
export function freshStorePerTest<S extends { migrate(): Promise<void> }>(make: MakeFreshStore<S>, use: (store: S) => void): void {
  let cleanup: () => Promise<void> = async () => {};
  beforeEach(async () => {
    const made = await make();
    cleanup = made.cleanup;
    // Whether opening migrates is the implementation's choice; migrate() is idempotent either way.
    await made.store.migrate();
    use(made.store);
  });
  afterEach(() => cleanup());
}

/** A SQLite key store in a temporary directory, for `freshStorePerTest`. */
export async function temporarySqliteStore(): Promise<{ store: KeyStore; cleanup: () => Promise<void> }> {
  const directory = temporaryDirectory();
  const store = await openKeyStore(join(directory.path, 'k.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      directory.remove();
    },
  };
}
