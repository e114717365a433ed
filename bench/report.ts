/**
 * Turns the rounds of each row into the figures people read: the median per
 * metric, a table, and the ratios of a row to the row it is compared with.
 */
import type { LoopDelay } from './loop-delay.ts';
import type { WrkFigures } from './wrk-output.ts';
import { errorCount } from './wrk-output.ts';

/** One measured round of one row. */
export interface RoundResult {
  figures: WrkFigures;
  /** CPU time the row's server process tree spent per request (µs); null without /proc. */
  serverCpuUsPerRequest: number | null;
  /** The server's own event-loop delay while it was measured (bench/loop-delay-probe.ts); null when not probed. */
  loopDelay?: LoopDelay | null;
}

export interface RowSummary {
  name: string;
  description: string;
  compareTo: string | null;
  /** More rows it is compared with, each a ratio line of its own. */
  alsoCompareTo?: readonly string[];
  /** Medians over the rounds, each metric on its own. */
  median: { requestsPerSecond: number; p50Ms: number; p99Ms: number; serverCpuUsPerRequest: number | null; loopDelay: LoopDelay | null };
  /** Failed requests summed over all rounds; anything but 0 makes the row suspect. */
  errors: number;
  rounds: RoundResult[];
}

export interface Ratio {
  target: string;
  baseline: string;
  /** target / baseline: below 1 means the target serves fewer requests. */
  requestsPerSecond: number;
  /** target / baseline: above 1 means the target's tail is slower. */
  p99: number;
  /** target / baseline: above 1 means the target spends more CPU per request; null without /proc. */
  serverCpuPerRequest: number | null;
  /**
   * The median over rounds of target / baseline within each round (the two rows ran seconds
   * apart in every round), for req/s and CPU per request. On a machine whose load drifts, it
   * compares like with like; the ratios of medians above compare figures taken minutes apart.
   */
  paired: { requestsPerSecond: number; serverCpuPerRequest: number | null };
  /** target − baseline of the median event-loop delay (ms): max and p99; null when either was not probed. */
  loopDelayDeltaMs: LoopDelay | null;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * One round of a row from its slices (bench/run.ts measures the rows of a round in turns of a
 * few seconds each, so that every row sees the same minutes of a drifting machine): requests
 * and errors add up, req/s is requests over the time the slices took, CPU per request is total
 * CPU over total requests, and each latency percentile is the median of the slices' (one
 * slice's hiccup does not become the round's figure).
 */
export function combineSlices(slices: readonly RoundResult[]): RoundResult {
  if (slices.length === 0) throw new Error('a round of no slices');
  if (slices.length === 1) return slices[0]!;
  let requests = 0;
  let seconds = 0;
  let cpuUs = 0;
  let cpuKnown = true;
  let non2xx3xx = 0;
  const socketErrors = { connect: 0, read: 0, write: 0, timeout: 0 };
  for (const { figures, serverCpuUsPerRequest } of slices) {
    requests += figures.requests;
    if (figures.requestsPerSecond > 0) seconds += figures.requests / figures.requestsPerSecond;
    if (serverCpuUsPerRequest === null) cpuKnown = false;
    else cpuUs += serverCpuUsPerRequest * figures.requests;
    non2xx3xx += figures.non2xx3xx;
    for (const kind of ['connect', 'read', 'write', 'timeout'] as const) socketErrors[kind] += figures.socketErrors[kind];
  }
  const latency = (percentile: 'p50' | 'p75' | 'p90' | 'p99') => median(slices.map((slice) => slice.figures.latencyMs[percentile]));
  const loops = slices.map((slice) => slice.loopDelay ?? null);
  // The round's worst pause is the worst of its slices; its p99, as for latency, the median of theirs.
  const loopDelay = loops.every((loop) => loop !== null)
    ? { maxMs: Math.max(...loops.map((loop) => loop!.maxMs)), p99Ms: median(loops.map((loop) => loop!.p99Ms)), onCpuMaxMs: Math.max(...loops.map((loop) => loop!.onCpuMaxMs)) }
    : null;
  return {
    figures: {
      requestsPerSecond: seconds === 0 ? 0 : requests / seconds,
      requests,
      latencyMs: { p50: latency('p50'), p75: latency('p75'), p90: latency('p90'), p99: latency('p99') },
      non2xx3xx,
      socketErrors,
    },
    serverCpuUsPerRequest: cpuKnown && requests > 0 ? cpuUs / requests : null,
    loopDelay,
  };
}

