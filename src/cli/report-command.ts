import { Command } from 'commander';
import { parseDuration } from '../http/units.ts';
import type { Store } from '../store/store.ts';
import type { WouldDenyTotal } from '../store/usage-store.ts';
import { formatTime, printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';

const DEFAULT_PERIOD = '24h';
const MAX_ROWS = 10_000;
const SHOWN_ROWS = 20;

interface ReportFlags extends StoreFlags {
  since?: string;
  json?: boolean;
}

/** A would-deny total with its key's name, for a person. */
interface ReportRow extends WouldDenyTotal {
  keyName: string | null;
}

function periodOf(since: string | undefined): number {
  const period = parseDuration(since ?? DEFAULT_PERIOD);
  if (period === null || period <= 0) throw new UsageError(`--since: expected a duration such as 1h, 24h or 7d, found ${JSON.stringify((since ?? '').slice(0, 20))}`);
  return period;
}

async function withKeyNames(store: Store, totals: WouldDenyTotal[]): Promise<ReportRow[]> {
  const names = new Map<string, string | null>();
  for (const { keyId } of totals) {
    if (keyId !== null && !names.has(keyId)) names.set(keyId, (await store.getKeyById(keyId))?.name ?? null);
  }
  return totals.map((total) => ({ ...total, keyName: total.keyId === null ? null : (names.get(total.keyId) ?? null) }));
}

/** Sums of `rows` by `part`, largest first. */
function sumsBy(rows: readonly ReportRow[], part: (row: ReportRow) => string): Array<[string, number]> {
  const sums = new Map<string, number>();
  for (const row of rows) sums.set(part(row), (sums.get(part(row)) ?? 0) + row.requests);
  return [...sums].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!))).join('  ').trimEnd()).join('\n');
}

function keyLabel(row: ReportRow): string {
  if (row.keyId === null) return '(no key)';
  return row.keyName === null ? row.keyId : `${row.keyName} (${row.keyId})`;
}

function printReport(rows: ReportRow[], from: number, to: number): void {
  const total = rows.reduce((sum, row) => sum + row.requests, 0);
  const lines = [`Report-only: what enforcing would have refused from ${formatTime(from)} to ${formatTime(to)}.`];
  if (total === 0) {
    lines.push('Nothing: no policy in report mode would have refused a request in this period.');
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }
  lines.push(`${total} request(s) would have been refused.`, '', table([['CODE', 'REQUESTS'], ...sumsBy(rows, (row) => row.code).map(([code, count]) => [code, String(count)])]));
  lines.push('', table([['API', 'ROUTE', 'REQUESTS'], ...sumsBy(rows, (row) => `${row.api}\u0000${row.route}`).slice(0, SHOWN_ROWS).map(([id, count]) => [...id.split('\u0000'), String(count)])]));
  lines.push('', table([['KEY', 'REQUESTS'], ...sumsBy(rows, keyLabel).slice(0, SHOWN_ROWS).map(([key, count]) => [key, String(count)])]));
  lines.push('', 'Each row of --json is one code, API, route and key, with the first and last minute it happened in.');
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `portcullis report`: what the policies in report mode would have refused, by code, route and key. */
export function reportCommand(): Command {
  return storeOptions(new Command('report'))
    .option('--since <duration>', `the period up to now (default ${DEFAULT_PERIOD})`)
    .option('--json', 'print the totals as JSON (each code, API, route and key)')
    .action(async (options: ReportFlags) => {
      const to = Date.now();
      const from = to - periodOf(options.since);
      await withStore(options, async (store, _prefix, _config, opened) => {
        const rows = await withKeyNames(store, await store.wouldDenyTotals(from, to, MAX_ROWS));
        if (options.json) {
          printJsonObject({ store: opened.location, from: new Date(from).toISOString(), to: new Date(to).toISOString(), total: rows.reduce((sum, row) => sum + row.requests, 0), rows: rows.map((row) => ({ ...row, firstMinute: new Date(row.firstMinute).toISOString(), lastMinute: new Date(row.lastMinute).toISOString() })) });
        } else printReport(rows, from, to);
      }, { jsonNamesStore: true });
    });
}
