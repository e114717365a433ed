/**
 * Health that tells the truth, fast: `/readyz` answers 503 within 100 ms of SIGTERM (one
 * process, and the supervisor of `--workers`), a hung database (SIGSTOP: it refuses nothing,
 * it just never answers) shows within about 2 s rather than the 10 s query timeout, and the
 * report names the part that is the matter: the store, Redis, the upstream. An upstream that
 * cannot be reached is logged (once at start, then one line per interval with a count), counted
 * in the metrics, and reported.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import type { HealthReport } from '../../src/health/health-report.ts';
import { createLogger } from '../../src/telemetry/logger.ts';
import { callWithKey, waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore, startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { freePort } from '../support/free-port.ts';
import { checkPrivatePostgres, PrivatePostgres } from '../support/private-postgres.ts';
import { spawnGateway, temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { describeNeeding } from '../support/required-service.ts';

async function readiness(origin: string): Promise<{ status: number; report: HealthReport }> {
  const response = await request(`${origin}/readyz`, { headersTimeout: 1000, bodyTimeout: 1000 });
  return { status: response.statusCode, report: (await response.body.json()) as HealthReport };
}

/** Polls `/readyz` every 5 ms from now; resolves with the ms until it first answered 503, and that report. */
async function msUntilNotReady(origin: string, limit: number): Promise<{ ms: number; report: HealthReport }> {
  const started = performance.now();
  for (;;) {
    const { status, report } = await readiness(origin);
    if (status === 503) return { ms: performance.now() - started, report };
    if (performance.now() - started > limit) throw new Error(`/readyz still ${status} after ${limit} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('/readyz on SIGTERM', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  /** Called when the upstream receives `/slow`, with the function that finishes its response. */
  let onSlow: (finish: () => void) => void = () => {};
  let key: string;

  before(async () => {
    // A response that waits for the test: the drain lasts until it is finished.
    upstream = await startRecordingUpstream((req, res) => {
      req.resume();
      if (req.url !== '/slow') return void res.end('ok');
      res.writeHead(200, { 'content-length': '4' });
      onSlow(() => res.end('done'));
    });
    ({ key } = await createKeyInStore(storePath));
  });
  after(async () => {
    await upstream.close();
    directory.remove();
  });

  for (const workers of [1, 2]) {
    it(`answers 503 draining within 100 ms of SIGTERM and keeps answering while in-flight requests finish (${workers === 1 ? 'one process' : 'the supervisor of --workers 2'})`, async () => {
      const arrived = new Promise<() => void>((resolve) => (onSlow = resolve));
      const healthPort = await freePort();
      const health = `http://127.0.0.1:${healthPort}`;
      const gateway = await spawnGateway(['--upstream', upstream.url, '--store', storePath, '--health-listen', `127.0.0.1:${healthPort}`, ...(workers > 1 ? ['--workers', String(workers)] : [])]);
      try {
        // With --workers, the supervisor's health listener starts once every worker listens.
        await waitFor(async () => (await readiness(health).catch(() => null))?.status === 200, 15_000, 'ready');
        const slow = request(`${gateway.url}/slow`, { headers: { 'x-api-key': key } }).then(async (response) => response.body.text());
        const release = await arrived;
        gateway.child.kill('SIGTERM');
        const { ms, report } = await msUntilNotReady(health, 2000);
        process.stdout.write(`# ${workers === 1 ? 'one process' : '--workers 2'}: /readyz 503 ${Math.round(ms)} ms after SIGTERM\n`);
        assert.ok(ms < 100, `/readyz turned 503 after ${Math.round(ms)} ms`);
        assert.equal(report.phase, 'draining');
        assert.match(report.reasons.join('\n'), /draining/);
        // Still draining (the slow response is held): the health listener still answers 503.
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal((await readiness(health)).status, 503);
        release();
        assert.equal(await slow, 'done');
        assert.equal(await gateway.exited, 0);
      } finally {
        await gateway.stop();
      }
    });
  }
});

/** The postmaster of a private PostgreSQL on `port` and its children (the backends). */
function postgresProcesses(port: number): number[] {
  const postmaster = execFileSync('pgrep', ['-f', `postgres -D .* -p ${port} `], { encoding: 'utf8' }).trim().split('\n').map(Number).filter(Boolean);
  const children = postmaster.flatMap((pid) => {
    try {
      return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').map(Number).filter(Boolean);
    } catch {
      return [];
    }
  });
  return [...postmaster, ...children];
}

