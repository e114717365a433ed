/**
 * `npm run bench:revocation`: how fast a revocation reaches every gateway node.
 *
 * Three gateway processes share one PostgreSQL store (a fresh schema in the database at
 * BENCH_POSTGRES_URL, dropped afterwards). Clients hammer all three nodes with the key about
 * to be revoked; the key is revoked through the real CLI (`portcullis keys revoke --json`,
 * its own process, as an operator would); the delay is from the revocation's timestamp to
 * the first 401 `key_revoked` each node answers. Repeated for BENCH_REVOCATIONS keys, each
 * known to (cached by) every node beforehand.
 *
 * The headline delay starts at the CLI's `revokedAt`, taken just before its transaction
 * starts, so it overstates the time from commit by the transaction itself (three round trips
 * on loopback, more on a loaded machine). A second series starts when the benchmark's own
 * LISTEN connection hears the commit's notification: closer to the commit, but that
 * listener is scheduled like any other process, so a node can beat it (negative samples).
 * Response times are taken when the 401 arrives at the client.
 *
 * Env: BENCH_REVOCATIONS (100), BENCH_NODES (3), BENCH_CLIENTS per node (2),
 * BENCH_POLL_INTERVAL (the gateway default, 50ms), BENCH_POSTGRES_URL
 * (postgres://postgres@127.0.0.1:5432/test). Results: .bench/revocation-<time>.json.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { ChildProcesses, delay, spawnPeer } from './child-processes.ts';
import { summariseLatencies, type LatencySummary } from './latency-summary.ts';
import { freePort, waitUntilServing } from './portcullis-process.ts';
import { openKeyStore } from '../src/store/open-key-store.ts';
import { digestKey } from '../src/keys/key-digest.ts';
import { seedKeyStore } from './seed-key-store.ts';
import { parseDuration } from '../src/http/units.ts';

const runFile = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '..');
const main = join(repoRoot, 'src/cli/main.js');
const perRevocationTimeoutMs = 5000;

function integerSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number >= 1, not ${JSON.stringify(raw)}`);
  return value;
}

const settings = {
  revocations: integerSetting('BENCH_REVOCATIONS', 100),
  nodes: integerSetting('BENCH_NODES', 3),
  clientsPerNode: integerSetting('BENCH_CLIENTS', 2),
  pollInterval: process.env.BENCH_POLL_INTERVAL ?? '50ms',
  postgresUrl: process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
};

/** Wall-clock milliseconds with sub-millisecond resolution (comparable with another process's Date.now()). */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

