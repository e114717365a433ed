/**
 * A restart without a gap, under load: a replacement gateway is started on the same port
 * while the old one still serves (both listen with SO_REUSEPORT), and the old one gets SIGTERM
 * as soon as the replacement listens. A client that re-sends an idempotent request whose
 * connection closed before any response byte (as browsers do) sees no failed request: the old
 * process stops accepting at once (the kernel sends new connections to the replacement) and
 * closes each kept-alive connection only where no request is on it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnFaultGateway, type FaultGateway } from '../support/fault-gateway.ts';
import { freePort } from '../support/free-port.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { sentBetween, startSteadyLoad, withKey, type LoadReport } from '../support/steady-load.ts';

const RATE = 100;
const UPSTREAM_LATENCY_MS = 20;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('faults: SIGTERM with a replacement started at once, under load', () => {
  const directory = temporaryDirectory();
  let upstream: RecordingUpstream;
  let old: FaultGateway;
  let replacement: FaultGateway | null = null;
  let report: LoadReport;
  let oldExit: number | null = null;
  const at = { replacing: 0, listening: 0, terminated: 0, oldExited: 0 };
  const since = (from: number, time: number) => `${Math.round(time - from)} ms`;

  before(async () => {
    // Requests stay in flight for a moment, so SIGTERM finds some on the old process.
    upstream = await startRecordingUpstream((req, res) => {
      req.resume();
      setTimeout(() => res.end('{"ok":true}'), UPSTREAM_LATENCY_MS);
    });
    const storePath = join(directory.path, 'keys.db');
    const { key } = await createKeyInStore(storePath);
    const listen = `127.0.0.1:${await freePort()}`;
    const args = ['--listen', listen, '--upstream', upstream.url, '--store', storePath];
    old = await spawnFaultGateway(args);

    const load = startSteadyLoad({ origin: old.url, label: 'keyed', rate: RATE, target: withKey(key) });
    try {
      await sleep(2000);
      at.replacing = performance.now();
      try {
        replacement = await spawnFaultGateway(args);
      } catch (error) {
        throw new Error(`the replacement could not listen on ${listen} while the old gateway does (the public listener needs SO_REUSEPORT): ${(error as Error).message.split('\n').slice(0, 6).join('\n')}`, { cause: error });
      }
      at.listening = performance.now();
      at.terminated = performance.now();
      old.child.kill('SIGTERM');
      oldExit = await old.exited;
      at.oldExited = performance.now();
      await sleep(2000);
    } finally {
      report = await load.stop();
    }
  }, { timeout: 60_000 });

  after(async () => {
    await old?.stop();
    await replacement?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('fails no request of a client that re-sends idempotent requests on a closed connection', (t) => {
    const resent = report.where((outcome) => outcome.firstError !== null);
    t.diagnostic(report.summary());
    t.diagnostic(`replacement listening ${since(at.replacing, at.listening)} after it was started; old process drained and exited ${since(at.terminated, at.oldExited)} after SIGTERM; ${resent.length} requests met a closed connection and were sent again (${[...new Set(resent.map((outcome) => outcome.firstError))].join(', ') || 'none'})`);
    assert.deepEqual(report.tally(), { 200: report.outcomes.length });
  });

  it('hands over: the old process exits 0 after draining, the replacement serves on', () => {
    assert.equal(oldExit, 0);
    assert.ok(replacement?.alive(), 'the replacement is running');
    const afterwards = sentBetween(at.oldExited, Number.POSITIVE_INFINITY);
    assert.ok(report.count(afterwards) > 0.5 * RATE);
    assert.deepEqual(report.tally(afterwards), { 200: report.count(afterwards) });
    const handover = sentBetween(at.terminated, at.oldExited);
    assert.deepEqual(report.tally(handover), { 200: report.count(handover) });
  });
});
