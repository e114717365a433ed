/**
 * Reads the figures out of h2load's text report (nghttp2 1.52, timing-based with `-D`) and its
 * per-request log (`--log-file`), into the shape wrk's figures take (wrk-output.ts), so that the
 * HTTP/2 rows go through the same report. Pure, so it is tested on stored output
 * (h2load-output.test.ts).
 *
 * h2load prints no latency percentiles, only min, max, mean and sd of "time for request"; the
 * log has one line per request done in the measured time (start µs since the epoch, status,
 * µs until the end of the response), from which the percentiles are taken.
 */
import type { WrkFigures } from './wrk-output.ts';

export interface H2loadCounts {
  requestsPerSecond: number;
  /** Requests done (a response ended or the stream failed) within the measured duration. */
  done: number;
  /** Done with a 2xx or 3xx status. */
  succeeded: number;
  /** Done without one: a 4xx/5xx status, or a stream or connection error (`errored`). */
  failed: number;
  /** Failed for a stream or connection error, without a status. */
  errored: number;
  /** Failed for h2load's connection timeouts (`-N`, `-T`). */
  timeout: number;
}

function requiredMatch(report: string, pattern: RegExp, what: string): RegExpExecArray {
  const match = pattern.exec(report);
  if (match === null) throw new Error(`h2load report has no ${what} line:\n${report}`);
  return match;
}

export function parseH2loadCounts(report: string): H2loadCounts {
  const rate = requiredMatch(report, /^finished in [\d.]+m?s, ([\d.]+) req\/s/m, '"finished in"');
  const requests = requiredMatch(report, /^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout\s*$/m, '"requests:"');
  return {
    requestsPerSecond: Number(rate[1]),
    done: Number(requests[3]),
    succeeded: Number(requests[4]),
    failed: Number(requests[5]),
    errored: Number(requests[6]),
    timeout: Number(requests[7]),
  };
}

/** Milliseconds each request took, from `--log-file` text (third column, µs). */
export function parseH2loadLog(log: string): number[] {
  const latencies: number[] = [];
  for (const line of log.split('\n')) {
    if (line === '') continue;
    const columns = line.split('\t');
    const micros = Number(columns[2]);
    if (columns.length < 3 || !Number.isFinite(micros) || micros < 0) throw new Error(`not an h2load log line: ${JSON.stringify(line)}`);
    latencies.push(micros / 1000);
  }
  return latencies;
}

/** Nearest-rank percentile of `sorted` (ascending): the least value with `percent` % of the values at or below it. */
export function nearestRank(sorted: readonly number[], percent: number): number {
  if (sorted.length === 0) throw new Error('percentile of nothing');
  const rank = Math.max(1, Math.ceil((percent / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/**
 * The figures of one run of h2load. Requests with a 4xx/5xx answer count as `non2xx3xx`,
 * stream or connection errors as read errors, h2load's timeouts as timeouts; a run that got
 * no request done at all (nothing listening, every handshake failed) counts one connect
 * error per connection, so it fails like a refused wrk run.
 */
export function h2loadFigures(report: string, log: string, connections: number): WrkFigures {
  const counts = parseH2loadCounts(report);
  const latencies = parseH2loadLog(log).sort((a, b) => a - b);
  const latencyMs = latencies.length === 0
    ? { p50: 0, p75: 0, p90: 0, p99: 0 }
    : { p50: nearestRank(latencies, 50), p75: nearestRank(latencies, 75), p90: nearestRank(latencies, 90), p99: nearestRank(latencies, 99) };
  const streamErrors = Math.max(0, counts.errored - counts.timeout);
  return {
    requestsPerSecond: counts.requestsPerSecond,
    requests: counts.done,
    latencyMs,
    non2xx3xx: Math.max(0, counts.failed - counts.errored),
    socketErrors: { connect: counts.done === 0 ? connections : 0, read: streamErrors, write: 0, timeout: counts.timeout },
  };
}
