import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../app/config.ts';
import type { ReactivatedKey, RestoreReport } from '../store/restore-report.ts';
import type { RestoreOutcome, StoreSummary } from '../store/sqlite/sqlite-backup.ts';
import { isPostgresLocation } from '../store/store-location.ts';
import { inspectKeyStore } from '../store/open-key-store.ts';
import { MissingStoreError } from './command-store.ts';
import { errorText, formatTime, printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { storeOptions } from './command-store.ts';

/**
 * `store backup FILE` and `store restore FILE`, for the embedded SQLite store. A PostgreSQL
 * store is backed up with pg_dump (README.md, "Backups").
 */

interface BackupFlags extends StoreFlags {
  force?: boolean;
  json?: boolean;
}

/** The store the flags name, found exactly as `withStore` (and `serve`) find it, but not opened. */
function sqliteStoreLocation(flags: StoreFlags, command: string): string {
  const { store } = loadConfig({ configFile: flags.config, flags: [{ field: 'store', value: flags.store, flag: '--store' }] });
  if (isPostgresLocation(store)) {
    throw new UsageError(`store ${command}: the store is PostgreSQL; back it up and restore it with pg_dump and pg_restore (README.md, "Backups")`);
  }
  return store;
}

export function addBackupCommands(store: Command): void {
  storeOptions(
    store
      .command('backup')
      .argument('<file>', 'the backup to write, such as ./backups/portcullis-2025-01-31.db')
      .description('copy the SQLite key store to FILE, consistent while gateways use it'),
  )
    .option('--force', 'replace FILE if it exists')
    .option('--json', 'print what was backed up as JSON')
    .action(async (file: string, flags: BackupFlags) => {
      const source = sqliteStoreLocation(flags, 'backup');
      const presence = await inspectKeyStore(source);
      if (!presence.present) throw new MissingStoreError(`nothing to back up: no key store at ${source}: ${presence.why}. Point at the store with --store PATH or --config FILE.`);
      const { backupSqliteStore } = await import('../store/sqlite/sqlite-backup.ts');
      const summary = await backupSqliteStore(source, file, { overwrite: flags.force === true });
      if (flags.json) printJsonObject({ store: resolve(source), backup: summary });
      else process.stdout.write(`Backed up ${source} to ${file}:\n${describeSummary(summary)}Keep it as private as the store: it holds key digests and client metadata.\n`);
    });

  storeOptions(
    store
      .command('restore')
      .argument('<file>', 'a backup written by "store backup"')
      .description('put a backup in place of the SQLite key store; lists the keys revoked since the backup, which it makes valid again'),
  )
    .option('--force', 'replace the existing key store (without it, only report what the restore would undo)')
    .option('--json', 'print the backup, the comparison and the result as JSON')
    .action(async (file: string, flags: BackupFlags) => {
      const target = sqliteStoreLocation(flags, 'restore');
      const { restoreSqliteStore, RestoreRefused } = await import('../store/sqlite/sqlite-backup.ts');
      let outcome: RestoreOutcome;
      let refusal: string | null = null;
      try {
        outcome = await restoreSqliteStore(file, target, { force: flags.force === true });
      } catch (error) {
        if (!(error instanceof RestoreRefused)) throw error;
        outcome = error.outcome;
        refusal = error.message;
      }
      if (flags.json) printJsonObject({ target: resolve(target), ...outcome });
      else process.stdout.write(describeRestore(file, target, outcome, flags));
      if (refusal !== null) {
        if (!flags.json) process.stderr.write(errorText(refusal));
        process.exitCode = 1;
      }
    });
}

function describeSummary(summary: StoreSummary): string {
  const audit = summary.audit === null ? 'no audit log (schema before version 3)' : summary.audit.ok ? `intact, ${summary.audit.entries} entries` : `BROKEN: ${summary.audit.problem}`;
  return (
    `  schema version ${summary.schemaVersion}, ${summary.keys} keys, change log up to seq ${summary.latestEventSeq}, ${summary.bytes} bytes\n` +
    `  audit log: ${audit}; head seq ${summary.auditHead.seq}, hash ${summary.auditHead.hash}\n`
  );
}

function describeRestore(file: string, target: string, outcome: RestoreOutcome, flags: BackupFlags): string {
  const lines = [`Backup ${file}:\n${describeSummary(outcome.backup)}`];
  if (outcome.replaced !== null && outcome.report !== null) lines.push(`Key store ${target} now:\n${describeSummary(outcome.replaced)}${describeReport(outcome.report, flags)}`);
  if (outcome.restored !== null) {
    lines.push(`Restored ${file} into ${target}:\n${describeSummary(outcome.restored)}${outcome.nextSteps.map((step) => `NEXT: ${step}\n`).join('')}`);
  }
  return lines.join('\n');
}

function describeReport(report: RestoreReport, flags: BackupFlags): string {
  const lines: string[] = [];
  if (!report.sameHistory) lines.push('  NOTE: the backup is not an earlier state of this store (its audit head is not in this store\'s log): the two have different histories.');
  else lines.push(`  Made after the backup, undone by the restore: ${count(report.keyEventsUndone ?? 0, 'key change')}, ${count(report.auditEntriesUndone ?? 0, 'audit entry', 'audit entries')}.`);
  if (report.keysRemoved > 0) lines.push(`  ${count(report.keysRemoved, 'key')} created after the backup will no longer exist.`);
  if (report.reactivated.length === 0) lines.push('  No key revoked or expired since the backup becomes valid again.');
  else {
    lines.push(`  WARNING: ${count(report.reactivated.length, 'key')} refused now would be VALID AGAIN after the restore (revoked or expired after the backup was taken):`);
    for (const key of report.reactivated) lines.push(`    ${describeKey(key)}`);
    lines.push('  Revoke them again right after restoring:');
    const store = flags.store === undefined ? '' : ` --store ${shellQuoted(flags.store)}`;
    for (const key of report.reactivated) lines.push(`    portcullis keys revoke ${key.id} --reason ${shellQuoted(`again after restore: ${key.revokedReason ?? key.now}`)}${store}`);
  }
  return `${lines.join('\n')}\n`;
}

function describeKey(key: ReactivatedKey): string {
  const why = key.now === 'revoked' ? `revoked ${formatTime(key.revokedAt)}${key.revokedReason === null ? '' : ` (${key.revokedReason})`}` : `expired ${formatTime(key.expiresAt)}`;
  return `${key.id}  ${JSON.stringify(key.name)}  ${why}; in the backup: active, expires ${key.expiresAtInBackup === null ? 'never' : formatTime(key.expiresAtInBackup)}`;
}

function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** A word for a POSIX shell, in single quotes. */
function shellQuoted(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
