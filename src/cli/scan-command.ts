import { Command } from 'commander';
import { digestKey } from '../keys/key-digest.ts';
import { displayPrefixOf } from '../keys/key-format.ts';
import { keyStatus, type KeyRecord } from '../keys/key-record.ts';
import { parseByteSize } from '../http/units.ts';
import { CLI_ACTOR } from '../store/audit-log.ts';
import type { Store } from '../store/store.ts';
import { EXIT_FAILURE, note, printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { withStore } from './command-store.ts';
import { scanGitHistory } from './git-history-scan.ts';
import { parseReason } from './key-settings-flags.ts';
import { ScanTally, scanPaths, type Sighting } from './scan-sources.ts';

/**
 * `portcullis scan [PATH…] [--git]`: finds keys in files, folders, stdin or a repository's whole
 * history (scan-sources.ts, git-history-scan.ts; the search itself is keys/key-search.ts),
 * and, with a store, says which key each one is and whether it still works. Never prints a
 * key: only its display prefix, as `keys list` does. Exit 1 when a live key was found, so it
 * can fail a CI job or a pre-commit hook.
 */

const DEFAULT_MAX_FILE_SIZE = 10 * 1024 * 1024;

interface ScanOptions extends StoreFlags {
  git?: boolean;
  maxFileSize?: string;
  revoke?: boolean;
  reason?: string;
  json?: boolean;
}

/** What a found key is: `unchecked` without a store, `unknown` when the store has no such key. */
type FoundStatus = 'unchecked' | 'unknown' | 'active' | 'quarantined' | 'revoked' | 'expired';

/** One distinct key found (by digest), with every place it was seen. */
interface FoundKey {
  displayPrefix: string;
  digest: string;
  record: KeyRecord | null;
  status: FoundStatus;
  /** Works against the gateway as far as the scan can tell: active, or any key without a store. */
  live: boolean;
  revokedNow: boolean;
  sightings: Sighting[];
}

/** Whether the command names a store: without --store, --config or PORTCULLIS_STORE, scan uses none. */
function namesStore(options: ScanOptions): boolean {
  return options.store !== undefined || options.config !== undefined || process.env.PORTCULLIS_STORE !== undefined;
}

function checkUsage(paths: readonly string[], options: ScanOptions): number {
  if (options.revoke === true && !namesStore(options)) throw new UsageError('scan --revoke needs the store the keys are in: --store PATH|URL or --config FILE');
  if (options.revoke === true && options.reason === undefined) throw new UsageError('scan --revoke needs --reason TEXT (recorded with each revocation)');
  if (options.revoke !== true && options.reason !== undefined) throw new UsageError('scan: --reason goes with --revoke');
  if (options.git === true && paths.includes('-')) throw new UsageError('scan --git reads repositories, not stdin (-)');
  if (options.maxFileSize === undefined) return DEFAULT_MAX_FILE_SIZE;
  const size = parseByteSize(options.maxFileSize);
  if (size === null || size === 0) throw new UsageError(`--max-file-size: expected a size such as 512kb or 50mb, found ${JSON.stringify(options.maxFileSize)}`);
  return size;
}

/** Every key in the sources, grouped by key, in the order first seen. */
async function collectKeys(paths: readonly string[], options: ScanOptions, maxFileSize: number, tally: ScanTally): Promise<Map<string, { key: string; sightings: Sighting[] }>> {
  const byKey = new Map<string, { key: string; sightings: Sighting[] }>();
  const onSighting = (sighting: Sighting) => {
    const entry = byKey.get(sighting.key) ?? { key: sighting.key, sightings: [] };
    entry.sightings.push(sighting);
    byKey.set(sighting.key, entry);
  };
  if (options.git === true) for (const repository of paths) await scanGitHistory(repository, maxFileSize, tally, onSighting);
  else await scanPaths(paths, { maxFileSize }, tally, onSighting);
  return byKey;
}

/** Looks each key up by digest (the store never holds the key), and revokes the live ones when asked. */
async function identifyKeys(found: Map<string, { key: string; sightings: Sighting[] }>, store: Store | null, revokeReason: string | null | undefined): Promise<FoundKey[]> {
  const now = Date.now();
  const keys: FoundKey[] = [];
  for (const { key, sightings } of found.values()) {
    const digest = digestKey(key);
    const record = store === null ? null : await store.getKeyByDigest(digest);
    const status: FoundStatus = store === null ? 'unchecked' : record === null ? 'unknown' : keyStatus(record, now);
    // A quarantined key is refused for now, but a release would make it work again: still live.
    const live = status === 'unchecked' || status === 'active' || status === 'quarantined';
    let revokedNow = false;
    if (live && record !== null && store !== null && revokeReason !== undefined) revokedNow = (await store.revokeKey(record.id, revokeReason, now, CLI_ACTOR)) !== null;
    keys.push({ displayPrefix: displayPrefixOf(key), digest, record, status, live, revokedNow, sightings });
  }
  return keys;
}

/** Where a sighting is, for a person: `file:line:column`, or `commit:path:line:column` in history. */
function placeOf(sighting: Sighting): string {
  const at = `${sighting.path}:${sighting.line}:${sighting.column}`;
  if (sighting.blob === undefined) return at;
  const commits = sighting.commits ?? [];
  if (commits.length === 0) return `blob ${sighting.blob.slice(0, 12)}:${at}`;
  return `${(commits[0] as string).slice(0, 12)}:${at}${commits.length > 1 ? ` (added in ${commits.length} commits)` : ''}`;
}

function printText(keys: readonly FoundKey[], withStore: boolean): void {
  const lines: string[] = [];
  for (const key of keys) {
    const label = !withStore ? '' : `${key.live ? 'LIVE' : key.status}`.padEnd(8);
    const who = !withStore ? '' : key.record === null ? '(not in this store)  ' : `${key.record.id} ${JSON.stringify(key.record.name)}  `;
    for (const sighting of key.sightings) lines.push(`${label}${key.displayPrefix}…  ${who}${placeOf(sighting)}`);
  }
  for (const key of keys) if (key.revokedNow && key.record !== null) lines.push(`Revoked ${key.record.id} ("${key.record.name}")`);
  process.stdout.write(lines.length === 0 ? 'No keys found.\n' : `${lines.join('\n')}\n`);
}

function jsonOutput(keys: readonly FoundKey[], tally: ScanTally, location: string | null, git: boolean): Record<string, unknown> {
  const findings = keys.flatMap((key) =>
    key.sightings.map((sighting) => ({
      displayPrefix: key.displayPrefix,
      status: key.status,
      live: key.live,
      key: key.record === null ? null : { id: key.record.id, name: key.record.name },
      revokedNow: key.revokedNow,
      path: sighting.path,
      line: sighting.line,
      column: sighting.column,
      ...(git ? { blob: sighting.blob ?? null, commits: sighting.commits ?? [] } : {}),
    })),
  );
  return {
    store: location,
    source: git ? 'git' : 'files',
    scanned: { files: tally.files, bytes: tally.bytes, skipped: { binary: tally.skipped.binary, tooLarge: tally.skipped['too large'], unreadable: tally.skipped.unreadable } },
    keys: keys.length,
    liveKeys: keys.filter((key) => key.live).length,
    findings,
    revoked: keys.filter((key) => key.revokedNow && key.record !== null).map((key) => ({ id: (key.record as KeyRecord).id, name: (key.record as KeyRecord).name, displayPrefix: key.displayPrefix })),
  };
}

function summary(keys: readonly FoundKey[], tally: ScanTally, git: boolean): string {
  const places = keys.reduce((sum, key) => sum + key.sightings.length, 0);
  const live = keys.filter((key) => key.live).length;
  const skipped = Object.entries(tally.skipped).filter(([, count]) => count > 0).map(([reason, count]) => `${count} ${reason}`);
  const read = `${tally.files} ${git ? 'blob' : 'file'}${tally.files === 1 ? '' : 's'} (${(tally.bytes / 1e6).toFixed(1)} MB)${skipped.length === 0 ? '' : `, skipped ${skipped.join(', ')}`}`;
  return `scanned ${read}; ${keys.length === 0 ? 'no keys found' : `${keys.length} key${keys.length === 1 ? '' : 's'} in ${places} place${places === 1 ? '' : 's'}, ${live} live`}`;
}

export function scanCommand(): Command {
  return new Command('scan')
    .argument('[paths...]', 'files and folders to scan (default .); - reads stdin; with --git, repositories')
    .option('--git', 'scan every blob reachable from every ref of the git repository (its whole history, deleted files too)')
    .option('--max-file-size <size>', 'skip files in folders and blobs in history larger than this (default 10mb); a file named here is always read')
    .option('--config <file>', 'config file naming the store to identify keys in')
    .option('--store <path>', 'key store to identify keys in (by digest); without --store, --config or PORTCULLIS_STORE no store is used')
    .option('--revoke', 'revoke the live keys found (needs a store and --reason)')
    .option('--reason <text>', 'with --revoke: why, recorded with each revocation')
    .option('--json', 'print one JSON object with every finding')
    .action(async (paths: string[], options: ScanOptions) => {
      const maxFileSize = checkUsage(paths, options);
      const sources = paths.length === 0 ? ['.'] : paths;
      const revokeReason = options.revoke === true ? parseReason(options.reason) : undefined;
      const run = async (store: Store | null, location: string | null) => {
        const tally = new ScanTally();
        const keys = await identifyKeys(await collectKeys(sources, options, maxFileSize, tally), store, revokeReason);
        if (options.json) printJsonObject(jsonOutput(keys, tally, location, options.git === true));
        else printText(keys, store !== null);
        note(summary(keys, tally, options.git === true));
        if (keys.some((key) => key.live)) process.exitCode = EXIT_FAILURE;
      };
      if (namesStore(options)) await withStore(options, (store, _prefix, _config, opened) => run(store, opened.location), { jsonNamesStore: true });
      else await run(null, null);
    });
}
