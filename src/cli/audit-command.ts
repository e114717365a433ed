import { Command } from 'commander';
import { auditEntryView } from '../admin/admin-views.ts';
import { verifyAuditChain } from '../store/audit-chain.ts';
import { formatTime, printJson, printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';

function positiveInteger(flag: string, value: string | undefined, max: number): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1 || number > max) throw new UsageError(`${flag}: expected a whole number from 1 to ${max}, found ${JSON.stringify(value.slice(0, 20))}`);
  return number;
}

export function auditCommand(): Command {
  const audit = new Command('audit');

  storeOptions(audit.command('list').description('list audit entries, newest first'))
    .option('--target <id>', 'only entries about this key or admin token id')
    .option('--limit <n>', 'at most this many (default 100, up to 1000)')
    .option('--before <seq>', 'page: entries older than this seq')
    .option('--json', 'print a JSON array')
    .action(async (options: StoreFlags & { target?: string; limit?: string; before?: string; json?: boolean }) => {
      const limit = positiveInteger('--limit', options.limit, 1000);
      const before = positiveInteger('--before', options.before, Number.MAX_SAFE_INTEGER);
      await withStore(options, async (store) => {
        const entries = await store.listAuditEntries({ target: options.target, limit, before });
        if (options.json) printJson(entries.map(auditEntryView));
        else if (entries.length === 0) process.stdout.write('No audit entries.\n');
        else {
          const rows = entries.map((entry) => [String(entry.seq), formatTime(entry.at), entry.actor, entry.address ?? '-', entry.action, entry.target, entry.reason ?? '']);
          rows.unshift(['SEQ', 'TIME', 'ACTOR', 'ADDRESS', 'ACTION', 'TARGET', 'REASON']);
          const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
          process.stdout.write(`${rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')}\n`);
        }
      });
    });

  storeOptions(audit.command('verify').description('check the hash chain: exit 1, naming the entry, if any entry was edited, deleted or reordered'))
    .option('--expect-head <hash>', 'a head hash recorded earlier: also fail if the chain no longer contains it')
    .option('--json', 'print the result as JSON')
    .action(async (options: StoreFlags & { expectHead?: string; json?: boolean }) => {
      if (options.expectHead !== undefined && !/^[0-9a-f]{64}$/.test(options.expectHead)) throw new UsageError('--expect-head: expected a 64-character hex hash, as printed by audit verify');
      await withStore(options, async (store, _prefix, _config, opened) => {
        const result = await verifyAuditChain(store, options.expectHead);
        if (options.json) printJsonObject({ store: opened.location, ...result });
        else if (result.ok) {
          process.stdout.write(
            `Audit log intact: ${result.entries} entries.\nHead: seq ${result.head.seq}, hash ${result.head.hash}\n` +
              'Keep the head hash somewhere else; "audit verify --expect-head <hash>" later proves the log was not rewritten up to it.\n',
          );
        }
        if (!result.ok) {
          if (!options.json) process.stderr.write(`Audit log verification FAILED${result.seq === null ? '' : ` at entry ${result.seq}`}: ${result.problem}\n`);
          process.exitCode = 1;
        }
      }, { jsonNamesStore: true });
    });

  return audit;
}
