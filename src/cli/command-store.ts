import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { openKeyStore, StoreNotFoundError } from '../store/open-key-store.ts';
import { describeStoreLocation, isPostgresLocation } from '../store/store-location.ts';
import type { Store } from '../store/store.ts';
import { loadConfig, type Config } from '../app/config.ts';
import { note, type StoreFlags } from './cli-support.ts';

/** Commands find the store exactly as `serve` does: --config, --store, env, or the default path. */
export function loadCommandConfig(flags: StoreFlags): Config {
  return loadConfig({ configFile: flags.config, flags: [{ field: 'store', value: flags.store, flag: '--store' }] });
}

/** Where the store setting came from, for a person: `--store`, `PORTCULLIS_STORE`, the config file, or the default. */
export function storeSource(flags: StoreFlags, config: Config): string {
  if (flags.store !== undefined) return '--store';
  if (process.env.PORTCULLIS_STORE !== undefined) return 'PORTCULLIS_STORE';
  if (config.configFile !== null && /^store\s*:/m.test(readFileSync(config.configFile, 'utf8'))) return `store in ${config.configFile}`;
  return `the default ./data/portcullis.db, in ${process.cwd()}`;
}

/** The store as a command prints it: an absolute path, or a URL without its password. */
function printableStore(config: Config): string {
  return describeStoreLocation(config.store);
}

/** What a missing store means, and how to point at the right one. */
function missingStoreMessage(error: StoreNotFoundError, flags: StoreFlags, config: Config, lookingFor: string | undefined): string {
  const shown = isPostgresLocation(config.store) ? error.location : config.store;
  const lines = [
    `${lookingFor === undefined ? '' : `${lookingFor}: `}${error.message} (from ${storeSource(flags, config)}).`,
    '  Run the command in the gateway\'s folder, or point at its store with --store PATH|URL, --config FILE or PORTCULLIS_STORE.',
    `  Nothing was created. To make a new, empty store there: portcullis store init${flags.store === undefined ? '' : ` --store ${shown}`}`,
  ];
  return lines.join('\n');
}

/** A store that is not there: exit 1, with the path looked at and how to point at the right one. */
export class MissingStoreError extends Error {
  override name = 'MissingStoreError';
}

export interface StoreUse {
  /** Whether a missing store is created (only `keys create`, `store init`, `serve` and `store migrate` create one). */
  create?: boolean;
  /** What the command was after, for the message when there is no store (`No key with id "key_…"`). */
  lookingFor?: string;
  /** The command's --json output names the store itself (a `store` field): no line on stderr then. */
  jsonNamesStore?: boolean;
}

export interface OpenedStore {
  store: Store;
  config: Config;
  /** The store, printable: an absolute path, or a URL without its password. */
  location: string;
}

/**
 * Opens the store as `serve` would, runs `work`, and closes it whatever happens. A store that
 * is not there is never created (unless `use.create`): the command fails with exit 1, naming
 * the path it looked at. Says on stderr which store it used (unless the JSON output does), last.
 */
export async function withStore<T>(flags: StoreFlags & { json?: boolean }, work: (store: Store, keyPrefix: string, config: Config, opened: OpenedStore) => Promise<T>, use: StoreUse = {}): Promise<T> {
  const config = loadCommandConfig(flags);
  let store: Store;
  try {
    store = await openKeyStore(config.store, { ifMissing: use.create === true ? 'create' : 'refuse' });
  } catch (error) {
    if (error instanceof StoreNotFoundError) throw new MissingStoreError(missingStoreMessage(error, flags, config, use.lookingFor));
    throw error;
  }
  try {
    await store.migrate();
    return await work(store, config.keys.prefix, config, { store, config, location: printableStore(config) });
  } finally {
    await store.close();
    // Last, so that what the command printed comes first, and said whatever happened.
    if (!(flags.json === true && use.jsonNamesStore === true)) note(`key store ${printableStore(config)} (from ${storeSource(flags, config)})`);
  }
}

/** The options every store-using command takes. */
export function storeOptions(command: Command): Command {
  return command.option('--config <file>', 'config file (default ./portcullis.yaml when present)').option('--store <path>', 'key store (default ./data/portcullis.db)');
}
