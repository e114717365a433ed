import { Command } from 'commander';
import { parseDuration } from '../http/units.ts';
import type { ApiUsageStep } from '../store/usage-store.ts';
import { formatTime, printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';

const DEFAULT_PERIOD = '24h';

interface UsageFlags extends StoreFlags {
  since?: string;
  json?: boolean;
}

/** One API's requests over the period. */
interface ApiTotal {
  api: string;
  requests: number;
  forwarded: number;
  /** Refusals and upstream errors the gateway answered: every outcome but `forwarded` and `aborted`. */
  denied: number;
  aborted: number;
  outcomes: Record<string, number>;
}

function periodOf(since: string | undefined): number {
  const period = parseDuration(since ?? DEFAULT_PERIOD);
  if (period === null || period <= 0) throw new UsageError(`--since: expected a duration such as 1h, 24h or 7d, found ${JSON.stringify((since ?? '').slice(0, 20))}`);
  return period;
}

/** Each API's totals (the store's steps, one per API for a step as long as the period), busiest first. */
function apiTotals(steps: readonly ApiUsageStep[]): ApiTotal[] {
  const totals = new Map<string, ApiTotal>();
  for (const step of steps) {
    let total = totals.get(step.api);
    if (total === undefined) totals.set(step.api, (total = { api: step.api, requests: 0, forwarded: 0, denied: 0, aborted: 0, outcomes: {} }));
    for (const [outcome, count] of Object.entries(step.outcomes)) {
      total.requests += count;
      total.outcomes[outcome] = (total.outcomes[outcome] ?? 0) + count;
      if (outcome === 'forwarded') total.forwarded += count;
      else if (outcome === 'aborted') total.aborted += count;
      else total.denied += count;
    }
  }
  return [...totals.values()].sort((a, b) => b.requests - a.requests || a.api.localeCompare(b.api));
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 || column === row.length - 1 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd()).join('\n');
}

/** Refusal codes, most first, as `code count`. */
function refusals(total: ApiTotal): string {
  return Object.entries(total.outcomes)
    .filter(([outcome]) => outcome !== 'forwarded' && outcome !== 'aborted')
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
}

function printApis(totals: ApiTotal[], from: number, to: number): void {
  const lines = [`Requests by API from ${formatTime(from)} to ${formatTime(to)} (every request matched to an API, with or without a key).`];
  if (totals.length === 0) lines.push('None: no request was matched to an API in this period.');
  else lines.push('', table([['API', 'REQUESTS', 'FORWARDED', 'REFUSED', 'REFUSALS'], ...totals.map((total) => [total.api, String(total.requests), String(total.forwarded), String(total.denied), refusals(total)])]));
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `portcullis usage apis`: requests per API and outcome over a period, from the store's per-API minutes. */
export function usageCommand(): Command {
  const usage = new Command('usage').description('usage figures from the store');
  usage.addCommand(
    storeOptions(new Command('apis'))
      .description('requests per API over a period: forwarded, refused, and refusals by code')
      .option('--since <duration>', `the period up to now (default ${DEFAULT_PERIOD})`)
      .option('--json', 'print each API\'s totals and outcomes as JSON')
      .action(async (options: UsageFlags) => {
        const to = Date.now();
        const from = to - periodOf(options.since);
        await withStore(options, async (store, _prefix, _config, opened) => {
          const totals = apiTotals(await store.apiUsageSteps(from, to, to - from));
          if (options.json) printJsonObject({ store: opened.location, from: new Date(from).toISOString(), to: new Date(to).toISOString(), apis: totals });
          else printApis(totals, from, to);
        }, { jsonNamesStore: true });
      }),
  );
  return usage;
}
