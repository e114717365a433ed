import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartPoints, renderScaleChart, type ScaleResults } from './scale-chart.ts';

const results: ScaleResults = {
  startedAt: '2026-12-02T14:00:00.000Z',
  parts: [{
    title: 'Keys',
    ratios: [
      { target: 'sqlite-1k-again', baseline: 'sqlite-1k', paired: { requestsPerSecond: 0.98, serverCpuPerRequest: 1.01 } },
      { target: 'sqlite-1m', baseline: 'sqlite-1k', paired: { requestsPerSecond: 0.9, serverCpuPerRequest: null } },
    ],
    scale: [
      { name: 'sqlite-1k', startupMs: 2000, rssMb: 200 },
      { name: 'sqlite-1k-again', startupMs: 2200, rssMb: 190 },
      { name: 'sqlite-1m', startupMs: 2500, rssMb: 260 },
    ],
  }],
};

test('chartPoints makes one ratio per comparison and measure the run has, and marks the A/A pair', () => {
  const points = chartPoints(results);
  const byKey = new Map(points.map((point) => [`${point.comparison}|${point.measure}`, point.ratio]));
  assert.equal(byKey.get('sqlite-1k-again / sqlite-1k (A/A)|req/s (paired)'), 0.98);
  assert.equal(byKey.get('sqlite-1m / sqlite-1k|req/s (paired)'), 0.9);
  assert.equal(byKey.has('sqlite-1m / sqlite-1k|CPU per request'), false, 'a missing figure draws no bar');
  assert.equal(byKey.get('sqlite-1m / sqlite-1k|resident memory'), 1.3);
  assert.equal(byKey.get('sqlite-1m / sqlite-1k|start-up'), 1.25);
  assert.equal(points.length, 7);
});

test('renderScaleChart draws an SVG with every comparison named', async () => {
  const svg = await renderScaleChart(chartPoints(results), 'test run');
  assert.match(svg, /^<svg /);
  assert.match(svg, /sqlite-1m \/ sqlite-1k/);
  assert.match(svg, /sqlite-1k-again \/ sqlite-1k \(A\/A\)/);
  assert.match(svg, /test run/);
});