export function summariseRow(
  row: { name: string; description: string; compareTo: string | null; alsoCompareTo?: readonly string[] },
  rounds: RoundResult[],
): RowSummary {
  const cpu = rounds.map((round) => round.serverCpuUsPerRequest);
  return {
    name: row.name,
    description: row.description,
    compareTo: row.compareTo,
    ...(row.alsoCompareTo === undefined ? {} : { alsoCompareTo: row.alsoCompareTo }),
    median: {
      requestsPerSecond: median(rounds.map((round) => round.figures.requestsPerSecond)),
      p50Ms: median(rounds.map((round) => round.figures.latencyMs.p50)),
      p99Ms: median(rounds.map((round) => round.figures.latencyMs.p99)),
      serverCpuUsPerRequest: cpu.every((value) => value !== null) ? median(cpu) : null,
      loopDelay: medianLoopDelay(rounds),
    },
    errors: rounds.reduce((sum, round) => sum + errorCount(round.figures), 0),
    rounds,
  };
}

/** Median over the rounds of the max and of the p99 of the event-loop delay; null unless every round was probed. */
function medianLoopDelay(rounds: readonly RoundResult[]): LoopDelay | null {
  const loops = rounds.map((round) => round.loopDelay ?? null);
  if (loops.length === 0 || loops.some((loop) => loop === null)) return null;
  return { maxMs: median(loops.map((loop) => loop!.maxMs)), p99Ms: median(loops.map((loop) => loop!.p99Ms)), onCpuMaxMs: median(loops.map((loop) => loop!.onCpuMaxMs)) };
}

export function ratios(rows: readonly RowSummary[]): Ratio[] {
  const byName = new Map(rows.map((row) => [row.name, row]));
  const result: Ratio[] = [];
  for (const row of rows) {
    for (const name of [row.compareTo, ...(row.alsoCompareTo ?? [])]) {
      const baseline = name === null ? undefined : byName.get(name);
      if (baseline === undefined) continue;
      result.push({
        target: row.name,
        baseline: baseline.name,
        requestsPerSecond: row.median.requestsPerSecond / baseline.median.requestsPerSecond,
        p99: row.median.p99Ms / baseline.median.p99Ms,
        serverCpuPerRequest: row.median.serverCpuUsPerRequest === null || baseline.median.serverCpuUsPerRequest === null
          ? null
          : row.median.serverCpuUsPerRequest / baseline.median.serverCpuUsPerRequest,
        paired: pairedRatios(row.rounds, baseline.rounds),
        loopDelayDeltaMs: row.median.loopDelay === null || baseline.median.loopDelay === null
          ? null
          : {
            maxMs: row.median.loopDelay.maxMs - baseline.median.loopDelay.maxMs,
            p99Ms: row.median.loopDelay.p99Ms - baseline.median.loopDelay.p99Ms,
            onCpuMaxMs: row.median.loopDelay.onCpuMaxMs - baseline.median.loopDelay.onCpuMaxMs,
          },
      });
    }
  }
  return result;
}

