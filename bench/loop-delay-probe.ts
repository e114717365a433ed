/**
 * Preloaded into every server process a benchmark row measures (the bare proxy and Portcullis
 * alike, `node --import`, through NODE_OPTIONS set by bench/loop-delay.ts): measures the
 * process's own event-loop delay with `monitorEventLoopDelay` and, on SIGUSR2, writes what it
 * saw since the last SIGUSR2 to `<BENCH_LOOP_DELAY_DIR>/<pid>.json` and starts afresh.
 *
 * Beside the delay by the wall clock it measures the delay *on CPU* (`onCpuMaxMs`): a timer of
 * the same resolution compares, between two of its ticks, how late it fired with how much CPU
 * the main thread used meanwhile (`process.threadCpuUsage`), and keeps the smaller. A loop
 * that ran code for 10 ms shows 10 ms in both; a thread the kernel took off the CPU for 10 ms
 * (another process's turn on a shared CPU) shows 10 ms by the wall clock and nearly nothing on
 * CPU. On a machine where the load generator, the upstream and the server share two CPUs the
 * wall-clock max is mostly the scheduler's; the on-CPU max is the server's own pauses.
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
  let onCpuMaxMs = 0;
  let lastTick = performance.now();
  let lastCpu = process.threadCpuUsage();
  setInterval(() => {
    const now = performance.now();
    const cpu = process.threadCpuUsage();
    const lateMs = now - lastTick - resolution;
    const cpuMs = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000;
    const onCpuMs = Math.min(lateMs, cpuMs);
    if (onCpuMs > onCpuMaxMs) onCpuMaxMs = onCpuMs;
    lastTick = now;
    lastCpu = cpu;
  }, resolution).unref();
  const file = join(directory, `${process.pid}.json`);
  let seq = 0;
  const write = () => {
    // The histogram counts in nanoseconds; an empty one reports its extremes as 0 and 9.2e18.
    const empty = histogram.count === 0;
    const report = { seq, count: histogram.count, maxMs: empty ? 0 : histogram.max / 1e6, p99Ms: empty ? 0 : histogram.percentile(99) / 1e6, meanMs: empty ? 0 : histogram.mean / 1e6, onCpuMaxMs };
    writeFileSync(file, `${JSON.stringify(report)}\n`);
    histogram.reset();
    onCpuMaxMs = 0;
  };
  write();
  process.on('SIGUSR2', () => {
    seq++;
    write();
  });
}
