/**
 * Restarts under load, without losing a request: a keep-alive client that behaves like a
 * browser or undici (an idempotent request whose connection closed before any response byte is
 * sent again once, on another connection) sees no failure across
 *
 * - 5 restarts of a single-process gateway: start the new process on the same addresses (every
 *   listener binds with SO_REUSEPORT), wait until it is ready, SIGTERM the old one, repeat;
 * - 5 restarts of one worker of `--workers 2`: SIGTERM a worker; the supervisor starts its
 *   replacement at once while the other worker serves.
 *
 * Each run prints what it sent, how many failed and how many were sent again.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Pool, request } from 'undici';
import { waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { freePort } from '../support/free-port.ts';
import { spawnGateway, temporaryDirectory, type GatewayProcess } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';

const RESTARTS = 5;
const CONNECTIONS = 20;
/** Every client comes from 127.0.0.1: the per-address limits have tests of their own. */
const WITHOUT_ADDRESS_LIMITS = { PORTCULLIS_LIMITS_ADDRESS_RATE: '', PORTCULLIS_LOCKOUT_MAX_FAILURES: '0' };

/** Connection errors that mean no response byte came: an idempotent request may go again (RFC 9110 §9.2.2). */
const CLOSED_BEFORE_RESPONSE = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);

interface LoadFigures {
  sent: number;
  failed: number;
  retried: number;
  /** How each failure ended, and what each retried request met first. */
  failures: string[];
  retriedBecause: string[];
}

/**
 * `CONNECTIONS` keep-alive connections, each sending GET requests back to back (a short pause
 * between them, to leave the two CPUs to the gateways) until stopped.
 */
