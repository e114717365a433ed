/**
 * One worker of `serve --workers 2` killed with SIGKILL under load: the supervisor starts a
 * new one; the surviving worker keeps answering; `/readyz` (served by the supervisor) stays
 * 200 throughout, since a node is ready while any worker is.
 *
 * What is lost: a killed process cannot finish anything, so every request the dead worker
 * was answering at that instant dies with it, and the kernel resets the connections it held
 * (in-flight or idle, and those still in its accept queue). The load's client re-sends an
 * idempotent request whose connection closed before any response byte, as browsers do, so a
 * request is lost for good only if the dead worker had begun its response. Hence the bound:
 * no more lost requests than were in flight at the kill.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnFaultGateway, type FaultGateway } from '../support/fault-gateway.ts';
import { waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { establishedConnections, processTree } from '../support/process-tree.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { firstSample, watchReadiness, type ReadinessSample } from '../support/readiness-watch.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { sentBetween, startSteadyLoad, withKey, type LoadReport } from '../support/steady-load.ts';

const RATE = 100;
const UPSTREAM_LATENCY_MS = 30;
/** By then the client has read the close of every connection the dead worker held. */
const SETTLED_AFTER_MS = 500;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const workersOf = (supervisor: number) => processTree(supervisor).slice(1);

describe('faults: a worker killed with SIGKILL under --workers 2', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let gateway: FaultGateway;
  let report: LoadReport;
  let samples: ReadinessSample[] = [];
  let victim = 0;
  let connectionsOnVictim = 0;
  let replacement = 0;
  const at = { killed: 0, replaced: 0 };
  const since = (from: number, time: number) => `${Math.round(time - from)} ms`;

  before(async () => {
    // A little upstream latency keeps several requests, so several connections, in flight:
    // the kernel then spreads them over both workers.
    upstream = await startRecordingUpstream((req, res) => {
      req.resume();
      setTimeout(() => res.end('{"ok":true}'), UPSTREAM_LATENCY_MS);
    });
    const storePath = join(directory.path, 'keys.db');
    const { key } = await createKeyInStore(storePath);
    gateway = await spawnFaultGateway(['--workers', '2', '--upstream', upstream.url, '--store', storePath], { PORTCULLIS_WORKER_BALANCING: 'reuse-port' });
    const supervisor = gateway.child.pid!;
    await waitFor(async () => workersOf(supervisor).length === 2, 5000, 'two workers');

    const watch = watchReadiness(gateway.health!);
    const load = startSteadyLoad({ origin: gateway.url, label: 'keyed', rate: RATE, target: withKey(key) });
    await sleep(2000);
    const original = workersOf(supervisor);
    const port = Number(new URL(gateway.url).port);
    // The worker holding the most client connections: killing it must cost something.
    await waitFor(async () => original.some((pid) => establishedConnections(pid, port) > 0), 3000, 'client connections on a worker');
    victim = original.reduce((most, pid) => (establishedConnections(pid, port) > establishedConnections(most, port) ? pid : most));
    connectionsOnVictim = establishedConnections(victim, port);
    at.killed = performance.now();
    process.kill(victim, 'SIGKILL');
    await waitFor(async () => {
      const now = workersOf(supervisor);
      replacement = now.find((pid) => !original.includes(pid)) ?? 0;
      return now.length === 2 && replacement !== 0 && gateway.logLines('gateway listening').length >= 3;
    }, 10_000, 'a replacement worker listening');
    at.replaced = performance.now();
    await sleep(2000);
    report = await load.stop();
    samples = await watch.stop();
  }, { timeout: 60_000 });

  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('loses no more requests than the dead worker was answering, and only around the kill', (t) => {
    const inFlightAtKill = report.count((outcome) => outcome.sentAt <= at.killed && outcome.endedAt >= at.killed);
    const failed = report.where((outcome) => outcome.status !== 200 || outcome.error !== null);
    const resent = report.where((outcome) => outcome.firstError !== null);
    t.diagnostic(report.summary());
    t.diagnostic(`kill: the victim held ${connectionsOnVictim} client connections; ${inFlightAtKill} requests in flight (on either worker); ${resent.length} met a closed connection and were sent again (${[...new Set(resent.map((outcome) => outcome.firstError))].join(', ') || 'none'}); ${failed.length} lost for good`);
    assert.ok(failed.length <= inFlightAtKill, `${failed.length} lost > ${inFlightAtKill} in flight: ${JSON.stringify(report.tally())}`);
    for (const outcome of [...failed, ...resent]) assert.ok(outcome.sentAt <= at.killed + SETTLED_AFTER_MS, `a request sent ${since(at.killed, outcome.sentAt)} after the kill met a closed connection`);
  });

  it('keeps answering through the surviving worker until the replacement is up', () => {
    const meanwhile = sentBetween(at.killed + SETTLED_AFTER_MS, at.replaced);
    assert.ok(report.count(meanwhile) > 0.5 * RATE * ((at.replaced - at.killed - SETTLED_AFTER_MS) / 1000));
    assert.deepEqual(report.tally(meanwhile), { 200: report.count(meanwhile) });
  });

  it('is replaced by the supervisor, and the node stays ready throughout', (t) => {
    assert.notEqual(replacement, 0);
    assert.equal(gateway.logLines('worker died; starting a new one').length, 1);
    const unready = samples.filter((sample) => sample.status !== 200);
    assert.deepEqual(unready.map((sample) => sample.status), [], '/readyz 200 while any worker is ready');
    const missing = firstSample(samples, at.killed, (sample) => sample.report?.status === 'degraded');
    const whole = missing === null ? null : firstSample(samples, missing.at, (sample) => sample.report?.status === 'ok');
    t.diagnostic(`replacement listening ${since(at.killed, at.replaced)} after the kill (the supervisor waits 1 s before forking); health degraded ${missing === null ? 'never' : since(at.killed, missing.at)} after, ok again ${whole === null ? 'not yet' : since(at.killed, whole.at)} after`);
    assert.ok(gateway.alive());
  });
});
