import type { Command } from 'commander';
import { openKeyStore } from '../store/open-key-store.ts';
import type { Store } from '../store/store.ts';
import { loadConfig, type Config } from '../app/config.ts';
import type { StoreFlags } from './cli-support.ts';

/** Commands find the store exactly as `serve` does: --config, --store, env, or the default path. */
function loadCommandConfig(flags: StoreFlags): Config {
  return loadConfig({ configFile: flags.config, flags: [{ field: 'store', value: flags.store, flag: '--store' }] });
}

/** Opens the store as `serve` would, runs `work`, and closes it whatever happens. */
export async function withStore<T>(flags: StoreFlags, work: (store: Store, keyPrefix: string, config: Config) => Promise<T>): Promise<T> {
  const config = loadCommandConfig(flags);
  const store = await openKeyStore(config.store);
  try {
    await store.migrate();
    return await work(store, config.keys.prefix, config);
  } finally {
    await store.close();
  }
}

/** The options every store-using command takes. */
export function storeOptions(command: Command): Command {
  return command.option('--config <file>', 'config file (default ./portcullis.yaml when present)').option('--store <path>', 'key store (default ./data/portcullis.db)');
}