function startKeepAliveLoad(origin: string, key: string): { stop(): Promise<LoadFigures> } {
  const pool = new Pool(origin, { connections: CONNECTIONS });
  const figures: LoadFigures = { sent: 0, failed: 0, retried: 0, failures: [], retriedBecause: [] };
  let running = true;
  const attempt = async (path: string): Promise<number> => {
    const response = await request(`${origin}${path}`, { dispatcher: pool, headers: { 'x-api-key': key }, headersTimeout: 10_000, bodyTimeout: 10_000 });
    await response.body.dump();
    return response.statusCode;
  };
  const client = async (index: number) => {
    for (let sequence = 0; running; sequence++) {
      const path = `/load/${index}/${sequence}`;
      figures.sent++;
      try {
        let status: number;
        try {
          status = await attempt(path);
        } catch (error) {
          const code = (error as { code?: string }).code ?? String(error);
          if (!CLOSED_BEFORE_RESPONSE.has(code)) throw error;
          figures.retried++;
          figures.retriedBecause.push(code);
          status = await attempt(path);
        }
        if (status !== 200) throw new Error(`status ${status}`);
      } catch (error) {
        figures.failed++;
        figures.failures.push(`${path}: ${(error as { code?: string }).code ?? (error as Error).message}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  const clients = Array.from({ length: CONNECTIONS }, (_, index) => client(index));
  return {
    async stop() {
      running = false;
      await Promise.all(clients);
      await pool.close();
      return figures;
    },
  };
}

/**
 * Prints the figures, and checks them: none failed, and hardly any needed the client's retry.
 * A connection is reset only when it reached the old process's accept queue just as its
 * listener closed (docs/architecture.md, "Restarts without a gap"): at most about one per
 * restart. A drain that closes connections that look idle resets several per restart (a
 * request already on the wire) and fails this.
 */
function checkFigures(label: string, figures: LoadFigures, restartMs: number[]): void {
  const because = [...new Set(figures.retriedBecause)].map((code) => `${code} ×${figures.retriedBecause.filter((seen) => seen === code).length}`).join(', ');
  process.stdout.write(`# ${label}: ${figures.sent} requests sent, ${figures.failed} failed, ${figures.retried} sent again (${because || 'none'}); restarts took ${restartMs.map((ms) => `${Math.round(ms)} ms`).join(', ')}\n`);
  assert.deepEqual(figures.failures, [], 'no request failed');
  assert.ok(figures.retried <= RESTARTS, `${figures.retried} requests met a closed connection: more than the accept-queue resets a restart may cause`);
  assert.ok(figures.sent > 1000, `load ran (${figures.sent} requests)`);
}

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function count(text: string, message: string): number {
  return text.split('\n').filter((line) => line.includes(`"msg":"${message}`)).length;
}

describe('rolling restart of a single-process gateway under keep-alive load', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let key: string;
  let args: string[];
  let health: string;
  const processes: GatewayProcess[] = [];

  before(async () => {
    upstream = await startRecordingUpstream();
    ({ key } = await createKeyInStore(storePath));
    const [port, admin, healthPort] = [await freePort(), await freePort(), await freePort()];
    health = `http://127.0.0.1:${healthPort}`;
    args = ['--listen', `127.0.0.1:${port}`, '--admin-listen', `127.0.0.1:${admin}`, '--health-listen', `127.0.0.1:${healthPort}`, '--upstream', upstream.url, '--store', storePath];
  });
  after(async () => {
    await Promise.all(processes.map((gateway) => gateway.stop()));
    await upstream.close();
    directory.remove();
  });

  it(`loses no request across ${RESTARTS} restarts (start the new process, wait until it is ready, SIGTERM the old one)`, async () => {
    let current = await spawnGateway(args, { env: WITHOUT_ADDRESS_LIMITS });
    processes.push(current);
    const load = startKeepAliveLoad(current.url, key);
    const restartMs: number[] = [];
    try {
      for (let restart = 0; restart < RESTARTS; restart++) {
        await new Promise((resolve) => setTimeout(resolve, 400));
        const started = performance.now();
        // Ready: it logs "gateway listening" once every listener is bound and its phase is serving.
        const next = await spawnGateway(args, { env: WITHOUT_ADDRESS_LIMITS });
        processes.push(next);
        assert.match(next.stdout(), /another process already listens on this address/, 'the new process says it shares the port');
        current.child.kill('SIGTERM');
        assert.equal(await current.exited, 0, `old process ${restart + 1} drained and exited 0`);
        restartMs.push(performance.now() - started);
        current = next;
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
    } finally {
      const figures = await load.stop();
      checkFigures(`single process, ${RESTARTS} restarts`, figures, restartMs);
    }
    assert.equal((await request(`${health}/readyz`)).statusCode, 200, 'the last process is ready');
  });
});

describe('rolling restart of one worker of --workers 2 under keep-alive load', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: GatewayProcess;
  let key: string;
  let health: string;

  before(async () => {
    upstream = await startRecordingUpstream();
    ({ key } = await createKeyInStore(storePath));
    const [port, healthPort] = [await freePort(), await freePort()];
    health = `http://127.0.0.1:${healthPort}`;
    gateway = await spawnGateway(['--workers', '2', '--listen', `127.0.0.1:${port}`, '--health-listen', `127.0.0.1:${healthPort}`, '--upstream', upstream.url, '--store', storePath], { env: WITHOUT_ADDRESS_LIMITS });
    await waitFor(async () => count(gateway.stdout(), 'supervisor: every worker is listening') === 1, 15_000, 'supervisor ready');
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it(`loses no request across ${RESTARTS} restarts of one worker (SIGTERM it; the supervisor replaces it while the other serves)`, async () => {
    const load = startKeepAliveLoad(gateway.url, key);
    const restartMs: number[] = [];
    try {
      for (let restart = 0; restart < RESTARTS; restart++) {
        await new Promise((resolve) => setTimeout(resolve, 400));
        const started = performance.now();
        const listening = count(gateway.stdout(), 'gateway listening');
        const [victim] = childPids(gateway.child.pid!);
        process.kill(victim!, 'SIGTERM');
        await waitFor(async () => count(gateway.stdout(), 'gateway listening') === listening + 1, 15_000, `replacement ${restart + 1} listening`);
        await waitFor(async () => !isRunning(victim!), 15_000, `worker ${victim} drained and exited`);
        restartMs.push(performance.now() - started);
        const workers = childPids(gateway.child.pid!);
        assert.equal(workers.length, 2, 'two workers again');
        assert.ok(!workers.includes(victim!));
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
    } finally {
      const figures = await load.stop();
      checkFigures(`--workers 2, ${RESTARTS} restarts of one worker`, figures, restartMs);
    }
    assert.equal(count(gateway.stdout(), 'worker died'), 0, 'a worker stopped on purpose is not reported as dead');
    await waitFor(async () => (await request(`${health}/readyz`)).statusCode === 200, 5000, 'ready');
  });
});