async function sql(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

interface Target {
  id: string;
  key: string;
  /** Per node: when it first answered 200 for this key, and when it first refused it. */
  servedAt: Array<number | null>;
  refusedAt: Array<number | null>;
  /** When the benchmark's own LISTEN connection heard the commit. */
  committedAt: number | null;
}

/** The benchmark's keys, seeded like `npm run bench` seeds its store, with their ids. */
async function createKeys(storeUrl: string, count: number): Promise<Array<{ id: string; key: string }>> {
  const keys = await seedKeyStore(storeUrl, count);
  const store = await openKeyStore(storeUrl);
  try {
    return await Promise.all(keys.map(async (key) => ({ id: (await store.getKeyByDigest(digestKey(key)))!.id, key })));
  } finally {
    await store.close();
  }
}

async function run(): Promise<number> {
  const pollMs = parseDuration(settings.pollInterval);
  if (pollMs === null) throw new Error(`BENCH_POLL_INTERVAL must be a duration such as 50ms, not ${JSON.stringify(settings.pollInterval)}`);
  const children = new ChildProcesses();
  const workDir = await mkdtemp(join(tmpdir(), 'portcullis-bench-revocation-'));
  const schema = `portcullis_bench_${randomBytes(5).toString('hex')}`;
  const storeUrl = new URL(settings.postgresUrl);
  storeUrl.searchParams.set('options', `-c search_path=${schema}`);
  const pools: Pool[] = [];
  const loadAverageBefore = loadavg();
  let hammering = true;
  process.on('exit', () => children.killAllNow());
  try {
    await sql(settings.postgresUrl, `CREATE SCHEMA ${schema}`);
    log(`${settings.revocations} revocations, ${settings.nodes} gateway nodes on PostgreSQL (schema ${schema}), poll interval ${settings.pollInterval}, ${settings.clientsPerNode} clients per node`);
    const keys = await createKeys(storeUrl.href, settings.revocations);

    const upstream = await spawnPeer(children, 'upstream', [join(repoRoot, 'bench/peers/upstream.ts'), '0']);
    const origins: string[] = [];
    for (let node = 0; node < settings.nodes; node++) {
      const port = await freePort();
      const child = children.spawn(`node-${node + 1}`, process.execPath, [main, 'serve', '--listen', `127.0.0.1:${port}`, '--upstream', `http://127.0.0.1:${upstream.port}`, '--store', storeUrl.href], {
        cwd: workDir,
        env: { PORTCULLIS_LOG_LEVEL: 'warn', PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: settings.pollInterval, PORTCULLIS_ADMIN_LISTEN: '',
          // The clients keep calling with keys that were just revoked: denied traffic, which the
          // per-address limit would throttle (429) and so hide the 401 being measured.
          PORTCULLIS_LIMITS_ADDRESS_RATE: '' },
      });
      await waitUntilServing(child, 'http', port, keys[0]!.key);
      origins.push(`http://127.0.0.1:${port}`);
      pools.push(new Pool(origins[node]!, { connections: settings.clientsPerNode }));
    }

    log('warming every node’s cache with every key');
    for (const { key } of keys) {
      for (const pool of pools) {
        const response = await pool.request({ method: 'GET', path: '/', headers: { authorization: `Bearer ${key}` } });
        await response.body.dump();
        if (response.statusCode !== 200) throw new Error(`warm-up: a node answered ${response.statusCode} for a valid key`);
      }
    }

    let current: Target | null = null;
    let requests = 0;
    const listener = new pg.Client({ connectionString: storeUrl.href });
    await listener.connect();
    listener.on('notification', (message) => {
      if (message.payload === schema && current !== null) current.committedAt ??= wallNow();
    });
    await listener.query('LISTEN portcullis_key_events');
    const hammer = async (node: number) => {
      const pool = pools[node]!;
      while (hammering) {
        const target = current;
        if (target === null) {
          await delay(1);
          continue;
        }
        const response = await pool.request({ method: 'GET', path: '/', headers: { authorization: `Bearer ${target.key}` } });
        const at = wallNow();
        requests++;
        if (response.statusCode === 200) {
          await response.body.dump();
          target.servedAt[node] ??= at;
        } else {
          const code = ((await response.body.json()) as { code?: string }).code;
          if (code !== 'key_revoked') throw new Error(`node ${node + 1} answered ${response.statusCode} ${code}`);
          target.refusedAt[node] ??= at;
        }
      }
    };
    const clients = pools.flatMap((_, node) => Array.from({ length: settings.clientsPerNode }, () => hammer(node)));
    const hammerStartedAt = wallNow();

    const delays: number[][] = Array.from({ length: settings.nodes }, () => []);
    const fromCommit: number[] = [];
    const cliMs: number[] = [];
    const missed: string[] = [];
    for (const [index, { id, key }] of keys.entries()) {
      const target: Target = { id, key, servedAt: origins.map(() => null), refusedAt: origins.map(() => null), committedAt: null };
      current = target;
      while (target.servedAt.some((at) => at === null)) await delay(1);
      const cliStartedAt = wallNow();
      const { stdout } = await runFile(process.execPath, [main, 'keys', 'revoke', id, '--store', storeUrl.href, '--json'], { cwd: workDir });
      cliMs.push(wallNow() - cliStartedAt);
      const revokedAt = Date.parse((JSON.parse(stdout) as Array<{ revokedAt: string }>)[0]!.revokedAt);
      const deadline = wallNow() + perRevocationTimeoutMs;
      while ((target.refusedAt.some((at) => at === null) || target.committedAt === null) && wallNow() < deadline) await delay(1);
      target.refusedAt.forEach((at, node) => {
        if (at === null) missed.push(`${id} on node ${node + 1}`);
        else {
          delays[node]!.push(at - revokedAt);
          if (target.committedAt !== null) fromCommit.push(at - target.committedAt);
        }
      });
      if ((index + 1) % 20 === 0) log(`  ${index + 1}/${keys.length} revoked`);
    }
    current = null;
    hammering = false;
    await Promise.all(clients);
    await listener.end();
    const hammerSeconds = (wallNow() - hammerStartedAt) / 1000;

    const all = summariseLatencies(delays.flat());
    const perNode = delays.map((samples) => summariseLatencies(samples));
    const commitSeries = summariseLatencies(fromCommit);
    const cli = summariseLatencies(cliMs);
    const format = (label: string, summary: LatencySummary) =>
      `  ${label.padEnd(9)}  p50 ${summary.p50.toFixed(1).padStart(6)} ms   p99 ${summary.p99.toFixed(1).padStart(6)} ms   max ${summary.max.toFixed(1).padStart(6)} ms   (${summary.count} samples)`;
    process.stdout.write(
      [
        '',
        `Revocation → first 401 on each node (${settings.revocations} revocations × ${settings.nodes} nodes; LISTEN/NOTIFY + polling every ${settings.pollInterval})`,
        format('all nodes', all),
        ...perNode.map((summary, node) => format(`node ${node + 1}`, summary)),
        'Measured from the commit notification heard by the benchmark’s own LISTEN connection instead:',
        format('all nodes', commitSeries),
        `  (each \`keys revoke\` process took p50 ${cli.p50.toFixed(0)} ms from spawn to exit, Node.js start-up included)`,
        `  load: ${requests} requests in ${hammerSeconds.toFixed(1)} s (${Math.round(requests / hammerSeconds)} req/s over ${settings.nodes * settings.clientsPerNode} client loops)`,
        `  target p99 <= 100 ms: ${all.p99 <= 100 ? 'met' : 'NOT met'}; poll bound (${pollMs} ms) exceeded by ${delays.flat().filter((value) => value > pollMs).length} samples`,
        ...(missed.length > 0 ? [`  NOT refused within ${perRevocationTimeoutMs} ms: ${missed.join(', ')}`] : []),
        '',
      ].join('\n'),
    );

    const resultsDir = join(repoRoot, '.bench');
    await mkdir(resultsDir, { recursive: true });
    const resultsPath = join(resultsDir, `revocation-${new Date().toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`);
    await writeFile(resultsPath, `${JSON.stringify({ settings, environment: { node: process.version, cpus: cpus().length, loadAverageBefore, loadAverageAfter: loadavg() }, all, perNode, fromCommit: commitSeries, cli, delays, fromCommitSamples: fromCommit, missed, requests }, null, 2)}\n`);
    log(`raw results: ${resultsPath}`);
    return missed.length === 0 ? 0 : 1;
  } finally {
    hammering = false;
    for (const pool of pools) await pool.close().catch(() => {});
    await children.stopAll();
    await sql(settings.postgresUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch((error: unknown) => log(`could not drop schema ${schema}: ${String(error)}`));
    await rm(workDir, { recursive: true, force: true });
  }
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(`bench:revocation failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
  },
);
