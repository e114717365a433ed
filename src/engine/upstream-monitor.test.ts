import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { Registry } from 'prom-client';
import { UpstreamMonitor } from './upstream-monitor.ts';

const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });

function monitorOf(origins: string[]) {
  const clock = { now: 1_000_000 };
  const logs: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (logs.push(JSON.parse(chunk.toString()) as Record<string, unknown>), done()) }));
  const registry = new Registry();
  const monitor = new UpstreamMonitor({ origins: origins.map((origin) => new URL(origin)), logger, registry, connectTimeout: 100, now: () => clock.now });
  return { monitor, clock, logs, registry };
}

describe('UpstreamMonitor with several origins', () => {
  const { monitor, clock, logs, registry } = monitorOf(['http://10.0.0.5:3000', 'http://10.0.0.6:3000']);
  after(() => monitor.close());

  it('reports the upstream failing only while every origin fails, since the last of them began', () => {
    monitor.failed(0, refused, 'r-1');
    assert.equal(monitor.snapshot.failingSince, null, 'origin 1 has not failed');
    clock.now += 2000;
    monitor.retried(1, reset, 'connection_closed');
    assert.deepEqual(monitor.snapshot, { failingSince: 1_002_000, lastFailureAt: 1_002_000, lastError: 'ECONNRESET', failures: 2, origins: { total: 2, ejected: 0 } });
    monitor.answered(1);
    assert.equal(monitor.snapshot.failingSince, null, 'origin 1 answers again');
    assert.ok(logs.some((line) => line.msg === 'upstream answering again' && line.upstream === 'http://10.0.0.6:3000'));
  });

  it('logs an ejection and a restoration once each, names the origin, and counts them', async () => {
    monitor.originEjected(0, 3, clock.now + 10_000);
    monitor.originRestored(0, 10_500);
    const ejected = logs.filter((line) => String(line.msg).startsWith('upstream origin ejected'));
    const restored = logs.filter((line) => String(line.msg).startsWith('upstream origin restored'));
    assert.deepEqual(ejected.map((line) => [line.level, line.upstream, line.failures]), [[40, 'http://10.0.0.5:3000', 3]]);
    assert.deepEqual(restored.map((line) => [line.level, line.upstream, line.ejectedFor]), [[30, 'http://10.0.0.5:3000', 10_500]]);
    const text = await registry.metrics();
    assert.match(text, /portcullis_upstream_ejections_total\{origin="http:\/\/10\.0\.0\.5:3000"\} 1\n/);
    assert.match(text, /portcullis_upstream_restorations_total\{origin="http:\/\/10\.0\.0\.5:3000"\} 1\n/);
    assert.match(text, /portcullis_upstream_origins_ejected 0\n/);
  });

  it('says so when every origin is ejected', async () => {
    monitor.originEjected(0, 3, clock.now + 10_000);
    monitor.originEjected(1, 3, clock.now + 10_000);
    assert.deepEqual(monitor.snapshot.origins, { total: 2, ejected: 2 });
    assert.ok(logs.some((line) => line.level === 50 && String(line.msg).startsWith('every upstream origin is ejected')));
    assert.match(await registry.metrics(), /portcullis_upstream_origins_ejected 2\n/);
  });
});

describe('UpstreamMonitor with one origin', () => {
  it('reports as before: no origins part, no ejection metrics', async () => {
    const { monitor, registry } = monitorOf(['http://10.0.0.5:3000']);
    monitor.failed(0, refused, 'r-1');
    assert.deepEqual(monitor.snapshot, { failingSince: 1_000_000, lastFailureAt: 1_000_000, lastError: 'ECONNREFUSED', failures: 1 });
    assert.doesNotMatch(await registry.metrics(), /ejections_total/);
    monitor.close();
  });
});
