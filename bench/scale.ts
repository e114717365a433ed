/**
 * `npm run bench:scale`: how the gateway's cost grows with the size of what it serves.
 *
 * Part `keys`: a store of BENCH_SCALE_KEYS keys (1,000,000) against one of BENCH_SCALE_SMALL_KEYS
 * (1,000), on SQLite and on PostgreSQL, each row's requests drawn from Zipf(BENCH_SCALE_ZIPF) over
 * all of its keys (bench/zipf.ts), with the default caches. Part `openapi`: a description of
 * BENCH_SCALE_OPERATIONS operations (10,000) against one of BENCH_SCALE_SMALL_OPERATIONS (10)
 * (bench/scale-openapi.ts), requests spread over BENCH_SCALE_TARGETS of its GET operations.
 *
 * Per row and round: a fresh `portcullis serve`, the time from spawning it to its first 200,
 * a wrk warm-up, its resident memory (VmRSS) after that, then wrk (`-t1 -c50`, requests from a
 * list, bench/request-list.ts) in turns with the other rows of the part, as `npm run bench`
 * does, and the key cache's hit ratio while it measured, from the gateway's own /metrics
 * (admin listener, a read token). Each part has an A/A pair (its small row twice). Seeding is
 * timed on its own. With BENCH_OTHER_CHECKOUT=<another checkout, with node_modules>, the keys
 * part adds `sqlite-<large>-other`: the same store and requests served by that checkout's
 * gateway, in turns with the others, so a change's effect at scale is one paired ratio of one
 * run (`sqlite-1m / sqlite-1m-other`), not two runs' figures side by side, which this machine
 * moves by ±10 %. Results: .bench/scale-<time>.json. See bench/README.md.
 */