describeNeeding(checkPrivatePostgres(), 'a hung PostgreSQL (SIGSTOP) under a running gateway', () => {
  let database: PrivatePostgres;
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  let health: string;
  let frozen: number[] = [];

  before(async () => {
    database = await PrivatePostgres.create();
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, database.url, { env: { PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '50ms', PORTCULLIS_HEALTH_LISTEN: '127.0.0.1:0' } });
    health = `http://127.0.0.1:${gateway.gateway.healthAddress!.port}`;
  });
  after(async () => {
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
    await gateway?.stop();
    await upstream?.close();
    await database?.destroy();
  });

  it('reports the store unreachable within about 2 s, not after the 10 s query timeout, and recovers when it thaws', async () => {
    assert.equal((await readiness(health)).report.parts.store, 'ok');
    const port = Number(new URL(database.url).port);
    frozen = postgresProcesses(port);
    assert.ok(frozen.length >= 2, `found the postmaster and its backends: ${frozen.join(', ')}`);
    const stoppedAt = performance.now();
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    await waitFor(async () => (await readiness(health)).report.store.reachable === false, 4000, 'store reported unreachable');
    const ms = performance.now() - stoppedAt;
    process.stdout.write(`# hung PostgreSQL: reported unreachable ${Math.round(ms)} ms after SIGSTOP\n`);
    assert.ok(ms < 3000, `seen after ${Math.round(ms)} ms`);
    const { status, report } = await readiness(health);
    assert.deepEqual([status, report.status, report.parts.store], [503, 'not_ready', 'failed'], 'not ready by default, though known keys are served from memory');
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
    frozen = [];
    await waitFor(async () => (await readiness(health)).report.status === 'ok', 15_000, 'ok again after SIGCONT');
  });
});

describe('Redis unreachable', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let gateway: TestGateway;

  before(async () => {
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, join(directory.path, 'keys.db'), { env: { PORTCULLIS_REDIS_URL: `redis://127.0.0.1:${await freePort()}`, PORTCULLIS_REDIS_COMMAND_TIMEOUT: '100ms' } });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('says Redis is the part that is degraded, and stays ready (each node limits on its own)', () => {
    const report = gateway.gateway.health();
    assert.deepEqual([report.status, report.ready, report.parts.redis, report.parts.store], ['degraded', true, 'degraded', 'ok']);
    assert.deepEqual(report.rateLimits, { backend: 'redis', shared: false });
    assert.match(report.reasons.join('\n'), /Redis unreachable/);
  });
});

describe('an upstream that cannot be reached', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  const logs: Array<Record<string, unknown>> = [];
  let gateway: RunningGateway;
  let origin: string;
  let upstreamUrl: string;
  let key: string;

  before(async () => {
    upstreamUrl = `http://127.0.0.1:${await freePort()}`;
    ({ key } = await createKeyInStore(storePath));
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({
      env: { PORTCULLIS_ADMIN_LISTEN: '', PORTCULLIS_LIMITS_ADDRESS_RATE: '', PORTCULLIS_LOCKOUT_MAX_FAILURES: '0' },
      flags: [
        { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
        { field: 'upstream.url', value: upstreamUrl, flag: '--upstream' },
        { field: 'store', value: storePath, flag: '--store' },
      ],
    });
    gateway = await startGateway(config, createLogger('info', sink));
    origin = `http://127.0.0.1:${gateway.address.port}`;
  });
  after(async () => {
    await gateway?.stop();
    directory.remove();
  });

  it('warns at start without blocking it, then logs failures once per interval with a count, the code, the upstream and a request id', async () => {
    await waitFor(async () => logs.some((line) => line.msg === 'upstream not reachable at start: requests will be answered 502 upstream_unavailable until it is (the gateway keeps serving and retrying)'), 3000, 'start-up warning');
    const warning = logs.find((line) => String(line.msg).startsWith('upstream not reachable at start'))!;
    assert.deepEqual([warning.level, warning.upstream, warning.code], [40, upstreamUrl, 'ECONNREFUSED']);
    for (let index = 0; index < 20; index++) assert.deepEqual(await callWithKey(`${origin}/x`, key), { status: 502, code: 'upstream_unavailable', retryAfter: null });
    const lines = logs.filter((line) => String(line.msg).startsWith('upstream unreachable'));
    assert.equal(lines.length, 1, 'one line for the first failure; the rest are counted until the interval ends');
    const [first] = lines;
    assert.deepEqual([first!.level, first!.upstream, first!.count, (first!.err as { code?: string }).code], [40, upstreamUrl, 1, 'ECONNREFUSED']);
    assert.equal(typeof first!.reqId, 'string');
    const metrics = (await gateway.metrics.render()).body;
    assert.match(metrics, /portcullis_upstream_failures_total\{kind="refused"\} 20\b/);
  });

  it('reports the upstream in the health body at once, and degraded (still ready) once it has failed for a while', async () => {
    const report = gateway.health();
    assert.equal(report.upstream?.lastError, 'ECONNREFUSED');
    assert.ok(report.upstream!.failures >= 20);
    assert.notEqual(report.upstream?.failingSince, null);
    await waitFor(async () => gateway.health().parts.upstream === 'degraded', 7000, 'upstream degraded');
    const later = gateway.health();
    assert.deepEqual([later.status, later.ready], ['degraded', true]);
    assert.match(later.reasons.join('\n'), /upstream unreachable since .* \(last error ECONNREFUSED\)/);
  });
});
