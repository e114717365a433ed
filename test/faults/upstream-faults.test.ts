/**
 * An upstream that fails in every way a TCP peer can (test/support/faulty-upstream.ts), all at
 * once, while healthy traffic goes through the same gateway process and the same upstream
 * pool: each fault gets the answer docs/errors.md gives it, and the healthy traffic is not
 * touched. The gateway runs in its own process, so a crash would show as an exit.
 *
 * Fault requests are sent without client retries, to see exactly what the gateway answers.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { spawnFaultGateway, type FaultGateway } from '../support/fault-gateway.ts';
import { startFaultyUpstream, type FaultyUpstream } from '../support/faulty-upstream.ts';
import { probeHealth } from '../support/gateway-probes.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { temporaryDirectory } from '../support/processes.ts';
import { startSteadyLoad, withKey, type LoadReport } from '../support/steady-load.ts';

const HEADERS_TIMEOUT_MS = 2000;
const BODY_TIMEOUT_MS = 2000;
/** undici checks its timeouts about once a second; a busy machine adds its own delay. */
const TIMEOUT_SLACK_MS = 2500;
const LOAD_MS = 4000;

const FAULTS = ['/reset-before', '/reset-mid', '/bad-status', '/bad-header', '/hang', '/slow-body'] as const;

describe('faults: a misbehaving upstream', () => {
  const directory = temporaryDirectory();
  let upstream: FaultyUpstream;
  let gateway: FaultGateway;
  const reports: Record<string, LoadReport> = {};

  before(async () => {
    upstream = await startFaultyUpstream({ slowPauseMs: BODY_TIMEOUT_MS * 3 });
    const storePath = join(directory.path, 'keys.db');
    const { key } = await createKeyInStore(storePath);
    gateway = await spawnFaultGateway(['--upstream', upstream.url, '--store', storePath], {
      PORTCULLIS_UPSTREAM_HEADERS_TIMEOUT: `${HEADERS_TIMEOUT_MS}ms`,
      PORTCULLIS_UPSTREAM_BODY_TIMEOUT: `${BODY_TIMEOUT_MS}ms`,
    });
    const loads = [
      startSteadyLoad({ origin: gateway.url, label: '/ok', rate: 40, durationMs: LOAD_MS, target: withKey(key, '/ok') }),
      ...FAULTS.map((path) => startSteadyLoad({ origin: gateway.url, label: path, rate: 5, durationMs: LOAD_MS, retries: 0, target: withKey(key, path) })),
    ];
    for (const report of await Promise.all(loads.map((load) => load.done))) reports[report.label] = report;
  }, { timeout: 60_000 });

  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('keeps serving healthy requests through the same pool, all of them', (t) => {
    const ok = reports['/ok']!;
    t.diagnostic(ok.summary());
    assert.ok(ok.outcomes.length >= 0.9 * 40 * (LOAD_MS / 1000));
    assert.deepEqual(ok.tally(), { 200: ok.outcomes.length });
    const slowest = Math.max(...ok.outcomes.map((outcome) => outcome.endedAt - outcome.sentAt));
    assert.ok(slowest < HEADERS_TIMEOUT_MS, `no healthy request waited behind a broken one (slowest ${Math.round(slowest)} ms)`);
  });

  it('answers 502 upstream_unavailable when the upstream resets before answering, or answers with a bad status line or header', (t) => {
    for (const path of ['/reset-before', '/bad-status', '/bad-header']) {
      const report = reports[path]!;
      t.diagnostic(report.summary());
      assert.ok(report.outcomes.length >= 15);
      assert.deepEqual(report.tally(), { '502 upstream_unavailable': report.outcomes.length }, path);
    }
    assert.ok(upstream.received.get('/bad-header')! >= reports['/bad-header']!.outcomes.length, 'the requests reached the upstream');
  });

  it('answers 504 upstream_timeout when the upstream sends no headers within upstream.headersTimeout', (t) => {
    const report = reports['/hang']!;
    t.diagnostic(report.summary());
    assert.deepEqual(report.tally(), { '504 upstream_timeout': report.outcomes.length });
    for (const outcome of report.outcomes) {
      const waited = outcome.endedAt - outcome.sentAt;
      assert.ok(waited >= HEADERS_TIMEOUT_MS - 50 && waited < HEADERS_TIMEOUT_MS + TIMEOUT_SLACK_MS, `answered after ${Math.round(waited)} ms`);
    }
  });

  it('cuts the response off when the upstream fails after its headers (reset mid-body, or a pause past upstream.bodyTimeout)', (t) => {
    for (const path of ['/reset-mid', '/slow-body']) {
      const report = reports[path]!;
      t.diagnostic(report.summary());
      assert.ok(report.outcomes.length >= 15);
      // The status was already sent: the client sees it, then the body end before Content-Length.
      assert.equal(report.count((outcome) => outcome.status === 200 && outcome.error !== null), report.outcomes.length, JSON.stringify(report.tally()));
    }
    for (const outcome of reports['/slow-body']!.outcomes) {
      const waited = outcome.endedAt - outcome.sentAt;
      assert.ok(waited >= BODY_TIMEOUT_MS - 50 && waited < BODY_TIMEOUT_MS + TIMEOUT_SLACK_MS, `slow body cut after ${Math.round(waited)} ms`);
    }
  });

  it('never crashes, and is still ready', async () => {
    assert.ok(gateway.alive(), 'the gateway is still running');
    const ready = await probeHealth(gateway.health!, '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(gateway.logLines(/uncaught|unhandled/i).length, 0);
    assert.doesNotMatch(gateway.stderr(), /Error|uncaught|unhandled/i);
  });
});