import { randomBytes } from 'node:crypto';
import { access, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { ChildProcesses, delay, spawnPeer } from './child-processes.ts';
import type { ManagedChild } from './child-processes.ts';
import { BenchUsageError, envFlag, envNumber } from './bench-env.ts';
import { freePort } from './portcullis-process.ts';
import { processTreeCpuMs } from './process-cpu.ts';
import { combineSlices, formatReport, ratios, summariseRow } from './report.ts';
import type { RoundResult } from './report.ts';
import { requestListScript, writeRequestList } from './request-list.ts';
import type { ListedRequest } from './request-list.ts';
import { cacheLookups, formatScaleReport, hitRatioBetween, residentMb, summariseScale } from './scale-figures.ts';
import type { CacheLookups, ScaleRound } from './scale-figures.ts';
import { scaleDescription, scaleRequestTargets } from './scale-openapi.ts';
import { findWrk, runWrk } from './wrk.ts';
import { zipfKeyMix } from './zipf.ts';
import { openKeyStore } from '../src/store/open-key-store.ts';
import { CLI_ACTOR } from '../src/store/audit-log.ts';
import { displayPrefixOf, generateKey, generateKeyId } from '../src/keys/key-format.ts';
import { digestKey } from '../src/keys/key-digest.ts';
import { mintAdminToken } from '../src/keys/mint-key.ts';
import type { NewKey } from '../src/store/key-store.ts';

const repoRoot = resolve(import.meta.dirname, '..');
const main = join(repoRoot, 'src/cli/main.js');

function readSettings() {
  const parts = (process.env['BENCH_SCALE_PARTS'] ?? 'keys,openapi').split(',').map((part) => part.trim()).filter(Boolean);
  const unknown = parts.filter((part) => part !== 'keys' && part !== 'openapi');
  if (unknown.length > 0) throw new BenchUsageError(`BENCH_SCALE_PARTS names unknown parts: ${unknown.join(', ')} (known: keys, openapi)`);
  const keys = envNumber('BENCH_SCALE_KEYS', 1_000_000, { integer: true });
  return {
    parts,
    keys,
    postgresKeys: envNumber('BENCH_SCALE_POSTGRES_KEYS', keys, { integer: true }),
    smallKeys: envNumber('BENCH_SCALE_SMALL_KEYS', 1000, { integer: true }),
    postgres: envFlag('BENCH_SCALE_POSTGRES', true),
    zipf: envNumber('BENCH_SCALE_ZIPF', 1.1),
    samples: envNumber('BENCH_SCALE_SAMPLES', 200_000, { integer: true }),
    operations: envNumber('BENCH_SCALE_OPERATIONS', 10_000, { integer: true }),
    smallOperations: envNumber('BENCH_SCALE_SMALL_OPERATIONS', 10, { integer: true }),
    targets: envNumber('BENCH_SCALE_TARGETS', 5, { integer: true }),
    durationSeconds: envNumber('BENCH_DURATION', 10, { integer: true }),
    warmupSeconds: envNumber('BENCH_WARMUP', 5, { integer: true }),
    rounds: envNumber('BENCH_ROUNDS', 3, { integer: true }),
    slices: envNumber('BENCH_SLICES', 5, { integer: true }),
    connections: envNumber('BENCH_CONNECTIONS', 50, { integer: true }),
    startTimeoutSeconds: envNumber('BENCH_SCALE_START_TIMEOUT', 300, { integer: true }),
    postgresUrl: process.env['BENCH_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test',
    /** Another checkout (with its own node_modules) whose gateway serves a copy of the large SQLite store beside this one's: an A/B in one run. */
    otherCheckout: process.env['BENCH_OTHER_CHECKOUT']?.trim() || null,
  };
}
type Settings = ReturnType<typeof readSettings>;

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** 1000 → `1k`, 1000000 → `1m`, 10 → `10`: for row names. */
function countLabel(count: number): string {
  if (count >= 1_000_000 && count % 1_000_000 === 0) return `${count / 1_000_000}m`;
  if (count >= 1000 && count % 1000 === 0) return `${count / 1000}k`;
  return String(count);
}

/** A seeded store: its location, the plaintext of every key (in creation order) and a read admin token. */
interface SeededStore {
  location: string;
  keys: string[];
  adminToken: string;
  seedSeconds: number;
}

const IMPORT_BATCH = 50_000;

/** How long each store took to seed, for the report. */
const seeding: Array<{ store: string; keys: number; seconds: number }> = [];

function newKey(key: string, index: number): NewKey {
  return {
    id: generateKeyId(), digest: digestKey(key), displayPrefix: displayPrefixOf(key), name: `scale-${index}`,
    tags: [], scopes: [], allowedCidrs: [], certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null,
  };
}

/**
 * `count` keys through the store's bulk path (`importKeys`, as `keys import` uses: one
 * transaction per batch of 50,000, each key with its event and audit entry), made by the
 * project's key format and digest; then a read admin token for /metrics.
 */
async function seedStore(location: string, count: number, label: string, afterBatch: () => Promise<void> = async () => {}): Promise<SeededStore> {
  const store = await openKeyStore(location);
  try {
    await store.migrate();
    const keys: string[] = [];
    const started = performance.now();
    for (let first = 0; first < count; first += IMPORT_BATCH) {
      const batch: NewKey[] = [];
      for (let index = first; index < Math.min(count, first + IMPORT_BATCH); index++) {
        const key = generateKey('pcl');
        keys.push(key);
        batch.push(newKey(key, index));
      }
      await store.importKeys(batch, Date.now(), CLI_ACTOR);
      await afterBatch();
      if (count > IMPORT_BATCH) log(`  ${label}: ${keys.length} / ${count} keys`);
    }
    const seedSeconds = (performance.now() - started) / 1000;
    const minted = mintAdminToken();
    await store.createAdminToken({ id: minted.id, name: 'bench-scale', role: 'read', digest: minted.digest, displayPrefix: minted.displayPrefix }, Date.now(), CLI_ACTOR);
    seeding.push({ store: label, keys: count, seconds: seedSeconds });
    log(`seeded ${count} keys into ${label} in ${seedSeconds.toFixed(1)} s (${Math.round(count / seedSeconds)} keys/s)`);
    return { location, keys, adminToken: minted.key, seedSeconds };
  } finally {
    await store.close();
  }
}

/** A row: one gateway configuration and the requests it is sent. */
interface ScaleRow {
  name: string;
  compareTo: string | null;
  alsoCompareTo?: readonly string[];
  /** The CLI that serves the row: this checkout's, or BENCH_OTHER_CHECKOUT's. */
  main?: string;
  description: string;
  store: string;
  adminToken: string;
  openapi: string | null;
  /** A request that must answer 200 once the gateway serves (`GET <target>` with the key). */
  ready: ListedRequest;
  script: string;
  /**
   * Writes the row's requests for a round, before its gateway starts. The key rows draw each
   * round's requests afresh (the same keys popular, other draws of the tail): a gateway that
   * warms its cache with the keys the previous round used (`cache.warmKeys`) then meets new
   * tail keys, as a restarted node does, instead of the very requests it has just seen.
   */
  writeRound?: (round: number) => Promise<void>;
}

interface StartedRow {
  row: ScaleRow;
  child: ManagedChild;
  url: string;
  adminOrigin: string;
  startupMs: number;
}

function statusOf(port: number, request: ListedRequest | null, path = request?.target ?? '/'): Promise<number | null> {
  return new Promise((resolveStatus) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers: request === null ? {} : { authorization: `Bearer ${request.token}` }, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.once('end', () => resolveStatus(res.statusCode ?? null));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolveStatus(null));
    req.end();
  });
}

