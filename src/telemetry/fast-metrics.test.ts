import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Registry } from 'prom-client';
import { CollectedMetric, CounterFamily, FastHistogram } from './fast-metrics.ts';

describe('fast metrics in a prom-client registry', () => {
  it('a counter family renders each bound child', async () => {
    const registry = new Registry();
    const family = new CounterFamily(registry, 'test_requests_total', 'Requests.', 'outcome', ['ok', 'refused']);
    const ok = family.child('ok');
    ok.inc();
    ok.inc(2);
    family.child('late').inc();
    assert.equal(family.child('ok'), ok, 'a label value has one child');
    assert.equal(
      await registry.metrics(),
      '# HELP test_requests_total Requests.\n# TYPE test_requests_total counter\ntest_requests_total{outcome="ok"} 3\ntest_requests_total{outcome="refused"} 0\ntest_requests_total{outcome="late"} 1\n',
    );
  });

  it('a histogram renders cumulative buckets, +Inf, sum and count', async () => {
    const registry = new Registry();
    const histogram = new FastHistogram(registry, 'test_seconds', 'Latency.', [0.1, 1]);
    for (const value of [0.05, 0.1, 0.5, 3]) histogram.observe(value);
    assert.equal(
      await registry.metrics(),
      '# HELP test_seconds Latency.\n# TYPE test_seconds histogram\n' +
        'test_seconds_bucket{le="0.1"} 2\ntest_seconds_bucket{le="1"} 3\ntest_seconds_bucket{le="+Inf"} 4\ntest_seconds_sum 3.65\ntest_seconds_count 4\n',
    );
  });

  it('histogram buckets agree with a direct count for any observations', async () => {
    const bounds = [0.001, 0.01, 0.1, 1, 10];
    await fc.assert(fc.asyncProperty(fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { maxLength: 50 }), async (values) => {
      const registry = new Registry();
      const histogram = new FastHistogram(registry, 'h', 'h', bounds);
      for (const value of values) histogram.observe(value);
      const samples = (await registry.getMetricsAsJSON())[0]!.values as Array<{ metricName: string; labels: { le?: number | string }; value: number }>;
      for (const bound of bounds) {
        const bucket = samples.find((sample) => sample.metricName === 'h_bucket' && sample.labels.le === bound);
        assert.equal(bucket?.value, values.filter((value) => value <= bound).length);
      }
      assert.equal(samples.find((sample) => sample.metricName === 'h_count')?.value, values.length);
    }));
  });

  it('a collected metric reads its values at scrape time', async () => {
    const registry = new Registry();
    let hits = 1;
    new CollectedMetric(registry, 'test_hits_total', 'Hits.', 'counter', () => [{ value: hits, labels: { result: 'hit' } }]);
    hits = 5;
    assert.match(await registry.metrics(), /^test_hits_total\{result="hit"\} 5$/m);
  });
});
