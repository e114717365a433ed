/**
 * `npm run bench:shared-core`: compares two rows (default `bare` and `portcullis`) by running
 * them at the same time on one shared CPU. Both servers are pinned to CPU 0, the upstream and
 * both wrk processes to CPU 1, and each row gets its own wrk for the same seconds. The kernel
 * then splits CPU 0 between the two servers in the same instants, so whatever the machine is
 * doing hits both alike, and the ratio of their req/s (and of their CPU time per request)
 * says how much work each request costs one against the other.
 *
 * Why a second method: `npm run bench` measures each row alone, as the targets are stated,
 * but on a shared VM the speed of one CPU second moves by 20–40 % between rounds seconds
 * apart, and so does a ratio of rows measured one after the other. Here the per-round ratios
 * stay within a few percent of each other. It is not the same quantity as req/s alone (each
 * server has half a core, not a whole one), so the docs report both and never one in place of
 * the other. Every round starts both servers afresh (their JIT state differs per process).
 *
 * Usage: npm run bench:shared-core
 *        BENCH_PAIR=portcullis,ratelimit-memory BENCH_ROUNDS=12 npm run bench:shared-core
 * Env: BENCH_PAIR (baseline,target), BENCH_ROUNDS (8), BENCH_DURATION (4 s), BENCH_WARMUP
 * (5 s), BENCH_CONNECTIONS (50 per wrk), BENCH_KEYS (1000), BENCH_REQUEST_KEYS (100).
 * BENCH_PAIR=portcullis-other,portcullis with BENCH_OTHER_CHECKOUT=<root> compares another
 * checkout's Portcullis (say, the previous commit in a `git worktree`) with this one.
 * BENCH_PERF=<dir> also records both servers with `perf record -e cpu-clock -g` during every
 * measured window (the servers run with --perf-basic-prof-only-functions, so JavaScript frames
 * have names) and writes `round-N.data` and `round-N.json` there, for bench/perf-attribution.ts.
 * Needs Linux with at least 2 CPUs, `taskset` (util-linux) and wrk; BENCH_PERF needs `perf`.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ChildProcesses, spawnPeer } from './child-processes.ts';
import { LOAD_CPU, SERVER_CPU, pin, pinningUnavailable } from './cpu-pinning.ts';
import { processTreeCpuMs } from './process-cpu.ts';
import { median } from './report.ts';
import { targets, type BenchContext, type StartedTarget, type TargetDefinition } from './targets.ts';
import { findWrk, runWrk, writeWrkScript } from './wrk.ts';
import { errorCount } from './wrk-output.ts';
import { BenchUsageError, envNumber } from './bench-env.ts';


function pickPair(): [TargetDefinition, TargetDefinition] {
  const names = (process.env['BENCH_PAIR'] ?? 'bare,portcullis').split(',').map((name) => name.trim());
  const rows = names.map((name) => targets.find((target) => target.name === name));
  if (rows.length !== 2 || rows.some((row) => row === undefined)) {
    throw new Error(`BENCH_PAIR must name two rows, baseline first (known: ${targets.map((target) => target.name).join(', ')})`);
  }
  if (names.includes('portcullis-other') && !process.env['BENCH_OTHER_CHECKOUT']?.trim()) {
    throw new BenchUsageError('portcullis-other needs BENCH_OTHER_CHECKOUT=<root of another checkout, with node_modules>');
  }
  const [baseline, target] = rows as [TargetDefinition, TargetDefinition];
  if (baseline.name === 'direct' || target.name === 'direct') throw new Error('BENCH_PAIR: `direct` is the upstream itself, which runs on the load CPU here');
  // Pinning covers the threads a server has when it is pinned; worker processes forked by a
  // supervisor would escape it, and two processes per row would not share the CPU one to one.
  if ([baseline, target].some((row) => row.name.startsWith('workers'))) throw new Error('BENCH_PAIR: the workers rows run several processes; compare single-process rows here');
  // wrk would reach an HTTP/2 row over HTTP/1.1 (allowHTTP1) and measure the wrong protocol.
  if ([baseline, target].some((row) => row.loadGenerator === 'h2load')) throw new BenchUsageError('BENCH_PAIR: the HTTP/2 rows are driven by h2load, which only npm run bench runs');
  return [baseline, target];
}

/** Busy and total jiffies of one CPU, from /proc/stat. */
function cpuJiffies(cpu: string): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((entry) => entry.startsWith(`cpu${cpu} `));
  if (line === undefined) throw new Error(`/proc/stat has no line for CPU ${cpu}`);
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  const total = fields.slice(0, 8).reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