async function startRow(children: ChildProcesses, settings: Settings, context: RunContext, row: ScaleRow): Promise<StartedRow> {
  const [port, adminPort] = [await freePort(), await freePort()];
  const started = performance.now();
  const child = children.spawn(row.name, process.execPath, [
    row.main ?? main, 'serve', '--listen', `127.0.0.1:${port}`, '--upstream', context.upstreamOrigin, '--store', row.store,
    '--admin-listen', `127.0.0.1:${adminPort}`, ...(row.openapi === null ? [] : ['--openapi', row.openapi]),
  ], { cwd: context.workDir, env: { PORTCULLIS_LOG_LEVEL: 'warn' } });
  const deadline = started + settings.startTimeoutSeconds * 1000;
  while (await statusOf(port, row.ready) !== 200) {
    if (child.process.exitCode !== null || child.process.signalCode !== null) throw new Error(`${row.name} exited while starting:\n${child.stderr()}`);
    if (performance.now() > deadline) throw new Error(`${row.name} did not serve within ${settings.startTimeoutSeconds} s:\n${child.stderr()}`);
    await delay(10);
  }
  const startupMs = performance.now() - started;
  if (await statusOf(port, null, row.ready.target) === 200) throw new Error(`${row.name} answered 200 without a key: key auth is not on`);
  return { row, child, url: `http://127.0.0.1:${port}`, adminOrigin: `http://127.0.0.1:${adminPort}`, startupMs };
}

async function lookupsOf(started: StartedRow): Promise<CacheLookups> {
  const response = await fetch(`${started.adminOrigin}/metrics`, { headers: { authorization: `Bearer ${started.row.adminToken}` } });
  if (response.status !== 200) throw new Error(`${started.row.name}: /metrics answered ${response.status}`);
  return cacheLookups(await response.text());
}

async function rssOf(started: StartedRow): Promise<number> {
  return residentMb(await readFile(`/proc/${started.child.process.pid}/status`, 'utf8'));
}

interface RunContext {
  children: ChildProcesses;
  wrkPath: string;
  upstreamOrigin: string;
  workDir: string;
}

interface RowResults {
  rounds: RoundResult[];
  scale: ScaleRound[];
}

async function measureSlice(context: RunContext, settings: Settings, started: StartedRow, seconds: number): Promise<RoundResult> {
  const pid = started.child.process.pid!;
  const cpuBefore = processTreeCpuMs(pid);
  const { figures } = await runWrk(context.children, context.wrkPath, started.url, started.row.script, { threads: 1, connections: settings.connections, durationSeconds: seconds });
  const cpuAfter = processTreeCpuMs(pid);
  const serverCpuUsPerRequest = cpuBefore === null || cpuAfter === null || figures.requests === 0 ? null : ((cpuAfter - cpuBefore) * 1000) / figures.requests;
  return { figures, serverCpuUsPerRequest };
}

