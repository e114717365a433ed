import { resolve } from 'node:path';
import { Command } from 'commander';
import { describeStoreLocation, isPostgresLocation } from '../store/store-location.ts';
import { printJson, UsageError } from './cli-support.ts';
import { addBackupCommands } from './store-backup-command.ts';

interface MigrateFlags {
  from: string;
  to: string;
  json?: boolean;
}

export function storeCommand(): Command {
  const store = new Command('store');

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
        printJson({ from, to: describeStoreLocation(flags.to), tables });
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
  return store;
}
