/**
 * Reads the figures out of wrk's text report (wrk 4.x with `--latency`).
 * Pure, so it is tested on stored reports (see wrk-output.test.ts).
 */

export interface WrkFigures {
  requestsPerSecond: number;
  /** Completed requests over the whole run. */
  requests: number;
  latencyMs: { p50: number; p75: number; p90: number; p99: number };
  /** Responses with a status outside 2xx/3xx: a row with any is measuring the wrong thing. */
  non2xx3xx: number;
  socketErrors: { connect: number; read: number; write: number; timeout: number };
}

/** wrk prints times with these units (see `format_time_us` in wrk's units.c). */
const msPerUnit: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** `551.00us` → 0.551; `1.02ms` → 1.02; `2.10s` → 2100. */
export function parseWrkTime(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (match === null) throw new Error(`not a wrk time: ${JSON.stringify(text)}`);
  return Number(match[1]) * msPerUnit[match[2]!]!;
}

function percentile(report: string, percent: number): number {
  const match = new RegExp(`^\\s*${percent}(?:\\.0+)?%\\s+(\\S+)\\s*$`, 'm').exec(report);
  if (match === null) throw new Error(`wrk report has no ${percent}% latency line (was --latency passed?)`);
  return parseWrkTime(match[1]!);
}

export function parseWrkOutput(report: string): WrkFigures {
  const rate = /^Requests\/sec:\s+([\d.]+)\s*$/m.exec(report);
  if (rate === null) throw new Error(`wrk report has no Requests/sec line:\n${report}`);
  const total = /^\s*(\d+) requests in /m.exec(report);
  const non2xx = /^\s*Non-2xx or 3xx responses:\s+(\d+)\s*$/m.exec(report);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(report);
  return {
    requestsPerSecond: Number(rate[1]),
    requests: total === null ? 0 : Number(total[1]),
    latencyMs: {
      p50: percentile(report, 50),
      p75: percentile(report, 75),
      p90: percentile(report, 90),
      p99: percentile(report, 99),
    },
    non2xx3xx: non2xx === null ? 0 : Number(non2xx[1]),
    socketErrors: {
      connect: socket === null ? 0 : Number(socket[1]),
      read: socket === null ? 0 : Number(socket[2]),
      write: socket === null ? 0 : Number(socket[3]),
      timeout: socket === null ? 0 : Number(socket[4]),
    },
  };
}

/** Failed requests of any kind: non-2xx/3xx answers plus socket errors. */
export function errorCount(figures: WrkFigures): number {
  const socket = figures.socketErrors;
  return figures.non2xx3xx + socket.connect + socket.read + socket.write + socket.timeout;
}