/** One round of a part: every row started afresh, warmed up, then measured in turns. */
async function runRound(context: RunContext, settings: Settings, rows: readonly ScaleRow[], results: Map<ScaleRow, RowResults>, round: number): Promise<void> {
  const started: StartedRow[] = [];
  try {
    for (const row of rows) await row.writeRound?.(round);
    for (const row of rows) started.push(await startRow(context.children, settings, context, row));
    const before = new Map<StartedRow, { lookups: CacheLookups; sinceStart: CacheLookups; rssMb: number }>();
    for (const row of started) {
      const sinceStart = await lookupsOf(row);
      await measureSlice(context, settings, row, settings.warmupSeconds);
      before.set(row, { lookups: await lookupsOf(row), sinceStart, rssMb: await rssOf(row) });
    }
    const sliceSeconds = Math.max(1, Math.round(settings.durationSeconds / settings.slices));
    const slices = new Map<StartedRow, RoundResult[]>(started.map((row) => [row, []]));
    for (let slice = 0; slice < settings.slices; slice++) {
      for (let turn = 0; turn < started.length; turn++) {
        const row = started[(slice + turn) % started.length]!;
        slices.get(row)!.push(await measureSlice(context, settings, row, sliceSeconds));
      }
    }
    for (const row of started) {
      const after = await lookupsOf(row);
      const { lookups, sinceStart, rssMb } = before.get(row)!;
      const round = combineSlices(slices.get(row)!);
      const scale: ScaleRound = { startupMs: row.startupMs, rssMb, hitRatio: hitRatioBetween(lookups, after), hitRatioSinceStart: hitRatioBetween(sinceStart, after) };
      results.get(row.row)!.rounds.push(round);
      results.get(row.row)!.scale.push(scale);
      log(`  ${row.row.name}: start-up ${scale.startupMs.toFixed(0)} ms, RSS ${rssMb.toFixed(1)} MB, ${Math.round(round.figures.requestsPerSecond)} req/s, p99 ${round.figures.latencyMs.p99.toFixed(2)} ms, cache hits ${scale.hitRatio === null ? 'n/a' : (scale.hitRatio * 100).toFixed(1)} %`);
    }
  } finally {
    for (const row of started) await context.children.stop(row.child);
  }
}

type PartResult = { title: string; rows: ReturnType<typeof summariseRow>[]; ratios: ReturnType<typeof ratios>; scale: ReturnType<typeof summariseScale>[] };

async function runPart(context: RunContext, settings: Settings, title: string, rows: readonly ScaleRow[]): Promise<PartResult> {
  log(`\n${title}: rows ${rows.map((row) => row.name).join(', ')}`);
  const results = new Map<ScaleRow, RowResults>(rows.map((row) => [row, { rounds: [], scale: [] }]));
  for (let round = 1; round <= settings.rounds; round++) {
    log(`round ${round}/${settings.rounds}`);
    await runRound(context, settings, rows, results, round);
  }
  const summaries = rows.map((row) => summariseRow(row, results.get(row)!.rounds));
  const scale = rows.map((row) => summariseScale(row, results.get(row)!.scale));
  const rowRatios = ratios(summaries);
  process.stdout.write(`\n${title}\n\n${formatReport(summaries, rowRatios)}\n\n${formatScaleReport(scale)}\n`);
  return { title, rows: summaries, ratios: rowRatios, scale };
}

async function writeScript(workDir: string, name: string, requests: Iterable<ListedRequest>): Promise<string> {
  const listPath = join(workDir, `${name}.requests`);
  await writeRequestList(listPath, requests);
  const script = join(workDir, `${name}.lua`);
  await writeFile(script, requestListScript(listPath));
  return script;
}

/** `samples` requests to `/`, each with a key drawn from Zipf(s) over all of the store's keys; each round draws afresh from the same popularity. */
function* zipfRequests(keys: readonly string[], settings: Settings, seed: number, round: number): Generator<ListedRequest> {
  for (const index of zipfKeyMix(keys.length, settings.zipf, settings.samples, seed, seed * 1000 + round)) yield { target: '/', token: keys[index]! };
}

