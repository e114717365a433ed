import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessHealth, combineWorkerReports, healthResponse, UPSTREAM_FAILING_AFTER_MS, type GatewayHealthSnapshot } from './health-report.ts';

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
    assert.equal(report.phase, 'serving');
    assert.deepEqual(report.parts, { store: 'ok', changeFeed: 'ok', redis: 'not-used', upstream: 'not-used' });
    assert.equal(report.rateLimits, null);
    assert.equal(report.upstream, null);
  });

  it('is not ready while the store is unreachable, though it still serves known keys (the default)', () => {
    const report = assessHealth(snapshot({}, { reachable: false, lastContactAt: now - 10_000, freshUntil: now + 5_000 }), now);
    assert.equal(report.status, 'not_ready');
    assert.equal(report.ready, false);
    assert.equal(report.parts.store, 'failed');
    assert.match(report.reasons.join('\n'), /key store unreachable: known keys are served from memory until .*; not ready/);
  });

  it('is degraded but ready while the store is unreachable with health.readyWhileStoreUnreachable', () => {
    const report = assessHealth({ ...snapshot({}, { reachable: false, lastContactAt: now - 10_000, freshUntil: now + 5_000 }), readyWhileStoreUnreachable: true }, now);
    assert.equal(report.status, 'degraded');
    assert.equal(report.ready, true);
    assert.equal(report.parts.store, 'degraded');
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

describe('assessHealth: which part is the matter', () => {
  const upstream = (failingSince: number | null) => ({ failingSince, lastFailureAt: failingSince, lastError: failingSince === null ? null : 'ECONNREFUSED', failures: failingSince === null ? 0 : 3 });

  it('names the store and the change feed while the store is unreachable, and the store alone as failed past staleFor', () => {
    assert.deepEqual(assessHealth(snapshot({}, { reachable: false, freshUntil: now + 5_000 }), now).parts, { store: 'failed', changeFeed: 'degraded', redis: 'not-used', upstream: 'not-used' });
    assert.deepEqual(assessHealth(snapshot({ readyWhileStoreUnreachable: true }, { reachable: false, freshUntil: now + 5_000 }), now).parts, { store: 'degraded', changeFeed: 'degraded', redis: 'not-used', upstream: 'not-used' });
    assert.equal(assessHealth(snapshot({}, { reachable: false, freshUntil: now - 1 }), now).parts.store, 'failed');
    assert.equal(assessHealth(snapshot({ changeFeed: { lastSeq: 1, notifications: 'reconnecting' } }), now).parts.changeFeed, 'degraded');
  });

  it('is degraded but ready while Redis is configured and unreachable (limits are local), ok while it answers', () => {
    const down = assessHealth(snapshot({ rateLimits: { backend: 'redis', shared: false } }), now);
    assert.deepEqual([down.status, down.ready, down.parts.redis], ['degraded', true, 'degraded']);
    assert.match(down.reasons.join('\n'), /Redis unreachable: rate limits, quotas and lockout are enforced by this node alone/);
    assert.deepEqual(down.rateLimits, { backend: 'redis', shared: false });
    const up = assessHealth(snapshot({ rateLimits: { backend: 'redis', shared: true } }), now);
    assert.deepEqual([up.status, up.parts.redis], ['ok', 'ok']);
    assert.equal(assessHealth(snapshot({ rateLimits: { backend: 'memory', shared: false } }), now).parts.redis, 'not-used');
  });

  it('reports upstream failures in the body at once, and the upstream degraded (still ready) once they have lasted a while', () => {
    const brief = assessHealth(snapshot({ upstream: upstream(now - UPSTREAM_FAILING_AFTER_MS + 1) }), now);
    assert.deepEqual([brief.status, brief.parts.upstream], ['ok', 'ok'], 'a brief failure is not yet a state');
    assert.equal(brief.upstream?.lastError, 'ECONNREFUSED');
    assert.equal(brief.upstream?.failingSince, new Date(now - UPSTREAM_FAILING_AFTER_MS + 1).toISOString());
    const lasting = assessHealth(snapshot({ upstream: upstream(now - UPSTREAM_FAILING_AFTER_MS) }), now);
    assert.deepEqual([lasting.status, lasting.ready, lasting.parts.upstream], ['degraded', true, 'degraded']);
    assert.match(lasting.reasons.join('\n'), /upstream unreachable since .* \(last error ECONNREFUSED\)/);
    assert.deepEqual(assessHealth(snapshot({ upstream: upstream(null) }), now).upstream, { failingSince: null, lastFailureAt: null, lastError: null, failures: 0 });
  });

  it('with several origins, counts the ejected ones in the body and names every origin when all of them fail', () => {
    const oneOfTwo = assessHealth(snapshot({ upstream: { ...upstream(null), failures: 7, origins: { total: 2, ejected: 1 } } }), now);
    assert.deepEqual([oneOfTwo.status, oneOfTwo.parts.upstream, oneOfTwo.upstream?.origins], ['ok', 'ok', { total: 2, ejected: 1 }]);
    const all = assessHealth(snapshot({ upstream: { ...upstream(now - UPSTREAM_FAILING_AFTER_MS), origins: { total: 2, ejected: 2 } } }), now);
    assert.deepEqual([all.status, all.ready, all.parts.upstream], ['degraded', true, 'degraded']);
    assert.match(all.reasons.join('\n'), /every upstream origin \(2\) unreachable since .* \(last error ECONNREFUSED\)/);
  });

  it('names every degraded part at once', () => {
    const report = assessHealth(snapshot({ rateLimits: { backend: 'redis', shared: false }, upstream: upstream(now - 60_000), readyWhileStoreUnreachable: true }, { reachable: false, freshUntil: now + 1000 }), now);
    assert.deepEqual(report.parts, { store: 'degraded', changeFeed: 'degraded', redis: 'degraded', upstream: 'degraded' });
    assert.equal(report.reasons.length, 3);
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

  it('is not ready from the moment the supervisor drains, whatever the workers last said', () => {
    const combined = combineWorkerReports([ok, ok], { draining: true });
    assert.deepEqual([combined.status, combined.ready, combined.phase], ['not_ready', false, 'draining']);
    assert.match(combined.reasons[0]!, /^draining/);
  });

  it('gives each part the worst state any worker reports', () => {
    const redisDown = assessHealth(snapshot({ rateLimits: { backend: 'redis', shared: false } }), now);
    assert.deepEqual(combineWorkerReports([ok, redisDown, null]).parts, { store: 'ok', changeFeed: 'ok', redis: 'degraded', upstream: 'not-used' });
  });

  it('is not ready when no worker is ready', () => {
    assert.equal(combineWorkerReports([notReady, null]).status, 'not_ready');
    assert.equal(combineWorkerReports([null, null]).ready, false);
  });
});
