import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { spawnGateway, temporaryDirectory, type GatewayProcess } from '../support/processes.ts';
import { hammer } from '../support/load-client.ts';
import { freePort, SHARED_REDIS_URL, skipUnlessRedis, startOwnRedis, uniqueRedisPrefix, type OwnRedis } from '../support/redis.ts';
import { loadConfig } from '../../src/app/config.ts';
import { startGateway, type RunningGateway } from '../../src/app/gateway.ts';
import { createLogger } from '../../src/telemetry/logger.ts';

const skip = await skipUnlessRedis();

/**
 * Accuracy of a 100/s limit (burst 50) under load, over LOAD_MS, with the gateways in their
 * own processes. GCRA's guarantee gives the upper bound exactly: never more than
 * burst + 100 × t admitted (+2 for the requests in flight at either end). Below it, clients
 * lose only time in which the limiter saw no request for longer than the burst lasts (500 ms
 * here): a gateway process starved of CPU. On a quiet machine the shortfall is 1-2 %; on this
 * shared 2-core machine at a load average of 13 it reached 12 %. The documented tolerance
 * below the ceiling is therefore 20 %, and the run prints what it measured.
 */
const LOAD_MS = 2500;
const RATE = 100;
const BURST = 50;

/**
 * The longest stretch of the run in which the limiter refused nothing: from the start to the
 * first 429, between two 429s, or from the last 429 to the end.
 */
function longestStretchWithoutRefusal(refusedAtMs: readonly number[], spanMs: number): number {
  let longest = 0;
  let previous = 0;
  for (const at of [...refusedAtMs, spanMs]) {
    longest = Math.max(longest, at - previous);
    previous = at;
  }
  return longest;
}

/**
 * Runs the load and checks it against the tolerance. The ceiling is asserted on every run.
 * The floor holds only while the clients keep the limiter saturated: a 429 at least once per
 * burst's worth of time (500 ms) from start to end, so the bucket never sat full while
 * tokens went to waste, and at least one request in ten refused. A machine so busy that the
 * clients (or the gateway) stall for longer gets two more tries; if it still cannot, only the
 * ceiling is asserted and the test says so.
 */
async function measureAccuracy(urls: readonly string[], key: string, concurrency: number, label: string): Promise<void> {
  const burstMs = (BURST * 1000) / RATE;
  for (let attempt = 1; attempt <= 3; attempt++) {
    const result = await hammer(urls, key, LOAD_MS, concurrency);
    const admitted = result.byStatus.get(200) ?? 0;
    const refused = result.byStatus.get(429) ?? 0;
    assert.deepEqual([...result.byStatus.keys()].filter((status) => status !== 200 && status !== 429), [], `${label}: only 200 and 429`);
    const ceiling = BURST + (RATE * result.spanMs) / 1000 + 2;
    const floor = 0.8 * (BURST + (RATE * result.spanMs) / 1000);
    const measured = ((admitted - BURST) * 1000) / result.spanMs;
    const stall = longestStretchWithoutRefusal(result.refusedAtMs, result.spanMs);
    process.stdout.write(`# ${label}: ${admitted} admitted, ${refused} refused in ${Math.round(result.spanMs)} ms = ${measured.toFixed(1)}/s after the burst (ceiling ${ceiling.toFixed(0)}, floor ${floor.toFixed(0)}; longest stretch without a 429 ${Math.round(stall)} ms; load average ${loadavg()[0]?.toFixed(1)})\n`);
    assert.ok(admitted <= ceiling, `${label}: ${admitted} admitted > ${ceiling}`);
    if (refused >= admitted / 10 && stall <= burstMs) {
      assert.ok(admitted >= floor, `${label}: ${admitted} admitted < ${floor}`);
      return;
    }
    // The key's burst is spent; let it refill before the next try.
    await new Promise((resolve) => setTimeout(resolve, burstMs));
  }
  process.stdout.write(`# ${label}: the clients never kept the limiter saturated (machine too busy); only the ceiling was checked\n`);
}

