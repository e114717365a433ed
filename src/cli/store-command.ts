import { resolve } from 'node:path';
import { Command } from 'commander';
import { latestSchemaVersion } from '../store/migrations/index.ts';
import { inspectKeyStore, openKeyStore } from '../store/open-key-store.ts';
import { describeStoreLocation, isPostgresLocation } from '../store/store-location.ts';
import { printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { loadCommandConfig, storeOptions, storeSource } from './command-store.ts';
import { addBackupCommands } from './store-backup-command.ts';
import { addTokenKeyCommand } from './token-key-command.ts';

interface MigrateFlags {
  from: string;
  to: string;
  json?: boolean;
}

/**
 * `store init`: creates the store the settings name (a SQLite file and its folder, or the
 * tables in a PostgreSQL schema), the one explicit way besides `serve`, `keys create` and
 * `store migrate`. An existing store is left as it is (and migrated to this version's schema).
 */
function addInitCommand(store: Command): void {
  storeOptions(store.command('init').description('create a new, empty key store where the settings point (the others never create one)'))
    .option('--json', 'print the store and what was done as one JSON object')
    .action(async (flags: StoreFlags & { json?: boolean }) => {
      const config = loadCommandConfig(flags);
      const where = describeStoreLocation(config.store);
      const before = await inspectKeyStore(config.store);
      const opened = await openKeyStore(config.store, { ifMissing: 'create' });
      await opened.close();
      const created = !before.present;
      if (flags.json) printJsonObject({ store: where, created, storeSchemaVersion: latestSchemaVersion });
      else if (created) process.stdout.write(`Created a new, empty key store at ${where} (from ${storeSource(flags, config)}), schema version ${latestSchemaVersion}.\n`);
      else process.stdout.write(`A key store is already at ${where} (from ${storeSource(flags, config)}); nothing was created. Schema version ${latestSchemaVersion}.\n`);
    });
}

export function storeCommand(): Command {
  const store = new Command('store');
  addInitCommand(store);

  store
    .command('migrate')
    .description('copy a SQLite key store into PostgreSQL (keys as digests, tags, change log); safe to run again')
    .requiredOption('--from <path>', 'the SQLite key store, such as ./data/portcullis.db')
    .requiredOption('--to <url>', 'the PostgreSQL store, postgres://…')
    .option('--json', 'print what was copied as JSON')
    .action(async (flags: MigrateFlags) => {
      if (isPostgresLocation(flags.from)) throw new UsageError('--from: expected the path of a SQLite key store, found a postgres:// URL');
      if (!isPostgresLocation(flags.to)) throw new UsageError(`--to: expected a postgres:// or postgresql:// URL, found ${JSON.stringify(flags.to.slice(0, 60))}`);
      const from = resolve(flags.from);
      // Loaded here so that other commands never load both database drivers.
      const { copySqliteStoreToPostgres } = await import('../store/copy/copy-sqlite-to-postgres.ts');
      const tables = await copySqliteStoreToPostgres(from, flags.to);
      if (flags.json) {
        printJsonObject({ from, to: describeStoreLocation(flags.to), tables });
        return;
      }
      const width = Math.max(...tables.map((table) => table.table.length));
      process.stdout.write(
        `Copied ${from} to ${describeStoreLocation(flags.to)}:\n` +
          tables.map((table) => `  ${table.table.padEnd(width)}  ${table.rows} rows: ${table.added} added, ${table.updated} updated`).join('\n') +
          '\nRunning it again copies only what changed in SQLite since. Then point every gateway at the PostgreSQL store (--store).\n',
      );
    });

  addBackupCommands(store);
  addTokenKeyCommand(store);
  return store;
}
