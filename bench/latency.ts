/**
 * `npm run bench:latency`: the latency Portcullis adds at realistic load, not at saturation.
 *
 * 1. Starts the upstream, a bare proxy, a second bare proxy (the A/A control) and Portcullis
 *    (default settings, 1,000 keys in its store; requests rotate over all of them).
 * 2. Finds the bare proxy's capacity in this run: wrk at saturation (LATENCY_CAPACITY_SECONDS).
 * 3. Drives each of the three at 50 % and 80 % of that capacity (LATENCY_LOADS) with our own
 *    constant-arrival-rate generator (open-loop-client.ts), latency counted from each request's
 *    intended send time, in LATENCY_ROUNDS rounds whose order alternates.
 * 4. Reports, per load, the latency Portcullis adds over the bare proxy of the same round at
 *    p50, p99 and p99.9 (median over rounds, with the min–max spread), and beside it the same
 *    figure for the bare proxy against itself: the instrument's own noise.
 *
 * Pinning (LATENCY_PIN, on by default where it can be done): the three servers run on CPU 0,
 * the generator (this process), the upstream and the capacity run's wrk on CPU 1. Unpinned, the
 * server under test, the generator and the upstream wake together and queue for the same two
 * CPUs, and that queueing, different every round, made the instrument's own p99 spread hundreds
 * of times wider than the target; pinned, what the server under test waits for is its own work.
 * Capacity is then that of a server with one CPU of its own.
 *
 * Env: LATENCY_DURATION (s per run, 10), LATENCY_WARMUP (s, 2), LATENCY_ROUNDS (5),
 * LATENCY_CONNECTIONS (generator connections, 32), LATENCY_KEYS (1000),
 * LATENCY_LOADS (0.5,0.8), LATENCY_CAPACITY_SECONDS (5), LATENCY_PIN (1; 0 runs unpinned).
 * Needs wrk for step 2, and for pinning Linux with 2+ CPUs and `taskset`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BenchUsageError, envNumber } from './bench-env.ts';
import { ChildProcesses, spawnPeer } from './child-processes.ts';
import { LOAD_CPU, SERVER_CPU, pin, pinningUnavailable } from './cpu-pinning.ts';
import { runOpenLoop, type OpenLoopResult } from './open-loop-client.ts';
import { median } from './report.ts';
import { seedKeyStore } from './seed-key-store.ts';
import { targets, type BenchContext, type StartedTarget } from './targets.ts';
import { bearerGet, findWrk, runWrk, writeWrkScript } from './wrk.ts';

const PERCENTILES = ['p50', 'p99', 'p999'] as const;
type Percentile = (typeof PERCENTILES)[number];
const ROWS = ['bare', 'bare-again', 'portcullis'] as const;
type Row = (typeof ROWS)[number];

interface Settings {
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  connections: number;
  keyCount: number;
  loads: number[];
  capacitySeconds: number;
  /** Whether to pin the servers to one CPU and the load to another; `explicit` when LATENCY_PIN asked for it. */
  pin: { wanted: boolean; explicit: boolean };
}

function readSettings(): Settings {
  const loads = (process.env['LATENCY_LOADS'] ?? '0.5,0.8').split(',').map(Number);
  if (loads.some((load) => !(load > 0 && load <= 1))) throw new BenchUsageError(`LATENCY_LOADS must be shares of capacity in (0, 1], not ${process.env['LATENCY_LOADS']}`);
  return {
    durationSeconds: envNumber('LATENCY_DURATION', 10),
    warmupSeconds: envNumber('LATENCY_WARMUP', 2, { allowZero: true }),
    rounds: envNumber('LATENCY_ROUNDS', 5, { integer: true }),
    connections: envNumber('LATENCY_CONNECTIONS', 32, { integer: true }),
    keyCount: envNumber('LATENCY_KEYS', 1000, { integer: true }),
    loads,
    capacitySeconds: envNumber('LATENCY_CAPACITY_SECONDS', 5, { integer: true }),
    pin: readPinSetting(),
  };
}

