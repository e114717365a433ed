/**
 * Instructions per request, counted by `valgrind --tool=callgrind`: a figure that does not move
 * with the load of a shared machine, unlike req/s and CPU time (see docs/benchmarks.md). For
 * each row it starts the server under callgrind with counting off, warms it up with
 * `INSTR_WARMUP` requests, counts only while `INSTR_REQUESTS` more are served, and divides the
 * main thread's instructions by that number. Background threads (the JIT compiler, GC helpers)
 * are reported apart: they are mostly compilation still going on, which a long run amortises.
 *
 * Usage: npm run bench:instructions          (rows: bare, portcullis, ratelimit-memory)
 *        INSTR_ONLY=bare,portcullis,key-auth-only,anomaly npm run bench:instructions
 *        INSTR_ONLY=bare,portcullis INSTR_REQUESTS=8000 npm run bench:instructions
 *        INSTR_KEEP=/tmp/cg npm run bench:instructions   (keeps the callgrind files there, for
 *        callgrind_annotate or kcachegrind; the main thread's file ends in -01)
 *
 * Needs valgrind (`apt-get install valgrind`). A row takes a minute or two: the server runs
 * 20–50 times slower under valgrind. Periodic work (change-feed polls, usage flushes) is slowed
 * down to once a minute, since under valgrind it would be charged to far fewer requests than in
 * real time. Counts still vary by a few percent between runs of the same build, as V8 decides
 * what to optimise and inline on timing; compare rows of one run, and repeat a run to see it.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Pool } from 'undici';
import { ChildProcesses, delay, spawnPeer } from './child-processes.ts';
import { freePort } from './portcullis-process.ts';
import { seedKeyStore } from './seed-key-store.ts';
import { BenchUsageError, envNumber } from './bench-env.ts';
import { ANOMALY_ENV, KEY_AUTH_ONLY_ENV } from './targets.ts';

interface Row {
  name: string;
  /** Arguments after `node`, given the upstream origin, the port and a store path. */
  args(upstream: string, port: number, store: string): string[];
  env?: Readonly<Record<string, string>>;
  /** Counted only when INSTR_ONLY names it. */
  optional?: boolean;
}

const repoRoot = resolve(import.meta.dirname, '..');
const serve = (upstream: string, port: number, store: string) => [
  join(repoRoot, 'src/cli/main.js'), 'serve', '--listen', `127.0.0.1:${port}`, '--upstream', upstream, '--store', store,
];
const rows: Row[] = [
  { name: 'bare', args: (upstream, port) => [join(repoRoot, 'bench/peers/bare-proxy.ts'), String(port), upstream] },
  { name: 'portcullis', args: serve },
  { name: 'ratelimit-memory', args: serve, env: { PORTCULLIS_LIMITS_KEY_RATE: '1000000/s' } },
  // As the rows of `npm run bench` of the same names; counted only when INSTR_ONLY names them.
  { name: 'key-auth-only', args: serve, env: KEY_AUTH_ONLY_ENV, optional: true },
  { name: 'anomaly', args: serve, env: ANOMALY_ENV, optional: true },
];

