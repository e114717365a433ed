/**
 * PostgreSQL hung under load: the private server's postmaster and every backend frozen with
 * SIGSTOP. Harder than a stop: connections are not refused, they hang (the kernel still
 * completes TCP handshakes into the frozen postmaster's backlog, and open connections get no
 * answer), so the gateway can only learn of the outage from timeouts.
 *
 * Two gateways follow the same database through one 6 s hang, under steady load:
 * - `short`: changeFeed.staleFor 2 s, and `health.readyWhileStoreUnreachable`. Known keys work
 *   for 2 s, then get 503, and `/readyz` turns 503 when staleFor runs out (while it serves
 *   known keys it is `degraded` and stays ready).
 * - `long`: staleFor 10 s, longer than the hang, readiness as by default. Known keys work
 *   throughout, yet `/readyz` turns 503 within 3 s (a node that cannot see revocations sends
 *   the load balancer elsewhere); it must say within 3 s that the store is unreachable, and
 *   stop calling a key it remembers as unknown invalid (the key may have been created since).
 * On both, revoked keys stay revoked, never-seen keys get 503 (never 401) and everything
 * recovers after SIGCONT. The scenario runs in `before`; each `it` judges one promise.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { generateKey } from '../../src/keys/key-format.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { spawnFaultGateway, type FaultGateway } from '../support/fault-gateway.ts';
import { callWithKey, waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { runSql } from '../support/postgres.ts';
import { checkPrivatePostgres, PrivatePostgres } from '../support/private-postgres.ts';
import { freezeTree } from '../support/process-tree.ts';
import { firstSample, watchReadiness, type ReadinessSample, type ReadinessWatch } from '../support/readiness-watch.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { describeNeeding } from '../support/required-service.ts';
import { sentBetween, startSteadyLoad, withKey, type LoadOutcome, type LoadReport, type RunningLoad } from '../support/steady-load.ts';

const HANG_MS = 6000;
const SHORT_STALE_FOR_MS = 2000;
const LONG_STALE_FOR_MS = 10_000;
/** How soon after the hang a node must know: /readyz (short), the report and remembered unknowns (long). */
const NOTICE_BUDGET_MS = 3000;
/** Slack for timer and scheduling jitter on a shared, busy 2-CPU machine, either side of a bound. */
const SLACK_MS = 750;
/** From SIGCONT to known keys working again. */
const RECOVERY_BOUND_MS = 2000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The postmaster's pid, from `postmaster.pid` in the server's data directory. */
async function postmasterPid(url: string): Promise<number> {
  const { rows } = await runSql(url, 'SHOW data_directory');
  const folder = (rows[0] as { data_directory: string }).data_directory;
  return Number(readFileSync(join(folder, 'postmaster.pid'), 'utf8').split('\n')[0]);
}

/** One gateway of the scenario, and what was recorded against it. */
interface Node {
  gateway: FaultGateway;
  staleFor: number;
  loads: RunningLoad[];
  watch: ReadinessWatch | null;
  reports: Record<string, LoadReport>;
  samples: ReadinessSample[];
}

