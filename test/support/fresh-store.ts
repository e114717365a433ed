import { afterEach, beforeEach } from 'node:test';

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