describe('rate-limit accuracy: 8 concurrent clients against 100/s', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;

  before(async () => {
    upstream = await startRecordingUpstream();
  });
  after(async () => {
    await upstream.close();
    directory.remove();
  });

  it('memory backend, one gateway process', async () => {
    const gateway = await spawnGateway(['--upstream', upstream.url, '--store', storePath]);
    try {
      const { key } = await createKeyInStore(storePath, { rateLimit: `${RATE}/s burst ${BURST}` });
      await measureAccuracy([gateway.url], key, 8, 'memory');
    } finally {
      await gateway.stop();
    }
  });

  it('Redis backend, two gateway processes sharing one Redis', { skip }, async () => {
    const { key } = await createKeyInStore(storePath, { rateLimit: `${RATE}/s burst ${BURST}` });
    // A generous timeout: on a busy machine a slow answer would send a node to its local fallback.
    const env = { PORTCULLIS_REDIS_KEY_PREFIX: uniqueRedisPrefix(), PORTCULLIS_REDIS_COMMAND_TIMEOUT: '2s' };
    const gateways: GatewayProcess[] = [];
    try {
      for (let i = 0; i < 2; i++) gateways.push(await spawnGateway(['--upstream', upstream.url, '--store', storePath, '--redis', SHARED_REDIS_URL], { env }));
      await measureAccuracy(gateways.map((gateway) => gateway.url), key, 4, 'redis, 2 processes');
      for (const gateway of gateways) assert.doesNotMatch(gateway.stdout(), /Redis unreachable/);
    } finally {
      await Promise.all(gateways.map((gateway) => gateway.stop()));
    }
  });
});

/** A gateway in this process whose log lines the test can read. */
async function startLoggedGateway(upstream: string, storePath: string, redisUrl: string, prefix: string): Promise<{ url: string; gateway: RunningGateway; logs: string[] }> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString().split('\n').filter((line) => line !== ''));
      done();
    },
  });
  const config = loadConfig({
    env: { PORTCULLIS_REDIS_KEY_PREFIX: prefix, PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '20ms', PORTCULLIS_ADMIN_LISTEN: '' },
    flags: [
      { field: 'listen', value: '127.0.0.1:0', flag: '--listen' },
      { field: 'upstream.url', value: upstream, flag: '--upstream' },
      { field: 'store', value: storePath, flag: '--store' },
      { field: 'redis.url', value: redisUrl, flag: '--redis' },
    ],
  });
  const gateway = await startGateway(config, createLogger('info', sink));
  return { url: `http://127.0.0.1:${gateway.address.port}`, gateway, logs };
}

async function status(url: string, key: string): Promise<number> {
  const response = await request(`${url}/fault`, { headers: { 'x-api-key': key } });
  await response.body.dump();
  return response.statusCode;
}

describe('Redis stopped mid-run', { skip }, () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let redis: OwnRedis;
  let port: number;

  before(async () => {
    upstream = await startRecordingUpstream();
    port = await freePort();
    redis = await startOwnRedis(port);
  });
  after(async () => {
    await redis.kill();
    await upstream.close();
    directory.remove();
  });

  it('keeps limiting locally with no 5xx, logs it once, and shares limits again once Redis is back', async () => {
    const prefix = uniqueRedisPrefix();
    const a = await startLoggedGateway(upstream.url, storePath, redis.url, prefix);
    const b = await startLoggedGateway(upstream.url, storePath, redis.url, prefix);
    try {
      const { key } = await createKeyInStore(storePath, { rateLimit: '1/m burst 3' });
      // Shared: three admitted in all, whichever node is asked.
      assert.deepEqual([await status(a.url, key), await status(b.url, key), await status(a.url, key), await status(b.url, key)], [200, 200, 200, 429]);

      await redis.kill();
      const during: number[] = [];
      for (let i = 0; i < 20; i++) during.push(await status(a.url, key));
      // Node A alone: a fresh local budget of 3, then refusals. Never a 5xx, never unlimited.
      assert.deepEqual(during, [200, 200, 200, ...Array<number>(17).fill(429)]);
      const unreachable = (logs: string[]) => logs.filter((line) => line.includes('Redis unreachable')).length;
      assert.equal(unreachable(a.logs), 1, a.logs.join('\n'));
      assert.ok(unreachable(b.logs) <= 1);

      redis = await startOwnRedis(port);
      const reachable = (logs: string[]) => logs.some((line) => line.includes('limits are shared by every node again'));
      const deadline = Date.now() + 15_000;
      while (!(reachable(a.logs) && reachable(b.logs)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(reachable(a.logs) && reachable(b.logs), 'both nodes went back to Redis');

      // The restarted Redis is empty: one shared budget of 3 again, across both nodes.
      const { key: fresh } = await createKeyInStore(storePath, { rateLimit: '1/m burst 3' });
      assert.deepEqual([await status(b.url, fresh), await status(a.url, fresh), await status(b.url, fresh), await status(a.url, fresh)], [200, 200, 200, 429]);
    } finally {
      await a.gateway.stop();
      await b.gateway.stop();
    }
  });
});
