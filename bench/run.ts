/**
 * `npm run bench`: measures, in one run, the upstream direct, a bare undici
 * proxy (the Node.js limit) and Portcullis, with wrk (h2load for the HTTP/2 rows,
 * h2load.ts). Proxy rows run in
 * interleaved rounds and each figure is the median over the rounds, so a
 * noisy neighbour on a shared machine hurts every row alike.
 *
 * Env: BENCH_DURATION (s, default 10), BENCH_WARMUP (s, 2), BENCH_ROUNDS (3), BENCH_SLICES (5),
 * BENCH_CONNECTIONS (50), BENCH_THREADS (1), BENCH_KEYS (1000),
 * BENCH_REQUEST_KEYS (100), BENCH_ONLY (comma-separated row names), BENCH_LOOP_DELAY (1: each
 * server's own event-loop delay, bench/loop-delay-probe.ts), BENCH_LIST_RATE (the least req/s the
 * request lists of the `dpop` and `signed-requests` rows are sized for; 0: the fastest rate seen).
 * See bench/README.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ChildProcesses, spawnPeer } from './child-processes.ts';
import { LOAD_CPU, SERVER_CPU, pin, pinningUnavailable } from './cpu-pinning.ts';
import { combineSlices, formatReport, ratios, summariseRow } from './report.ts';
import type { RoundResult, RowSummary } from './report.ts';
import { processTreeCpuMs } from './process-cpu.ts';
import { targets } from './targets.ts';
import type { BenchContext, TargetDefinition } from './targets.ts';
import { findWrk, requestListSize, runWrk, writeWrkScript } from './wrk.ts';
import type { WrkSettings } from './wrk.ts';
import { errorCount } from './wrk-output.ts';
import { findH2load, runH2load } from './h2load.ts';
import { BenchUsageError, envFlag, envNumber } from './bench-env.ts';
import { markLoopDelay } from './loop-delay.ts';

interface Settings {
  durationSeconds: number;
  warmupSeconds: number;
  rounds: number;
  /** Turns a round's measured time is split into, taking the rows in rotation (BENCH_SLICES). */
  slices: number;
  connections: number;
  threads: number;
  keyCount: number;
  requestKeyCount: number;
  only: string[] | null;
  /** Start every row's server afresh for each round (BENCH_FRESH, default on). */
  fresh: boolean;
  /** Measure each server's own event-loop delay (BENCH_LOOP_DELAY, default on). */
  loopDelay: boolean;
  /** The least req/s the request lists are sized for (BENCH_LIST_RATE, default 0: the fastest rate seen in the run). */
  listMinRate: number;
  /** Servers under test on CPU 0, wrk and the upstream on CPU 1 (BENCH_PIN, default off). */
  pin: boolean;
}

function readSettings(): Settings {
  const only = process.env['BENCH_ONLY'];
  return {
    durationSeconds: envNumber('BENCH_DURATION', 10, { integer: true }),
    warmupSeconds: envNumber('BENCH_WARMUP', 2, { integer: true, allowZero: true }),
    rounds: envNumber('BENCH_ROUNDS', 3, { integer: true }),
    slices: envNumber('BENCH_SLICES', 5, { integer: true }),
    connections: envNumber('BENCH_CONNECTIONS', 50, { integer: true }),
    threads: envNumber('BENCH_THREADS', 1, { integer: true }),
    keyCount: envNumber('BENCH_KEYS', 1000, { integer: true }),
    requestKeyCount: envNumber('BENCH_REQUEST_KEYS', 100, { integer: true }),
    only: only === undefined || only.trim() === '' ? null : only.split(',').map((name) => name.trim()).filter(Boolean),
    fresh: envFlag('BENCH_FRESH', true),
    loopDelay: envFlag('BENCH_LOOP_DELAY', true),
    listMinRate: envNumber('BENCH_LIST_RATE', 0, { allowZero: true }),
    pin: envFlag('BENCH_PIN', false),
  };
}


interface RunningTarget {
  target: TargetDefinition;
  url: string;
  pid: number;
  ownsProcess: boolean;
  script: string;
  rounds: RoundResult[];
  /** wrk's text report for each round, kept in the JSON results. */
  reports: string[];
  /** The request list a `headerList` row's script reads (written anew before each run of wrk); null for other rows. */
  listPath: string | null;
}

