/**
 * Redis killed under load (SIGKILL of a private redis-server, then a new one on the same
 * port): two gateway processes share one key's rate limit through Redis; while Redis is gone
 * each limits the key on its own (the limit degrades to per node, it is never off); once Redis
 * is back they share one budget again. Every request gets 200 or 429 throughout, never an error.
 *
 * GCRA's guarantee gives the ceilings exactly: in any window of T seconds a limiter admits at
 * most burst + rate × T. Shared, that holds for both nodes together; per node, for each.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { spawnFaultGateway, type FaultGateway } from '../support/fault-gateway.ts';
import { waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { freePort, REDIS_SERVER_BINARY, startOwnRedis, uniqueRedisPrefix, type OwnRedis } from '../support/redis.ts';
import { describeNeeding } from '../support/required-service.ts';
import { sentBetween, startSteadyLoad, withKey, type LoadOutcome, type LoadReport } from '../support/steady-load.ts';

const RATE = 10;
const BURST = 10;
/** Requests per second each node is offered: 1.5 × the limit, so one node alone is limited too. */
const OFFERED = 15;
const PHASE_MS = 4000;
/** Requests in flight at a window's edges, on either side. */
const EDGE = 2;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const redisServer = {
  service: `redis-server (${REDIS_SERVER_BINARY})`,
  unavailable: existsSync(REDIS_SERVER_BINARY) ? null : 'not installed (apt-get install redis-server)',
};

describeNeeding(redisServer, 'faults: Redis killed under load', () => {
  const directory = temporaryDirectory();
  let redis: OwnRedis;
  let upstream: RecordingUpstream;
  const gateways: FaultGateway[] = [];
  let reports: LoadReport[] = [];
  const at = { killed: 0, restarted: 0, shared: 0, end: 0 };
  const admitted = (from: number, to: number) => reports.reduce((sum, report) => sum + report.count((outcome: LoadOutcome) => sentBetween(from, to)(outcome) && outcome.status === 200), 0);
  const perNode = (from: number, to: number) => reports.map((report) => report.count((outcome) => sentBetween(from, to)(outcome) && outcome.status === 200));
  const ceiling = (windowMs: number) => BURST + (RATE * windowMs) / 1000 + EDGE;

  before(async () => {
    const port = await freePort();
    redis = await startOwnRedis(port);
    upstream = await startRecordingUpstream();
    const storePath = join(directory.path, 'keys.db');
    const { key } = await createKeyInStore(storePath, { rateLimit: `${RATE}/s burst ${BURST}` });
    // A generous command timeout: on a busy machine a slow answer would send a node to its
    // local limits and blur the phases this test tells apart.
    const env = { PORTCULLIS_REDIS_KEY_PREFIX: uniqueRedisPrefix(), PORTCULLIS_REDIS_COMMAND_TIMEOUT: '1s' };
    for (let index = 0; index < 2; index++) gateways.push(await spawnFaultGateway(['--upstream', upstream.url, '--store', storePath, '--redis', redis.url], env));

    const loads = gateways.map((gateway, index) => startSteadyLoad({ origin: gateway.url, label: `node ${index + 1}`, rate: OFFERED, target: withKey(key) }));
    await sleep(PHASE_MS);
    at.killed = performance.now();
    await redis.kill();
    await sleep(PHASE_MS);
    at.restarted = performance.now();
    redis = await startOwnRedis(port);
    await waitFor(async () => gateways.every((gateway) => gateway.logLines('Redis reachable: limits are shared by every node again').length === 1), 10_000, 'both nodes share limits again');
    at.shared = performance.now();
    await sleep(PHASE_MS);
    at.end = performance.now();
    reports = await Promise.all(loads.map((load) => load.stop()));
  }, { timeout: 60_000 });

  after(async () => {
    for (const gateway of gateways) await gateway.stop();
    await redis?.kill();
    await upstream?.close();
    directory.remove();
  });

  it('answers every request with 200 or 429, never an error, and keeps running', (t) => {
    for (const report of reports) {
      t.diagnostic(report.summary());
      assert.deepEqual(Object.keys(report.tally()).filter((name) => name !== '200' && name !== '429 rate_limited'), [], report.summary());
    }
    for (const gateway of gateways) assert.ok(gateway.alive());
  });

  it('shares one budget between the nodes while Redis answers', (t) => {
    // From the second second on: the first holds the burst.
    const from = reports[0]!.outcomes[0]!.sentAt + 1000;
    const count = admitted(from, at.killed);
    t.diagnostic(`shared: ${count} admitted in ${Math.round(at.killed - from)} ms by both nodes together (ceiling ${Math.floor(ceiling(at.killed - from))}), of ${OFFERED * 2}/s offered`);
    assert.ok(count <= ceiling(at.killed - from), `${count} admitted`);
  });

  it('limits on each node alone while Redis is gone: never off, at most the limit per node', (t) => {
    const window = at.restarted - at.killed;
    const counts = perNode(at.killed, at.restarted);
    const refused = reports.map((report) => report.count((outcome) => sentBetween(at.killed, at.restarted)(outcome) && outcome.status === 429));
    t.diagnostic(`Redis gone for ${Math.round(window)} ms: admitted ${counts.join(' + ')} (ceiling ${Math.floor(ceiling(window))} per node; one shared budget would allow that for both together), refused ${refused.join(' + ')}`);
    for (const count of counts) assert.ok(count <= ceiling(window), `${count} admitted by one node`);
    for (const count of refused) assert.ok(count > 0, 'each node still refuses: the limit is never off');
    // Each node on its own budget admits more in all than one shared budget could.
    assert.ok(counts[0]! + counts[1]! > ceiling(window), `${counts[0]! + counts[1]!} admitted: per node, not shared`);
    for (const gateway of gateways) assert.equal(gateway.logLines(/^Redis unreachable/).length, 1, 'logged once per node');
  });

  it('shares one budget again once Redis is back', (t) => {
    // A new Redis starts empty: one fresh burst, then the rate.
    const window = at.end - at.shared;
    const count = admitted(at.shared, at.end);
    t.diagnostic(`Redis back: both nodes shared again ${Math.round(at.shared - at.restarted)} ms after it started; then ${count} admitted in ${Math.round(window)} ms (ceiling ${Math.floor(ceiling(window))})`);
    assert.ok(count <= ceiling(window), `${count} admitted`);
  });
});
