/**
 * The figures of `npm run bench:scale` beside throughput: start-up time, resident memory and the
 * key cache's hit ratio, read from the gateway's own `/metrics` and from `/proc`. Pure
 * (tested in scale-figures.test.ts).
 */
import { formatTable, median } from './report.ts';

/** Key verifications answered from memory (hits) and from the store (misses), from `/metrics`. */
export interface CacheLookups {
  hits: number;
  misses: number;
}

/** `portcullis_key_cache_lookups_total` by result, from the Prometheus text of `/metrics`. */
export function cacheLookups(metrics: string): CacheLookups {
  const value = (result: string): number => {
    const match = new RegExp(`^portcullis_key_cache_lookups_total\\{result="${result}"\\} (\\d+(?:\\.\\d+)?(?:e\\+?\\d+)?)$`, 'm').exec(metrics);
    if (match === null) throw new Error(`/metrics has no portcullis_key_cache_lookups_total{result="${result}"}`);
    return Number(match[1]);
  };
  return { hits: value('hit'), misses: value('miss') };
}

/** The share of the lookups between two readings answered from memory; null when there were none. */
export function hitRatioBetween(before: CacheLookups, after: CacheLookups): number | null {
  const hits = after.hits - before.hits;
  const misses = after.misses - before.misses;
  return hits + misses === 0 ? null : hits / (hits + misses);
}

/** Resident memory in MB from the text of /proc/<pid>/status (its `VmRSS:` line, in kB). */
export function residentMb(status: string): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (match === null) throw new Error('no VmRSS line in /proc/<pid>/status');
  return Number(match[1]) / 1024;
}

/** One round of one row, beside its wrk figures. */
export interface ScaleRound {
  /** From spawning `portcullis serve` to its first 200 for a keyed request. */
  startupMs: number;
  /** RSS of the gateway process after the warm-up. */
  rssMb: number;
  /** Hit ratio of the key cache while wrk measured (after the warm-up); null without lookups. */
  hitRatio: number | null;
  /** Hit ratio since the process started, warm-up included. */
  hitRatioSinceStart: number | null;
}

export interface ScaleSummary {
  name: string;
  compareTo: string | null;
  startupMs: number;
  rssMb: number;
  hitRatio: number | null;
  hitRatioSinceStart: number | null;
}

function medianOrNull(values: ReadonlyArray<number | null>): number | null {
  return values.length === 0 || values.some((value) => value === null) ? null : median(values as number[]);
}

/** Medians over the rounds. */
export function summariseScale(row: { name: string; compareTo: string | null }, rounds: readonly ScaleRound[]): ScaleSummary {
  return {
    name: row.name,
    compareTo: row.compareTo,
    startupMs: median(rounds.map((round) => round.startupMs)),
    rssMb: median(rounds.map((round) => round.rssMb)),
    hitRatio: medianOrNull(rounds.map((round) => round.hitRatio)),
    hitRatioSinceStart: medianOrNull(rounds.map((round) => round.hitRatioSinceStart)),
  };
}

const percent = (value: number | null): string => (value === null ? 'n/a' : `${(value * 100).toFixed(1)} %`);

/** The table of start-up, memory and cache figures, and each row's start-up and memory against its baseline. */
export function formatScaleReport(rows: readonly ScaleSummary[]): string {
  const table = formatTable(
    ['target', 'start-up ms', 'RSS MB', 'cache hits (measured)', 'cache hits (since start)'],
    rows.map((row) => [row.name, row.startupMs.toFixed(0), row.rssMb.toFixed(1), percent(row.hitRatio), percent(row.hitRatioSinceStart)]),
  );
  const byName = new Map(rows.map((row) => [row.name, row]));
  const lines = [table, ''];
  for (const row of rows) {
    const baseline = row.compareTo === null ? undefined : byName.get(row.compareTo);
    if (baseline === undefined) continue;
    lines.push(`${row.name} / ${baseline.name}: start-up ${(row.startupMs / baseline.startupMs).toFixed(2)}, RSS ${(row.rssMb / baseline.rssMb).toFixed(2)}`);
  }
  return lines.join('\n');
}
