/**
 * Preloaded into every server process a benchmark row measures (the bare proxy and Portcullis
 * alike, `node --import`, through NODE_OPTIONS set by bench/loop-delay.ts): measures the
 * process's own event-loop delay with `monitorEventLoopDelay` and, on SIGUSR2, writes what it
 * saw since the last SIGUSR2 to `<BENCH_LOOP_DELAY_DIR>/<pid>.json` and starts afresh.
 *
 * Why this way: nothing in src/ knows about it (the gateway ships no bench-only switch, no
 * endpoint on any listener), both sides of a ratio carry exactly the same instrument, and it
 * does work only when the harness asks, between wrk runs' ends, never on the request path
 * beyond the histogram's own timer.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const directory = process.env['BENCH_LOOP_DELAY_DIR'];
if (directory !== undefined && directory !== '') {
  const resolution = Number(process.env['BENCH_LOOP_DELAY_RESOLUTION_MS'] ?? 2);
  const histogram = monitorEventLoopDelay({ resolution });
  histogram.enable();
  const file = join(directory, `${process.pid}.json`);
  let seq = 0;
  const write = () => {
    // The histogram counts in nanoseconds; an empty one reports its extremes as 0 and 9.2e18.
    const empty = histogram.count === 0;
    const report = { seq, count: histogram.count, maxMs: empty ? 0 : histogram.max / 1e6, p99Ms: empty ? 0 : histogram.percentile(99) / 1e6, meanMs: empty ? 0 : histogram.mean / 1e6 };
    writeFileSync(file, `${JSON.stringify(report)}\n`);
    histogram.reset();
  };
  write();
  process.on('SIGUSR2', () => {
    seq++;
    write();
  });
}
