import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessHealth, combineWorkerReports, healthResponse, type GatewayHealthSnapshot } from './health-report.ts';

const now = 1_700_000_000_000;

function snapshot(overrides: Partial<GatewayHealthSnapshot> = {}, store: Partial<GatewayHealthSnapshot['store']> = {}): GatewayHealthSnapshot {
  return {
    phase: 'serving',
    store: { reachable: true, lastContactAt: now - 20, freshUntil: now + 300_000, ...store },
    changeFeed: { lastSeq: 42, notifications: 'listening' },
    ...overrides,
  };
}

describe('assessHealth', () => {
  it('is ok and ready when serving with a reachable store', () => {
    const report = assessHealth(snapshot(), now);
    assert.equal(report.status, 'ok');
    assert.equal(report.ready, true);
    assert.deepEqual(report.reasons, []);
    assert.deepEqual(report.store, { reachable: true, lastContactAt: new Date(now - 20).toISOString(), cachedKeysTrustedUntil: new Date(now + 300_000).toISOString() });
    assert.deepEqual(report.changeFeed, { lastSeq: 42, notifications: 'listening' });
  });

  it('is degraded but ready while the store is unreachable and cached keys are still trusted', () => {
    const report = assessHealth(snapshot({}, { reachable: false, lastContactAt: now - 10_000, freshUntil: now + 5_000 }), now);
    assert.equal(report.status, 'degraded');
    assert.equal(report.ready, true);
    assert.match(report.reasons.join('\n'), /key store unreachable: known keys are served from memory until/);
  });

  it('is not ready once the store has been unreachable for longer than staleFor', () => {
    const report = assessHealth(snapshot({}, { reachable: false, lastContactAt: now - 400_000, freshUntil: now - 100_000 }), now);
    assert.equal(report.status, 'not_ready');
    assert.equal(report.ready, false);
    assert.match(report.reasons.join('\n'), /longer than changeFeed.staleFor/);
  });

  it('is degraded while LISTEN reconnects, and says nothing of notifications on stores without them', () => {
    assert.equal(assessHealth(snapshot({ changeFeed: { lastSeq: 1, notifications: 'reconnecting' } }), now).status, 'degraded');
    assert.equal(assessHealth(snapshot({ changeFeed: { lastSeq: 1, notifications: 'not-used' } }), now).status, 'ok');
  });

  it('is not ready while starting or draining, whatever else holds', () => {
    for (const phase of ['starting', 'draining'] as const) {
      const report = assessHealth(snapshot({ phase, changeFeed: { lastSeq: 1, notifications: 'reconnecting' } }), now);
      assert.equal(report.status, 'not_ready', phase);
      assert.equal(report.reasons.length, 2, 'every reason is listed');
    }
  });
});

describe('healthResponse', () => {
  it('answers liveness with 200 whatever the status, and readiness with 503 when not ready', () => {
    const ok = assessHealth(snapshot(), now);
    const notReady = assessHealth(snapshot({ phase: 'draining' }), now);
    assert.equal(healthResponse(ok, 'healthz').statusCode, 200);
    assert.equal(healthResponse(ok, 'readyz').statusCode, 200);
    assert.equal(healthResponse(notReady, 'healthz').statusCode, 200);
    assert.equal(healthResponse(notReady, 'readyz').statusCode, 503);
    assert.deepEqual(JSON.parse(healthResponse(notReady, 'readyz').body), notReady);
  });
});

describe('combineWorkerReports', () => {
  const ok = assessHealth(snapshot(), now);
  const degraded = assessHealth(snapshot({}, { reachable: false, freshUntil: now + 1000 }), now);
  const notReady = assessHealth(snapshot({ phase: 'draining' }), now);

  it('is ok when every worker is', () => {
    const combined = combineWorkerReports([ok, ok]);
    assert.equal(combined.status, 'ok');
    assert.equal(combined.ready, true);
    assert.equal(combined.workers.length, 2);
  });

  it('is degraded but ready when one worker is degraded, not ready or missing', () => {
    for (const other of [degraded, notReady, null]) {
      const combined = combineWorkerReports([ok, other]);
      assert.equal(combined.status, 'degraded');
      assert.equal(combined.ready, true);
      assert.ok(combined.reasons.every((reason) => reason.startsWith('worker 2: ')), combined.reasons.join('\n'));
    }
  });

  it('is not ready when no worker is ready', () => {
    assert.equal(combineWorkerReports([notReady, null]).status, 'not_ready');
    assert.equal(combineWorkerReports([null, null]).ready, false);
  });
});