/** `count` GETs over `connections` keep-alive connections, rotating the keys; throws on anything but 200. */
async function send(url: string, tokens: readonly string[], total: number, connections: number): Promise<void> {
  const pool = new Pool(url, { connections, pipelining: 1 });
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const index = next++;
      const { statusCode, body } = await pool.request({ path: '/', method: 'GET', headers: { authorization: `Bearer ${tokens[index % tokens.length]}` } });
      await body.dump();
      if (statusCode !== 200) throw new Error(`request ${index} answered ${statusCode}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    await pool.close();
  }
}

/** Instructions in one callgrind output file (its `totals:` line). */
function totalOf(file: string): number {
  const match = /^totals: (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (match === null) throw new Error(`${file} has no totals line`);
  return Number(match[1]);
}

async function measure(row: Row, context: { upstream: string; seeded: string; workDir: string; tokens: string[]; warmup: number; requests: number }): Promise<{ main: number; background: number }> {
  const children = new ChildProcesses();
  const port = await freePort();
  const store = join(context.workDir, `${row.name}.db`);
  copyFileSync(context.seeded, store);
  const out = join(context.workDir, `${row.name}.callgrind`);
  const child = children.spawn(row.name, 'valgrind', [
    '--tool=callgrind', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${out}`,
    process.execPath, ...row.args(context.upstream, port, store),
  ], {
    cwd: context.workDir,
    env: {
      PORTCULLIS_LOG_LEVEL: 'warn', PORTCULLIS_ADMIN_LISTEN: '',
      PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '60s', PORTCULLIS_CHANGE_FEED_STALE_FOR: '10m', PORTCULLIS_USAGE_FLUSH_INTERVAL: '10m',
      ...row.env,
    },
  });
  try {
    const url = `http://127.0.0.1:${port}`;
    for (let attempt = 0; ; attempt++) {
      try {
        await send(url, context.tokens, 1, 1);
        break;
      } catch (error) {
        if (attempt > 600 || child.process.exitCode !== null) throw new Error(`${row.name} did not start: ${String(error)}\n${child.stderr()}`);
        await delay(200);
      }
    }
    await send(url, context.tokens, context.warmup, 20);
    const requests = context.requests;
    const pid = String(child.process.pid);
    execFileSync('callgrind_control', ['--instr=on', pid], { stdio: 'ignore' });
    await send(url, context.tokens, requests, 20);
    execFileSync('callgrind_control', ['--instr=off', pid], { stdio: 'ignore' });
    // Callgrind writes its counts when the process exits: give a slow, instrumented shutdown time.
    await children.stop(child, 120_000);
    const files = readdirSync(context.workDir).filter((file) => file.startsWith(`${row.name}.callgrind-`)).map((file) => join(context.workDir, file));
    const main = files.find((file) => file.endsWith('-01'));
    if (main === undefined) throw new Error(`no main-thread output for ${row.name}`);
    const all = files.reduce((sum, file) => sum + totalOf(file), 0);
    return { main: totalOf(main) / requests, background: (all - totalOf(main)) / requests };
  } finally {
    await children.stopAll();
  }
}

async function main(): Promise<void> {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error('valgrind is not installed (apt-get install valgrind)');
  }
  const warmup = envNumber('INSTR_WARMUP', 20_000, { integer: true });
  const requests = envNumber('INSTR_REQUESTS', 4_000, { integer: true });
  const only = process.env['INSTR_ONLY']?.split(',').map((name) => name.trim()).filter(Boolean);
  const selected = only === undefined ? rows.filter((row) => row.optional !== true) : rows.filter((row) => only.includes(row.name));
  if (selected.length === 0) throw new Error(`INSTR_ONLY names no known row (known: ${rows.map((row) => row.name).join(', ')})`);
  const workDir = await mkdtemp(join(tmpdir(), 'portcullis-instructions-'));
  const children = new ChildProcesses();
  try {
    const upstream = await spawnPeer(children, 'upstream', [join(repoRoot, 'bench/peers/upstream.ts'), '0']);
    const seeded = join(workDir, 'seed.db');
    const tokens = (await seedKeyStore(seeded, 1000)).slice(0, 100);
    const results: Array<[string, { main: number; background: number }]> = [];
    for (const row of selected) {
      process.stderr.write(`counting ${row.name} …\n`);
      results.push([row.name, await measure(row, { upstream: `http://127.0.0.1:${upstream.port}`, seeded, workDir, tokens, warmup, requests })]);
    }
    const baseline = results.find(([name]) => name === 'bare')?.[1].main;
    process.stdout.write('row                 main thread / request   background / request   main / bare\n');
    for (const [name, { main, background }] of results) {
      const ratio = baseline === undefined ? '' : (main / baseline).toFixed(3);
      process.stdout.write(`${name.padEnd(18)}  ${Math.round(main).toLocaleString('en-US').padStart(21)}  ${Math.round(background).toLocaleString('en-US').padStart(21)}   ${ratio}\n`);
    }
  } finally {
    await children.stopAll();
    const keep = process.env['INSTR_KEEP'];
    if (keep !== undefined && keep !== '') {
      await mkdir(keep, { recursive: true });
      for (const file of readdirSync(workDir).filter((name) => name.includes('.callgrind-'))) copyFileSync(join(workDir, file), join(keep, file));
      process.stderr.write(`callgrind files kept in ${keep}\n`);
    }
    await rm(workDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = error instanceof BenchUsageError ? 2 : 1;
});
