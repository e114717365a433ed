import { Command } from 'commander';
import { formatTime, printJson, UsageError, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';
import { incidentViews, listIncidents, type IncidentView } from '../admin/incident-list.ts';

const PAGE = 500;

function printTable(views: readonly IncidentView[]): void {
  if (views.length === 0) {
    process.stdout.write('No incidents.\n');
    return;
  }
  const rows = views.map((view) => [String(view.seq), formatTime(Date.parse(view.at)), view.kind, view.keyId, view.keyName ?? '-', view.action, view.keyStatus ?? 'unknown', view.address ?? '-', view.url ?? view.source ?? '']);
  rows.unshift(['SEQ', 'TIME', 'KIND', 'KEY', 'NAME', 'ACTION', 'NOW', 'FROM', 'EVIDENCE']);
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  process.stdout.write(`${rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n')}\n`);
}

export function incidentsCommand(): Command {
  const incidents = new Command('incidents');
  storeOptions(incidents.command('list').description('leak incidents, newest first: secret-scanning alerts, presented keys, anomalies and quarantines, with the key\'s status now'))
    .option('--limit <n>', 'at most this many (default 100, up to 1000)')
    .option('--json', 'print a JSON array')
    .action(async (options: StoreFlags & { limit?: string; json?: boolean }) => {
      const limit = options.limit === undefined ? 100 : Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError(`--limit: expected a whole number from 1 to 1000, found ${JSON.stringify(String(options.limit).slice(0, 20))}`);
      await withStore(options, async (store) => {
        const found = await listIncidents((before) => store.listAuditEntries({ before, limit: PAGE }), limit);
        const views = await incidentViews(found, (id) => store.getKeyById(id));
        if (options.json) printJson(views);
        else printTable(views);
      });
    });
  return incidents;
}