/**
 * Starts `perf record` on the servers for `seconds`; resolves when it has written its file.
 * cpu-clock, not cycles: it works on VMs without hardware counters.
 */
function recordPerf(pids: readonly number[], seconds: number, output: string): Promise<void> {
  const perf = spawn('perf', ['record', '-e', 'cpu-clock', '-g', '-o', output, '-p', pids.join(','), '--', 'sleep', String(seconds)], { stdio: 'ignore' });
  return new Promise((resolve, reject) => {
    perf.once('error', reject);
    perf.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`perf record exited with ${code}`))));
  });
}

interface Measured {
  requests: number;
  requestsPerSecond: number;
  cpuUsPerRequest: number;
  errors: number;
}

async function main(): Promise<void> {
  const unavailable = pinningUnavailable();
  if (unavailable !== null) throw new Error(unavailable);
  const wrkPath = findWrk();
  if (wrkPath === null) throw new Error('wrk is not installed (apt-get install wrk)');
  const pair = pickPair();
  const rounds = envNumber('BENCH_ROUNDS', 8, { integer: true });
  const perfDir = process.env['BENCH_PERF']?.trim() || null;
  if (perfDir !== null) {
    try {
      execFileSync('perf', ['--version'], { stdio: 'ignore' });
    } catch {
      throw new BenchUsageError('BENCH_PERF needs perf (apt-get install linux-perf)');
    }
    mkdirSync(perfDir, { recursive: true });
    // Inherited by every Node.js process this script starts (the servers, and the upstream):
    // perf then names their JavaScript frames.
    process.env['NODE_OPTIONS'] = `${process.env['NODE_OPTIONS'] ?? ''} --perf-basic-prof-only-functions`.trim();
  }
  const durationSeconds = envNumber('BENCH_DURATION', 4, { integer: true });
  const warmupSeconds = envNumber('BENCH_WARMUP', 5, { integer: true });
  const connections = envNumber('BENCH_CONNECTIONS', 50, { integer: true });
  // perf stops a second before wrk does (when the window allows), so it records only steady load.
  const perfSeconds = Math.max(1, durationSeconds - 1);

  const repoRoot = resolve(import.meta.dirname, '..');
  const children = new ChildProcesses();
  const workDir = await mkdtemp(join(tmpdir(), 'portcullis-shared-core-'));
  process.on('exit', () => children.killAllNow());
  try {
    const upstream = await spawnPeer(children, 'upstream', [join(repoRoot, 'bench/peers/upstream.ts'), '0']);
    pin(upstream.child.process.pid!, LOAD_CPU);
    const seededStorePath = join(workDir, 'seed.db');
    const { seedKeyStore, spreadPick } = await import('./seed-key-store.ts');
    const keys = await seedKeyStore(seededStorePath, envNumber('BENCH_KEYS', 1000, { integer: true }));
    // The same keys `npm run bench` picks: spread over the store.
    const tokens = spreadPick(keys, envNumber('BENCH_REQUEST_KEYS', 100, { integer: true }));
    const context: BenchContext = { children, repoRoot, workDir, upstreamOrigin: `http://127.0.0.1:${upstream.port}`, upstreamPid: upstream.child.process.pid!, seededStorePath, tokens, loopDelayDir: null };
    const scripts = await Promise.all(pair.map(async (row) => {
      const script = join(workDir, `${row.name}.lua`);
      await writeWrkScript(script, row.request, tokens);
      return script;
    }));

    /** Both rows under load at once, each from its own wrk; CPU time read around the run. */
    const loadBoth = async (started: StartedTarget[], seconds: number): Promise<Measured[]> => {
      const before = started.map((row) => processTreeCpuMs(row.pid));
      const runs = await Promise.all(started.map((row, index) => runWrk(children, wrkPath, row.url, scripts[index]!, { threads: 1, connections, durationSeconds: seconds, cpus: LOAD_CPU })));
      return runs.map(({ figures }, index) => {
        const cpuMs = (processTreeCpuMs(started[index]!.pid) ?? Number.NaN) - (before[index] ?? Number.NaN);
        return { requests: figures.requests, requestsPerSecond: figures.requestsPerSecond, cpuUsPerRequest: (cpuMs * 1000) / figures.requests, errors: errorCount(figures) };
      });
    };

    process.stderr.write(`shared core: ${pair[0].name} and ${pair[1].name} pinned to CPU ${SERVER_CPU}, upstream and wrk -c${connections} ×2 on CPU ${LOAD_CPU}; `
      + `${rounds} rounds of ${durationSeconds} s, fresh processes and ${warmupSeconds} s of warm-up each\n`);
    const requestRatios: number[] = [];
    const cpuRatios: number[] = [];
    let errors = 0;
    let saturatedRounds = 0;
    for (let round = 1; round <= rounds; round++) {
      const started: StartedTarget[] = [];
      for (const row of pair) {
        const server = await row.start(context);
        pin(server.pid, SERVER_CPU);
        started.push(server);
      }
      await loadBoth(started, warmupSeconds);
      const loadCpuBefore = cpuJiffies(LOAD_CPU);
      const recording = perfDir === null ? null : recordPerf(started.map((server) => server.pid), perfSeconds, join(perfDir, `round-${round}.data`));
      const [base, target] = await loadBoth(started, durationSeconds) as [Measured, Measured];
      if (perfDir !== null) {
        await recording;
        // Requests scaled to perf's window, so attribution per request is right.
        const rows = [base, target].map((measured, index) => ({ name: pair[index]!.name, pid: started[index]!.pid, requests: Math.round((measured.requests * perfSeconds) / durationSeconds) }));
        writeFileSync(join(perfDir, `round-${round}.json`), `${JSON.stringify({ rows }, null, 2)}\n`);
      }
      const loadCpuAfter = cpuJiffies(LOAD_CPU);
      const loadCpuBusy = (loadCpuAfter.busy - loadCpuBefore.busy) / (loadCpuAfter.total - loadCpuBefore.total);
      errors += base.errors + target.errors;
      requestRatios.push(target.requestsPerSecond / base.requestsPerSecond);
      cpuRatios.push(target.cpuUsPerRequest / base.cpuUsPerRequest);
      process.stderr.write(`round ${round}/${rounds}: ${pair[0].name} ${Math.round(base.requestsPerSecond)} req/s ${base.cpuUsPerRequest.toFixed(1)} µs cpu/req | `
        + `${pair[1].name} ${Math.round(target.requestsPerSecond)} req/s ${target.cpuUsPerRequest.toFixed(1)} µs cpu/req | `
        + `ratio req/s ${requestRatios.at(-1)!.toFixed(3)}, cpu/req ${cpuRatios.at(-1)!.toFixed(3)}; load CPU ${Math.round(loadCpuBusy * 100)} % busy\n`);
      // The servers must be what limits the rate; a saturated load CPU would cap both alike.
      if (loadCpuBusy > 0.95) saturatedRounds++;
      for (const server of started) await children.stopPid(server.pid);
    }
    const spread = (values: number[]) => `${Math.min(...values).toFixed(3)}–${Math.max(...values).toFixed(3)}`;
    process.stdout.write(`\n${pair[1].name} / ${pair[0].name}, sharing one CPU (median of ${rounds} rounds): `
      + `req/s ${median(requestRatios).toFixed(3)} (rounds ${spread(requestRatios)}), cpu/req ${median(cpuRatios).toFixed(3)} (rounds ${spread(cpuRatios)})`
      + `${errors > 0 ? `, ${errors} FAILED requests` : ''}; load average ${loadavg()[0]?.toFixed(1)}\n`);
    if (saturatedRounds > 0) process.stdout.write(`WARNING: in ${saturatedRounds} of ${rounds} rounds the load CPU was over 95 % busy, so wrk or the upstream, not the servers, may have set the pace\n`);
    if (perfDir !== null) {
      process.stdout.write(`perf data in ${perfDir}; for each round: perf script -i ${perfDir}/round-1.data -F comm,pid,tid,ip,sym | node bench/perf-attribution.ts ${perfDir}/round-1.json\n`);
    }
    if (errors > 0) process.exitCode = 1;
  } finally {
    await children.stopAll();
    await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof BenchUsageError ? 2 : 1;
});
