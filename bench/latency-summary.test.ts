import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { percentile, summariseLatencies } from './latency-summary.ts';

describe('latency summary (nearest rank)', () => {
  it('picks samples that happened', () => {
    const samples = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
    assert.equal(percentile(samples, 50), 50);
    assert.equal(percentile(samples, 99), 99);
    assert.equal(percentile(samples, 100), 100);
    assert.deepEqual(summariseLatencies([5, 1, 3]), { count: 3, p50: 3, p99: 5, max: 5 });
  });

  it('puts a single slow outlier in p99 only when it is more than 1% of the samples', () => {
    const samples = [...Array.from({ length: 299 }, () => 10), 500];
    assert.deepEqual(summariseLatencies(samples), { count: 300, p50: 10, p99: 10, max: 500 });
    assert.equal(summariseLatencies([...samples.slice(0, 296), 500, 500, 500, 500]).p99, 500);
  });

  it('refuses an empty sample', () => {
    assert.throws(() => percentile([], 50));
  });
});