/** Median over the rounds both rows have of the per-round ratio target / baseline. */
export function pairedRatios(target: readonly RoundResult[], baseline: readonly RoundResult[]): Ratio['paired'] {
  const rounds = Math.min(target.length, baseline.length);
  if (rounds === 0) throw new Error('paired ratio of rows without rounds');
  const requests: number[] = [];
  const cpu: number[] = [];
  for (let index = 0; index < rounds; index++) {
    const row = target[index]!;
    const base = baseline[index]!;
    requests.push(row.figures.requestsPerSecond / base.figures.requestsPerSecond);
    if (row.serverCpuUsPerRequest !== null && base.serverCpuUsPerRequest !== null) cpu.push(row.serverCpuUsPerRequest / base.serverCpuUsPerRequest);
  }
  return { requestsPerSecond: median(requests), serverCpuPerRequest: cpu.length === rounds ? median(cpu) : null };
}

export function formatTable(header: string[], body: string[][]): string {
  const widths = header.map((cell, column) => Math.max(cell.length, ...body.map((line) => line[column]!.length)));
  const render = (line: string[]) => line
    .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
    .join('  ');
  return [render(header), widths.map((width) => '-'.repeat(width)).join('  '), ...body.map(render)].join('\n');
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(2)}`;
}

export function formatReport(rows: readonly RowSummary[], rowRatios: readonly Ratio[]): string {
  const table = formatTable(
    ['target', 'req/s', 'p50 ms', 'p99 ms', 'cpu µs/req', 'loop p99 ms', 'loop max ms', 'on-CPU max ms', 'errors'],
    rows.map((row) => [
      row.name,
      integer.format(row.median.requestsPerSecond),
      row.median.p50Ms.toFixed(2),
      row.median.p99Ms.toFixed(2),
      row.median.serverCpuUsPerRequest === null ? 'n/a' : row.median.serverCpuUsPerRequest.toFixed(1),
      row.median.loopDelay === null ? 'n/a' : row.median.loopDelay.p99Ms.toFixed(2),
      row.median.loopDelay === null ? 'n/a' : row.median.loopDelay.maxMs.toFixed(2),
      row.median.loopDelay === null ? 'n/a' : row.median.loopDelay.onCpuMaxMs.toFixed(2),
      String(row.errors),
    ]),
  );
  const lines = [table, ''];
  for (const ratio of rowRatios) {
    const cpu = ratio.serverCpuPerRequest === null ? '' : `, cpu/req ${ratio.serverCpuPerRequest.toFixed(2)}`;
    const pairedCpu = ratio.paired.serverCpuPerRequest === null ? '' : `, cpu/req ${ratio.paired.serverCpuPerRequest.toFixed(2)}`;
    const loop = ratio.loopDelayDeltaMs === null ? '' : ` | event loop vs ${ratio.baseline}: max ${signed(ratio.loopDelayDeltaMs.maxMs)} ms (on CPU ${signed(ratio.loopDelayDeltaMs.onCpuMaxMs)} ms), p99 ${signed(ratio.loopDelayDeltaMs.p99Ms)} ms`;
    lines.push(`${ratio.target} / ${ratio.baseline}: req/s ${ratio.requestsPerSecond.toFixed(2)}, p99 ${ratio.p99.toFixed(2)}${cpu}`
      + ` | paired by round: req/s ${ratio.paired.requestsPerSecond.toFixed(2)}${pairedCpu}${loop}`);
  }
  if (rows.some((row) => row.median.serverCpuUsPerRequest !== null)) {
    lines.push('(cpu µs/req: CPU time of the row\'s own server process per request; for direct that is the upstream, for proxies the proxy alone)');
  }
  if (rows.some((row) => row.median.loopDelay !== null)) {
    lines.push('(loop p99/max: the server\'s own event-loop delay (monitorEventLoopDelay) while wrk ran; a round\'s max is its worst turn, the table the median over rounds;'
      + ' on-CPU max: the longest of those delays the loop spent running rather than waiting for a CPU, bench/loop-delay-probe.ts)');
  }
  const failing = rows.filter((row) => row.errors > 0);
  for (const row of failing) {
    lines.push(`WARNING: ${row.name} had ${row.errors} failed requests (non-2xx/3xx or socket errors); its figures do not measure the happy path.`);
  }
  return lines.join('\n');
}