/** A row for a store and a Zipf mix over its keys; SQLite stores are copied so no two rows share a file. */
async function keyRow(workDir: string, settings: Settings, name: string, compareTo: string | null, seeded: SeededStore, copy: boolean): Promise<ScaleRow> {
  const store = copy ? join(workDir, `${name}.db`) : seeded.location;
  if (copy) await copyFile(seeded.location, store);
  const script = await writeScript(workDir, name, zipfRequests(seeded.keys, settings, 1, 1));
  // Every round's list written now: the caller frees the large stores' keys once the rows exist.
  const roundList = (round: number) => join(workDir, `${name}.round-${round}.requests`);
  for (let round = 1; round <= settings.rounds; round++) await writeRequestList(roundList(round), zipfRequests(seeded.keys, settings, 1, round));
  const writeRound = (round: number) => copyFile(roundList(round), join(workDir, `${name}.requests`));
  return { name, compareTo, description: `${seeded.keys.length} keys, Zipf(${settings.zipf}) over all of them`, store, adminToken: seeded.adminToken, openapi: null, ready: { target: '/', token: seeded.keys[0]! }, script, writeRound };
}

async function postgresSchema(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

interface Cleanup {
  schemas: string[];
}

async function postgresStore(settings: Settings, cleanup: Cleanup, suffix: string, count: number): Promise<SeededStore> {
  const schema = `portcullis_bench_scale_${randomBytes(4).toString('hex')}_${suffix}`;
  await postgresSchema(settings.postgresUrl, `CREATE SCHEMA ${schema}`);
  cleanup.schemas.push(schema);
  const url = new URL(settings.postgresUrl);
  url.searchParams.set('options', `-c search_path=${schema}`);
  // Fresh tables have no statistics: without them, the next batch's check for digests already
  // stored (`digest = ANY($1)`, 5,000 at a time) is planned as a scan and outlasts the store's
  // 10 s query timeout by the second batch. Autovacuum would analyse the table later.
  return seedStore(url.href, count, `PostgreSQL schema ${schema}`, () => postgresSchema(settings.postgresUrl, `ANALYZE ${schema}.api_keys`));
}

async function keyRows(context: RunContext, settings: Settings, small: SeededStore, cleanup: Cleanup): Promise<ScaleRow[]> {
  const [smallName, largeName] = [`sqlite-${countLabel(settings.smallKeys)}`, `sqlite-${countLabel(settings.keys)}`];
  const large = await seedStore(join(context.workDir, 'large.db'), settings.keys, 'SQLite (large)');
  const otherMain = settings.otherCheckout === null ? null : join(resolve(settings.otherCheckout), 'src/cli/main.js');
  if (otherMain !== null) {
    await access(otherMain).catch(() => {
      throw new BenchUsageError(`BENCH_OTHER_CHECKOUT has no ${otherMain}`);
    });
  }
  const otherName = `${largeName}-other`;
  const rows: ScaleRow[] = [
    await keyRow(context.workDir, settings, smallName, null, small, true),
    await keyRow(context.workDir, settings, `${smallName}-again`, smallName, small, true),
    { ...await keyRow(context.workDir, settings, largeName, smallName, large, false), ...(otherMain === null ? {} : { alsoCompareTo: [otherName] }) },
  ];
  // The same store and requests, served by the other checkout's gateway: `<large> / <large>-other` is the A/B.
  if (otherMain !== null) rows.push({ ...await keyRow(context.workDir, settings, otherName, smallName, large, true), main: otherMain });
  large.keys.length = 0;
  if (!settings.postgres) return rows;
  const [pgSmallName, pgLargeName] = [`postgres-${countLabel(settings.smallKeys)}`, `postgres-${countLabel(settings.postgresKeys)}`];
  const pgSmall = await postgresStore(settings, cleanup, 'small', settings.smallKeys);
  const pgLarge = await postgresStore(settings, cleanup, 'large', settings.postgresKeys);
  rows.push(await keyRow(context.workDir, settings, pgSmallName, smallName, pgSmall, false));
  rows.push(await keyRow(context.workDir, settings, pgLargeName, pgSmallName, pgLarge, false));
  return rows;
}

async function openApiRow(context: RunContext, settings: Settings, small: SeededStore, operations: number, name: string, compareTo: string | null): Promise<ScaleRow> {
  const description = join(context.workDir, `openapi-${operations}.json`);
  await writeFile(description, JSON.stringify(scaleDescription(operations)));
  const targets = scaleRequestTargets(operations, settings.targets);
  const tokens = small.keys.slice(0, 100);
  const requests = Array.from({ length: targets.length * tokens.length }, (_, index) => ({ target: targets[index % targets.length]!, token: tokens[Math.floor(index / targets.length) % tokens.length]! }));
  const store = join(context.workDir, `${name}.db`);
  await copyFile(small.location, store);
  const script = await writeScript(context.workDir, name, requests);
  return { name, compareTo, description: `${operations} operations, requests over ${targets.length} GET operations`, store, adminToken: small.adminToken, openapi: description, ready: requests[0]!, script };
}

async function openApiRows(context: RunContext, settings: Settings, small: SeededStore): Promise<ScaleRow[]> {
  const smallName = `openapi-${countLabel(settings.smallOperations)}`;
  return [
    await openApiRow(context, settings, small, settings.smallOperations, smallName, null),
    await openApiRow(context, settings, small, settings.smallOperations, `${smallName}-again`, smallName),
    await openApiRow(context, settings, small, settings.operations, `openapi-${countLabel(settings.operations)}`, smallName),
  ];
}

async function run(): Promise<number> {
  const settings = readSettings();
  const wrkPath = findWrk();
  if (wrkPath === null) throw new BenchUsageError('wrk is not installed (or not on PATH). Install it with: sudo apt-get install wrk');
  const children = new ChildProcesses();
  const workDir = await mkdtemp(join(tmpdir(), 'portcullis-bench-scale-'));
  const cleanup: Cleanup = { schemas: [] };
  process.on('exit', () => children.killAllNow());
  const startedAt = new Date();
  const loadAverageBefore = loadavg();
  try {
    const upstream = await spawnPeer(children, 'upstream', [join(repoRoot, 'bench/peers/upstream.ts'), '0']);
    const context: RunContext = { children, wrkPath, upstreamOrigin: `http://127.0.0.1:${upstream.port}`, workDir };
    const small = await seedStore(join(workDir, 'small.db'), settings.smallKeys, 'SQLite (small)');
    const parts: PartResult[] = [];
    if (settings.parts.includes('keys')) {
      const rows = await keyRows(context, settings, small, cleanup);
      parts.push(await runPart(context, settings, `Keys: ${settings.keys} against ${settings.smallKeys}, Zipf(${settings.zipf}) over each store's keys`, rows));
    }
    if (settings.parts.includes('openapi')) {
      const rows = await openApiRows(context, settings, small);
      parts.push(await runPart(context, settings, `OpenAPI: ${settings.operations} operations against ${settings.smallOperations}`, rows));
    }
    const resultsDir = join(repoRoot, '.bench');
    await mkdir(resultsDir, { recursive: true });
    const resultsPath = join(resultsDir, `scale-${startedAt.toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`);
    await writeFile(resultsPath, `${JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), environment: { node: process.version, cpus: cpus().length, loadAverageBefore, loadAverageAfter: loadavg() }, settings, seeding, parts }, null, 2)}\n`);
    process.stdout.write(`\nSeeding (importKeys, batches of ${IMPORT_BATCH}):\n${seeding.map((entry) => `  ${entry.store}: ${entry.keys} keys in ${entry.seconds.toFixed(1)} s (${Math.round(entry.keys / entry.seconds)} keys/s)`).join('\n')}\n`);
    log(`\nraw results: ${resultsPath}`);
    return parts.some((part) => part.rows.some((row) => row.errors > 0)) ? 1 : 0;
  } finally {
    await children.stopAll();
    for (const schema of cleanup.schemas) {
      await postgresSchema(settings.postgresUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch((error: unknown) => log(`could not drop schema ${schema}: ${String(error)}`));
    }
    await rm(workDir, { recursive: true, force: true });
  }
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log(error instanceof BenchUsageError ? error.message : `bench:scale failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = error instanceof BenchUsageError ? 2 : 1;
  },
);
