/**
 * `serve --workers 2`, in both balancing modes: every worker follows the change feed (a
 * revocation is refused on every new connection, whichever worker takes it), the supervisor
 * reports combined health and replaces a worker that dies, and SIGTERM stops them all.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { waitFor } from '../support/gateway-probes.ts';
import { createKeyWithCli, runCli, spawnGateway, temporaryDirectory, type GatewayProcess } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';

/** One request on a fresh connection, so successive calls can land on different workers. */
async function statusOnNewConnection(url: string, key: string): Promise<number> {
  const response = await request(url, { headers: { authorization: `Bearer ${key}`, connection: 'close' }, reset: true });
  await response.body.dump();
  return response.statusCode;
}

interface CombinedReport {
  status: string;
  ready: boolean;
  workers: Array<{ status: string } | null>;
}

async function healthOf(origin: string): Promise<CombinedReport> {
  const response = await request(`${origin}/readyz`);
  return (await response.body.json()) as CombinedReport;
}

function childPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

for (const balancing of ['reuse-port', 'cluster'] as const) {
  describe(`serve --workers 2 (${balancing})`, () => {
    const directory = temporaryDirectory();
    const storePath = join(directory.path, 'keys.db');
    let upstream: RecordingUpstream;
    let gateway: GatewayProcess;
    let health: string;

    before(async () => {
      upstream = await startRecordingUpstream();
      gateway = await spawnGateway(['--workers', '2', '--upstream', upstream.url, '--store', storePath, '--health-listen', '127.0.0.1:0'], {
        env: { PORTCULLIS_WORKER_BALANCING: balancing, PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '50ms' },
      });
      await waitFor(async () => /"health":"[^"]+".*supervisor: every worker is listening/.test(gateway.stdout()), 15_000, 'supervisor ready');
      health = `http://${/"health":"([^"]+)".*supervisor: every worker is listening/.exec(gateway.stdout())![1]}`;
    });
    after(async () => {
      await gateway.stop();
      await upstream.close();
      directory.remove();
    });

    it('runs two worker processes that report ok health', async () => {
      assert.equal(childPids(gateway.child.pid!).length, 2);
      await waitFor(async () => (await healthOf(health)).workers.filter((worker) => worker?.status === 'ok').length === 2, 5000, 'both workers report');
      assert.equal((await healthOf(health)).status, 'ok');
    });

    it('serves the admin listener from exactly one worker, with the same health logic', async () => {
      await waitFor(async () => /"msg":"admin listening"/.test(gateway.stdout()), 5000, 'admin listening');
      const adminLines = gateway.stdout().split('\n').filter((line) => line.includes('"msg":"admin listening"'));
      assert.equal(adminLines.length, 1, 'one admin listener for two workers');
      const adminUrl = /"url":"([^"]+)"/.exec(adminLines[0]!)![1]!;
      for (const path of ['/healthz', '/readyz']) {
        const response = await request(`${adminUrl}${path}`);
        assert.equal(response.statusCode, 200, path);
        const report = (await response.body.json()) as { status: string; ready: boolean; changeFeed: { notifications: string } };
        assert.equal(report.ready, true, path);
        assert.equal(report.changeFeed.notifications, 'not-used', 'the report of issue 6 (SQLite: no LISTEN)');
      }
    });

    it('refuses a key revoked through the CLI on every worker', async () => {
      const { id, key } = await createKeyWithCli(storePath);
      for (let i = 0; i < 10; i++) assert.equal(await statusOnNewConnection(gateway.url, key), 200);
      const revoked = await runCli(['keys', 'revoke', id, '--store', storePath]);
      assert.equal(revoked.code, 0, revoked.stderr);
      // 20 fresh connections, spread over both workers: none may still accept the key.
      await waitFor(async () => {
        const statuses = await Promise.all(Array.from({ length: 20 }, () => statusOnNewConnection(gateway.url, key)));
        return statuses.every((status) => status === 401);
      }, 3000, 'every worker refuses the revoked key');
    });

    it('replaces a worker that dies, and reports degraded meanwhile', async () => {
      const [victim] = childPids(gateway.child.pid!);
      process.kill(victim!, 'SIGKILL');
      await waitFor(async () => (await healthOf(health)).status === 'degraded', 5000, 'degraded while a worker is missing');
      assert.equal((await healthOf(health)).ready, true, 'the other worker still serves');
      await waitFor(async () => (await healthOf(health)).status === 'ok', 15_000, 'back to two workers');
      const pids = childPids(gateway.child.pid!);
      assert.equal(pids.length, 2);
      assert.ok(!pids.includes(victim!));
      const { key } = await createKeyWithCli(storePath);
      for (let i = 0; i < 6; i++) assert.equal(await statusOnNewConnection(gateway.url, key), 200);
    });

    it('stops every worker on SIGTERM and exits 0', async () => {
      const workers = childPids(gateway.child.pid!);
      assert.equal(await gateway.stop(), 0);
      for (const pid of workers) assert.throws(() => process.kill(pid, 0), 'worker exited');
    });
  });
}

describe('serve flags for several nodes', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  it('exits 2 naming the flag for a bad --workers, --stale-for or --health-listen', async () => {
    const store = join(directory.path, 'k.db');
    const cases: Array<[string[], RegExp]> = [
      [['--workers', '0'], /workers \(from --workers\): expected a number >= 1, found 0/],
      [['--workers', 'two'], /workers \(from --workers\): expected integer, found "two"/],
      [['--stale-for', 'soon'], /changeFeed\.staleFor \(from --stale-for\): expected a duration/],
      [['--stale-for', '100ms'], /changeFeed\.staleFor \(from --stale-for\): expected at least 1000ms/],
      [['--health-listen', 'nowhere'], /health\.listen \(from --health-listen\): expected HOST:PORT/],
    ];
    for (const [flags, message] of cases) {
      const result = await runCli(['serve', '--store', store, ...flags], { env: { PORTCULLIS_ADMIN_LISTEN: '' } });
      assert.equal(result.code, 2, `${flags.join(' ')} → ${result.code}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });
});