/** Req/s a request list is sized for before any run of wrk has shown a rate. */
const FIRST_LIST_RATE = 10_000;

/** Set on SIGINT/SIGTERM: the signal handler cleans up and exits; nothing else should report. */
let interrupted = false;

function selectTargets(only: string[] | null): TargetDefinition[] {
  if (only === null) return targets.filter((target) => target.onlyWhenNamed !== true);
  const known = new Set(targets.map((target) => target.name));
  const unknown = only.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new BenchUsageError(`BENCH_ONLY names unknown rows: ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  }
  return targets.filter((target) => only.includes(target.name));
}

/** Stand-in tokens for runs without a key store: as long as real keys (`pcl_` + 49 digits), not valid. */
function standInTokens(count: number): string[] {
  return Array.from({ length: count }, () => `pcl_${randomBytes(25).toString('hex').slice(0, 49)}`);
}

function h2loadVersion(h2loadPath: string): string {
  try {
    return execFileSync(h2loadPath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!;
  } catch {
    return 'unknown';
  }
}

function wrkVersion(wrkPath: string): string {
  try {
    // `wrk --version` prints its version, then usage, and exits 1.
    return execFileSync(wrkPath, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!;
  } catch (error) {
    const output = (error as { stdout?: string }).stdout ?? '';
    return output.split('\n')[0] ?? 'unknown';
  }
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function describeRound({ figures, serverCpuUsPerRequest, loopDelay }: RoundResult): string {
  const errors = errorCount(figures);
  return `${Math.round(figures.requestsPerSecond)} req/s, p50 ${figures.latencyMs.p50.toFixed(2)} ms, p99 ${figures.latencyMs.p99.toFixed(2)} ms`
    + (serverCpuUsPerRequest === null ? '' : `, ${serverCpuUsPerRequest.toFixed(1)} µs cpu/req`)
    + (loopDelay === null || loopDelay === undefined ? '' : `, loop p99 ${loopDelay.p99Ms.toFixed(2)} ms max ${loopDelay.maxMs.toFixed(2)} ms (on CPU ${loopDelay.onCpuMaxMs.toFixed(2)} ms)`)
    + (errors > 0 ? `, ${errors} FAILED` : '');
}

async function main(): Promise<number> {
  const settings = readSettings();
  let selected = selectTargets(settings.only);
  if (settings.pin) {
    const unavailable = pinningUnavailable();
    if (unavailable !== null) throw new BenchUsageError(`BENCH_PIN=1: ${unavailable}`);
    // A supervisor's forked workers would escape the pinning; `direct` is the upstream, which runs on the load CPU.
    const unpinnable = selected.filter((target) => target.name === 'direct' || target.name.startsWith('workers'));
    if (unpinnable.length > 0) throw new BenchUsageError(`BENCH_PIN=1 cannot pin these rows: ${unpinnable.map((target) => target.name).join(', ')}`);
  }
  const wrkPath = findWrk();
  if (wrkPath === null) {
    log('wrk is not installed (or not on PATH). Install it with: sudo apt-get install wrk');
    return 1;
  }
  // The HTTP/2 rows need h2load (wrk speaks HTTP/1.1 only); without it they are left out.
  const h2loadPath = findH2load();
  const needH2load = selected.filter((target) => target.loadGenerator === 'h2load');
  if (h2loadPath === null && needH2load.length > 0) {
    log(`h2load is not installed (or not on PATH): skipping ${needH2load.map((target) => target.name).join(', ')}. Install it with: sudo apt-get install nghttp2-client`);
    selected = selected.filter((target) => target.loadGenerator !== 'h2load');
    if (selected.length === 0) return 1;
  }

  const repoRoot = resolve(import.meta.dirname, '..');
  const children = new ChildProcesses();
  const workDir = await mkdtemp(join(tmpdir(), 'portcullis-bench-'));
  const cleanUp = async () => {
    await children.stopAll();
    await rm(workDir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    log(`\n${signal}: stopping every child process`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => children.killAllNow());

  // Within a round every row is measured in turns of a few seconds (BENCH_SLICES), so rows
  // compared with each other share the same minutes of a machine whose speed drifts; a whole
  // row measured after another would not. wrk takes whole seconds, so the turns are rounded.
  const sliceSeconds = Math.max(1, Math.round(settings.durationSeconds / settings.slices));
  const slices = Math.max(1, Math.round(settings.durationSeconds / sliceSeconds));
  const startedAt = new Date();
  const loadBefore = loadavg();
  try {
    log(`rows: ${selected.map((target) => target.name).join(', ')}; ${settings.rounds} rounds of ${slices} turns of ${sliceSeconds} s per row `
      + `(warm-up ${settings.warmupSeconds} s${settings.fresh ? ', fresh processes every round' : ''}), wrk -t${settings.threads} -c${settings.connections}`
      + (selected.some((target) => target.loadGenerator === 'h2load') ? `, h2load -t${settings.threads} -c${settings.connections} -m1` : ''));

    const upstream = await spawnPeer(children, 'upstream', [join(repoRoot, 'bench/peers/upstream.ts'), '0']);
    const upstreamOrigin = `http://127.0.0.1:${upstream.port}`;
    const upstreamPid = upstream.child.process.pid!;
    if (settings.pin) {
      pin(upstreamPid, LOAD_CPU);
      pin(process.pid, LOAD_CPU);
    }

    let seededStorePath: string | null = null;
    let tokens: string[];
    if (selected.some((target) => target.needsKeyStore)) {
      seededStorePath = join(workDir, 'seed.db');
      log(`seeding ${settings.keyCount} keys into a fresh store`);
      // Loaded only here, so the baseline rows run even before the store exists.
      const { seedKeyStore, spreadPick } = await import('./seed-key-store.ts');
      const keys = await seedKeyStore(seededStorePath, settings.keyCount);
      tokens = spreadPick(keys, settings.requestKeyCount);
    } else {
      tokens = standInTokens(settings.requestKeyCount);
    }

    const loopDelayDir = settings.loopDelay ? join(workDir, 'loop-delay') : null;
    const context: BenchContext = { children, repoRoot, workDir, upstreamOrigin, upstreamPid, seededStorePath, tokens, loopDelayDir };
    const wrkSettings: WrkSettings = { threads: settings.threads, connections: settings.connections, durationSeconds: settings.durationSeconds, ...(settings.pin ? { cpus: LOAD_CPU } : {}) };
    const running: RunningTarget[] = [];
    for (const target of selected) {
      log(`starting ${target.name}`);
      const { url, pid, ownsProcess = false } = await target.start(context);
      if (settings.pin && ownsProcess) pin(pid, SERVER_CPU);
      const script = join(workDir, `${target.name}.lua`);
      const listPath = target.requestList === undefined ? null : join(workDir, `${target.name}.requests`);
      if (target.loadGenerator !== 'h2load') await writeWrkScript(script, target.request, tokens, listPath === null ? undefined : { path: listPath, threads: settings.threads });
      running.push({ target, url, pid, ownsProcess, script, rounds: [], reports: [], listPath });
    }

    // Each Node.js process settles into its own JIT state (which functions get inlined where),
    // and that alone moves a row by several percent for the life of the process. A fresh process
    // per round turns that into round-to-round noise, which the medians then discount.
    const restart = async (row: RunningTarget): Promise<void> => {
      if (!row.ownsProcess) return;
      await children.stopPid(row.pid);
      const { url, pid } = await row.target.start(context);
      if (settings.pin) pin(pid, SERVER_CPU);
      row.url = url;
      row.pid = pid;
    };

    // The highest req/s of any run of wrk so far without failures, to size the request lists.
    let fastestRate: number | null = null;
    const measure = async (row: RunningTarget, durationSeconds: number): Promise<{ result: RoundResult; report: string }> => {
      // Only rows whose server the run started carry the probe (not `direct`'s shared upstream).
      const probed = loopDelayDir !== null && row.ownsProcess;
      if (row.listPath !== null) {
        // Requests that may each be sent once, made now: as many as this run of wrk could send at the
        // fastest rate any row has shown (a bound, as no row beats the bare proxy), with room to spare.
        const rate = Math.max(fastestRate ?? FIRST_LIST_RATE, settings.listMinRate);
        await row.target.requestList!.write(row.listPath, requestListSize(rate, durationSeconds, settings.connections));
      }
      if (probed) await markLoopDelay(loopDelayDir, row.pid);
      const cpuBefore = processTreeCpuMs(row.pid);
      let cpuAfter: number | null | undefined;
      const { figures, report } = row.target.loadGenerator === 'h2load'
        // Read when the measured time ends: h2load then waits for the server to close its
        // connections, work that is no request's.
        ? await runH2load(children, h2loadPath!, row.url, row.target.request, tokens, { ...wrkSettings, durationSeconds, logPath: join(workDir, `${row.target.name}.h2load.log`), onMeasuredTimeOver: () => (cpuAfter = processTreeCpuMs(row.pid)) })
        : await runWrk(children, wrkPath, row.url, row.script, { ...wrkSettings, durationSeconds });
      cpuAfter ??= processTreeCpuMs(row.pid);
      const loopDelay = probed ? await markLoopDelay(loopDelayDir, row.pid) : null;
      if (errorCount(figures) === 0) fastestRate = Math.max(fastestRate ?? 0, figures.requestsPerSecond);
      const serverCpuUsPerRequest = cpuBefore === null || cpuAfter === null || figures.requests === 0
        ? null
        : ((cpuAfter - cpuBefore) * 1000) / figures.requests;
      return { result: { figures, serverCpuUsPerRequest, loopDelay }, report };
    };

    const warmUp = async (row: RunningTarget): Promise<void> => {
      if (settings.warmupSeconds === 0) return;
      const { result } = await measure(row, settings.warmupSeconds);
      log(`warm-up ${row.target.name}: ${describeRound(result)}`);
    };

    if (!settings.fresh) for (const row of running) await warmUp(row);

    for (let round = 1; round <= settings.rounds; round++) {
      if (settings.fresh) {
        for (const row of running) if (round > 1) await restart(row);
        for (const row of running) await warmUp(row);
      }
      const measured = new Map<RunningTarget, RoundResult[]>(running.map((row) => [row, []]));
      for (let slice = 0; slice < slices; slice++) {
        for (let turn = 0; turn < running.length; turn++) {
          const row = running[(slice + turn) % running.length]!;
          const { result, report } = await measure(row, sliceSeconds);
          measured.get(row)!.push(result);
          row.reports.push(report);
        }
      }
      for (const row of running) {
        const result = combineSlices(measured.get(row)!);
        row.rounds.push(result);
        log(`round ${round}/${settings.rounds} ${row.target.name}: ${describeRound(result)}`);
      }
    }

    const rows: RowSummary[] = running.map((row) => summariseRow(row.target, row.rounds));
    const rowRatios = ratios(rows);
    process.stdout.write(`\n${formatReport(rows, rowRatios)}\n`);

    const resultsDir = join(repoRoot, '.bench');
    await mkdir(resultsDir, { recursive: true });
    const resultsPath = join(resultsDir, `results-${startedAt.toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`);
    await writeFile(resultsPath, `${JSON.stringify({
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      environment: {
        node: process.version,
        wrk: wrkVersion(wrkPath),
        ...(selected.some((target) => target.loadGenerator === 'h2load') ? { h2load: h2loadVersion(h2loadPath!) } : {}),
        cpus: cpus().length,
        cpuModel: cpus()[0]?.model ?? 'unknown',
        loadAverageBefore: loadBefore,
        loadAverageAfter: loadavg(),
      },
      settings,
      rows: rows.map((row, index) => ({ ...row, url: running[index]!.url, reports: running[index]!.reports })),
      ratios: rowRatios,
    }, null, 2)}\n`);
    log(`\nraw results: ${resultsPath}`);
    return rows.some((row) => row.errors > 0) ? 1 : 0;
  } finally {
    if (!interrupted) await cleanUp();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (interrupted) return;
    log(error instanceof BenchUsageError ? error.message : `bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    process.exitCode = error instanceof BenchUsageError ? 2 : 1;
  },
);