function readPinSetting(): Settings['pin'] {
  const value = process.env['LATENCY_PIN']?.trim();
  if (value === undefined || value === '') return { wanted: true, explicit: false };
  if (value !== '0' && value !== '1') throw new BenchUsageError(`LATENCY_PIN must be 0 or 1, not ${value}`);
  return { wanted: value === '1', explicit: true };
}

/** Whether this run pins; asked for explicitly and impossible is an error, by default a warning. */
function decidePinning(setting: Settings['pin']): boolean {
  if (!setting.wanted) return false;
  const unavailable = pinningUnavailable();
  if (unavailable === null) return true;
  if (setting.explicit) throw new BenchUsageError(`LATENCY_PIN=1: ${unavailable}`);
  log(`running unpinned (${unavailable}); the A/A spread will be wide`);
  return false;
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

const ms = (value: number) => value.toFixed(3);

/** Median and spread over the rounds of `row` − `baseline` at one percentile. */
function added(runs: Array<Record<Row, OpenLoopResult>>, row: Row, baseline: Row, percentile: Percentile): { median: number; min: number; max: number } {
  const deltas = runs.map((run) => run[row].latencyMs[percentile] - run[baseline].latencyMs[percentile]);
  return { median: median(deltas), min: Math.min(...deltas), max: Math.max(...deltas) };
}

function formatAdded(label: string, runs: Array<Record<Row, OpenLoopResult>>, row: Row, baseline: Row): string {
  const cells = PERCENTILES.map((percentile) => {
    const figure = added(runs, row, baseline, percentile);
    return `${percentile} ${figure.median >= 0 ? '+' : ''}${ms(figure.median)} [${ms(figure.min)} … ${ms(figure.max)}]`;
  });
  return `  ${label.padEnd(24)} ${cells.join('   ')}`;
}

async function main(): Promise<number> {
  const settings = readSettings();
  const wrkPath = findWrk();
  if (wrkPath === null) {
    log('wrk is not installed (it finds the bare proxy\'s capacity). Install it with: sudo apt-get install wrk');
    return 1;
  }
  const pinned = decidePinning(settings.pin);
  const repoRoot = resolve(import.meta.dirname, '..');
  const children = new ChildProcesses();
  const workDir = await mkdtemp(join(tmpdir(), 'portcullis-latency-'));
  process.on('exit', () => children.killAllNow());
  const startedAt = new Date();
  try {
    const upstream = await spawnPeer(children, 'upstream', [join(repoRoot, 'bench/peers/upstream.ts'), '0']);
    const seededStorePath = join(workDir, 'seed.db');
    log(`seeding ${settings.keyCount} keys`);
    const tokens = await seedKeyStore(seededStorePath, settings.keyCount);
    const context: BenchContext = { children, repoRoot, workDir, upstreamOrigin: `http://127.0.0.1:${upstream.port}`, upstreamPid: upstream.child.process.pid!, seededStorePath, tokens, loopDelayDir: null };
    const started = {} as Record<Row, StartedTarget>;
    for (const name of ROWS) started[name] = await targets.find((target) => target.name === name)!.start(context);
    const portOf = (row: Row) => Number(new URL(started[row].url).port);
    if (pinned) {
      for (const row of ROWS) pin(started[row].pid, SERVER_CPU);
      pin(upstream.child.process.pid!, LOAD_CPU);
      pin(process.pid, LOAD_CPU);
      log(`pinned: bare, bare-again and portcullis to CPU ${SERVER_CPU}; the generator, the upstream and wrk to CPU ${LOAD_CPU}`);
    }

    const script = join(workDir, 'capacity.lua');
    await writeWrkScript(script, bearerGet, tokens);
    const capacityRun = await runWrk(children, wrkPath, started.bare.url, script, { threads: 1, connections: 50, durationSeconds: settings.capacitySeconds, ...(pinned ? { cpus: LOAD_CPU } : {}) });
    const capacity = capacityRun.figures.requestsPerSecond;
    log(`bare proxy capacity (wrk -t1 -c50, ${settings.capacitySeconds} s): ${Math.round(capacity)} req/s`);

    const results = new Map<number, Array<Record<Row, OpenLoopResult>>>(settings.loads.map((load) => [load, []]));
    for (let round = 1; round <= settings.rounds; round++) {
      for (const load of settings.loads) {
        const rate = Math.round(capacity * load);
        // The order turns every round, so no row always follows the same one.
        const order = ROWS.map((_, index) => ROWS[(index + round) % ROWS.length]!);
        const run = {} as Record<Row, OpenLoopResult>;
        for (const row of order) {
          const common = { port: portOf(row), rate, connections: settings.connections, tokens };
          if (settings.warmupSeconds > 0) await runOpenLoop({ ...common, durationMs: settings.warmupSeconds * 1000 });
          run[row] = await runOpenLoop({ ...common, durationMs: settings.durationSeconds * 1000 });
          const result = run[row];
          log(`round ${round}/${settings.rounds} ${Math.round(load * 100)} % (${rate} req/s) ${row}: p50 ${ms(result.latencyMs.p50)} p99 ${ms(result.latencyMs.p99)} p99.9 ${ms(result.latencyMs.p999)} max ${ms(result.latencyMs.max)} ms, `
            + `sent ${Math.round(result.sentPerSecond)}/s, generator cpu ${(result.generatorCpuShare * 100).toFixed(0)} %${result.errors > 0 ? `, ${result.errors} FAILED` : ''}`);
        }
        results.get(load)!.push(run);
      }
    }

    const lines = [`bare proxy capacity: ${Math.round(capacity)} req/s${pinned ? ' (servers pinned to one CPU, load to another)' : ' (unpinned)'}; ${settings.rounds} rounds of ${settings.durationSeconds} s per row and load, ${settings.connections} connections, ${settings.keyCount} keys`,
      'added latency in ms: median over rounds of (row − bare) in the same round [min … max]'];
    for (const [load, runs] of results) {
      lines.push(`${Math.round(load * 100)} % of capacity (${Math.round(capacity * load)} req/s):`);
      lines.push(formatAdded('portcullis − bare', runs, 'portcullis', 'bare'));
      lines.push(formatAdded('bare-again − bare (A/A)', runs, 'bare-again', 'bare'));
      for (const row of ROWS) {
        const figure = (percentile: Percentile) => ms(median(runs.map((run) => run[row].latencyMs[percentile])));
        lines.push(`    ${row.padEnd(12)} p50 ${figure('p50')}  p99 ${figure('p99')}  p99.9 ${figure('p999')} ms (median over rounds)`);
      }
    }
    const failed = [...results.values()].flat().some((run) => ROWS.some((row) => run[row].errors > 0));
    if (failed) lines.push('WARNING: some requests failed; those runs do not measure the happy path.');
    process.stdout.write(`\n${lines.join('\n')}\n`);

    const resultsDir = join(repoRoot, '.bench');
    await mkdir(resultsDir, { recursive: true });
    const path = join(resultsDir, `latency-${startedAt.toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`);
    await writeFile(path, `${JSON.stringify({ startedAt, finishedAt: new Date(), environment: { node: process.version, cpus: cpus().length, loadAverage: loadavg() }, settings, pinned, capacity, results: Object.fromEntries(results) }, null, 2)}\n`);
    log(`\nraw results: ${path}`);
    return failed ? 1 : 0;
  } finally {
    await children.stopAll();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(error instanceof BenchUsageError ? error.message : `bench:latency failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exitCode = error instanceof BenchUsageError ? 2 : 1;
  },
);