describeNeeding(checkPrivatePostgres(), 'faults: PostgreSQL hung (SIGSTOP) under load', () => {
  let database: PrivatePostgres;
  let upstream: RecordingUpstream;
  let thaw: (() => void) | null = null;
  const nodes: Record<'short' | 'long', Node> = {} as Record<'short' | 'long', Node>;
  const at = { frozen: 0, thawed: 0 };
  const since = (from: number, time: number) => `${Math.round(time - from)} ms`;
  const answeredWhileHung = (outcome: LoadOutcome) => outcome.sentAt >= at.frozen && outcome.endedAt < at.thawed;

  before(async () => {
    database = await PrivatePostgres.create();
    const known = await createKeyInStore(database.url);
    const revoked = await createKeyInStore(database.url);
    const seenUnknown = generateKey('pcl');
    upstream = await startRecordingUpstream();
    for (const [name, staleFor] of [['short', SHORT_STALE_FOR_MS], ['long', LONG_STALE_FOR_MS]] as const) {
      const readiness = name === 'short' ? { PORTCULLIS_HEALTH_READY_WHILE_STORE_UNREACHABLE: 'true' } : {};
      const gateway = await spawnFaultGateway(['--upstream', upstream.url, '--store', database.url, '--stale-for', `${staleFor}ms`], { PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '50ms', ...readiness });
      nodes[name] = { gateway, staleFor, loads: [], watch: null, reports: {}, samples: [] };
      assert.equal((await callWithKey(gateway.url, known.key)).status, 200);
      assert.equal((await callWithKey(gateway.url, revoked.key)).status, 200);
      assert.equal((await callWithKey(gateway.url, seenUnknown)).code, 'key_invalid');
    }
    const store = await openKeyStore(database.url);
    await store.revokeKey(revoked.id, 'revoked before the hang', Date.now(), CLI_ACTOR);
    await store.close();
    for (const node of Object.values(nodes)) await waitFor(async () => (await callWithKey(node.gateway.url, revoked.key)).code === 'key_revoked', 3000, 'revocation applied');
    const postmaster = await postmasterPid(database.url);

    for (const node of Object.values(nodes)) {
      const origin = node.gateway.url;
      node.watch = watchReadiness(node.gateway.health!);
      node.loads = [
        startSteadyLoad({ origin, label: 'known', rate: 30, target: withKey(known.key) }),
        startSteadyLoad({ origin, label: 'revoked', rate: 5, target: withKey(revoked.key) }),
        startSteadyLoad({ origin, label: 'seen unknown', rate: 10, target: withKey(seenUnknown) }),
        // Each of these waits for the hung store until a timeout: keep them few.
        startSteadyLoad({ origin, label: 'never seen', rate: 4, target: withKey(() => generateKey('pcl')) }),
      ];
    }
    await sleep(1000);
    at.frozen = performance.now();
    thaw = freezeTree(postmaster).thaw;
    await sleep(HANG_MS);
    at.thawed = performance.now();
    thaw();
    thaw = null;
    await sleep(RECOVERY_BOUND_MS + 2000);
    for (const node of Object.values(nodes)) {
      for (const report of await Promise.all(node.loads.map((load) => load.stop()))) node.reports[report.label] = report;
      node.samples = await node.watch!.stop();
    }
  }, { timeout: 60_000 });

  after(async () => {
    thaw?.();
    for (const node of Object.values(nodes)) await node.gateway.stop();
    await upstream?.close();
    await database?.destroy();
  });

  it('answers every request under load, and keeps running', (t) => {
    for (const [name, node] of Object.entries(nodes)) {
      for (const report of Object.values(node.reports)) {
        t.diagnostic(`${name} (staleFor ${node.staleFor} ms): ${report.summary()}`);
        assert.equal(report.count((outcome) => outcome.error !== null), 0, report.summary());
        assert.equal(report.count((outcome) => outcome.status === 429 || (outcome.status! >= 500 && outcome.code !== 'store_unavailable')), 0, report.summary());
      }
      assert.ok(node.gateway.alive(), `${name} is still running`);
    }
  });

  it('serves known keys from memory, without waiting for the store, until changeFeed.staleFor; then 503', (t) => {
    const short = nodes.short.reports.known!;
    const trusted = sentBetween(0, at.frozen + SHORT_STALE_FOR_MS - SLACK_MS);
    assert.deepEqual(short.tally(trusted), { 200: short.count(trusted) });
    const stale = sentBetween(at.frozen + SHORT_STALE_FOR_MS + SLACK_MS, at.thawed);
    assert.ok(short.count(stale) > 20);
    assert.deepEqual(short.tally(stale), { '503 store_unavailable': short.count(stale) });
    const long = nodes.long.reports.known!;
    const hung = sentBetween(0, at.thawed);
    assert.deepEqual(long.tally(hung), { 200: long.count(hung) }, 'staleFor outlasts the hang');
    const slowest = Math.max(...[short, long].flatMap((report) => report.where(sentBetween(at.frozen, at.thawed)).map((outcome) => outcome.endedAt - outcome.sentAt)));
    assert.ok(slowest < 1000, `a known key never waits for the hung store (slowest ${Math.round(slowest)} ms)`);
    const firstRefused = short.where((outcome) => outcome.status === 503)[0]!;
    t.diagnostic(`known key: short node's first 503 sent ${since(at.frozen, firstRefused.sentAt)} after the freeze; long node served all ${long.count(sentBetween(at.frozen, at.thawed))} sent while hung; slowest answer while hung ${Math.round(slowest)} ms`);
  });

  it('keeps a key revoked before the hang refused as revoked throughout', () => {
    for (const node of Object.values(nodes)) assert.deepEqual(node.reports.revoked!.tally(), { '401 key_revoked': node.reports.revoked!.outcomes.length });
  });

  it('refuses a never-seen key with 503 once its lookup times out, never with 401', (t) => {
    for (const [name, node] of Object.entries(nodes)) {
      const never = node.reports['never seen']!;
      assert.ok(never.count(answeredWhileHung) > 5);
      assert.deepEqual(never.tally(answeredWhileHung), { '503 store_unavailable': never.count(answeredWhileHung) });
      const waits = never.where(answeredWhileHung).map((outcome) => outcome.endedAt - outcome.sentAt);
      t.diagnostic(`${name}: ${waits.length} never-seen keys answered 503 while hung, after ${Math.round(Math.min(...waits))}–${Math.round(Math.max(...waits))} ms (PostgreSQL pool: connect timeout 3 s, statement timeout 10 s)`);
    }
  });

  it('turns /readyz 503 within 3 s of the hang when changeFeed.staleFor is shorter than that', (t) => {
    const { samples } = nodes.short;
    const notReady = firstSample(samples, at.frozen, (sample) => sample.status === 503);
    t.diagnostic(`short node: /readyz 503 ${notReady === null ? 'never' : since(at.frozen, notReady.at)} after the freeze`);
    assert.ok(notReady !== null && notReady.at - at.frozen <= NOTICE_BUDGET_MS, '/readyz 503 within 3 s');
    assert.equal(notReady.report?.status, 'not_ready');
    assert.match(notReady.report!.reasons.join('\n'), /key store/);
  });

  // Needs the hang noticed by a probe with a timeout: the change feed's own poll only fails at
  // PostgreSQL's statement timeout (10 s), so until then nothing calls the store unreachable.
  it('by default turns /readyz 503 within 3 s of the hang, naming the store, while it still serves known keys', (t) => {
    const { samples } = nodes.long;
    const named = firstSample(samples, at.frozen, (sample) => sample.report?.store.reachable === false);
    t.diagnostic(`long node: /readyz 503 naming the store ${named === null ? 'never' : since(at.frozen, named.at)} after the freeze`);
    assert.ok(named !== null && named.at - at.frozen <= NOTICE_BUDGET_MS, 'the report names the store within 3 s');
    assert.deepEqual([named.status, named.report?.status, named.report?.parts.store], [503, 'not_ready', 'failed']);
    const known = nodes.long.reports.known!;
    const whileHung = sentBetween(at.frozen, at.thawed - SLACK_MS);
    assert.deepEqual(known.tally(whileHung), { 200: known.count(whileHung) }, 'known keys served throughout the hang');
  });

  // Needs the same notice: the verifier only stops trusting "unknown" once told the store is out of reach.
  it('refuses a key it remembers as unknown with 503 within 3 s of the hang, never 401 after', (t) => {
    const seen = nodes.long.reports['seen unknown']!;
    const invalid = seen.where((outcome) => outcome.code === 'key_invalid' && outcome.sentAt >= at.frozen && outcome.sentAt < at.thawed);
    t.diagnostic(`long node: remembered unknown key answered 401 until ${invalid.length === 0 ? 'never' : since(at.frozen, invalid.at(-1)!.sentAt)} after the freeze`);
    const afterNotice = (outcome: LoadOutcome) => outcome.sentAt >= at.frozen + NOTICE_BUDGET_MS && outcome.endedAt < at.thawed;
    assert.ok(seen.count(afterNotice) > 20);
    assert.deepEqual(seen.tally(afterNotice), { '503 store_unavailable': seen.count(afterNotice) });
  });

  it('recovers by itself after SIGCONT', (t) => {
    for (const [name, node] of Object.entries(nodes)) {
      const known = node.reports.known!;
      const firstServed = known.where((outcome) => outcome.status === 200 && outcome.sentAt >= at.thawed)[0];
      assert.ok(firstServed !== undefined, `${name}: known key served after SIGCONT`);
      const settled = sentBetween(at.thawed + RECOVERY_BOUND_MS, Number.POSITIVE_INFINITY);
      assert.deepEqual(known.tally(settled), { 200: known.count(settled) });
      assert.deepEqual(node.reports['seen unknown']!.tally(settled), { '401 key_invalid': node.reports['seen unknown']!.count(settled) });
      assert.deepEqual(node.reports['never seen']!.tally(settled), { '401 key_invalid': node.reports['never seen']!.count(settled) });
      const ready = firstSample(node.samples, at.thawed, (sample) => sample.status === 200 && sample.report?.status === 'ok');
      assert.ok(ready !== null, `${name}: ok again`);
      const lastRefusal = known.where((outcome) => outcome.status !== 200).at(-1);
      t.diagnostic(`${name}: last refusal of the known key sent ${lastRefusal === undefined ? 'never' : since(at.thawed, lastRefusal.sentAt)} after SIGCONT; /readyz ok ${since(at.thawed, ready.at)} after`);
    }
  });
});
