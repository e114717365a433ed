import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { combineSlices, formatReport, pairedRatios, ratios, summariseRow } from './report.ts';
import type { RoundResult } from './report.ts';

function round(requestsPerSecond: number, cpu: number | null): RoundResult {
  return {
    figures: { requestsPerSecond, requests: requestsPerSecond * 10, latencyMs: { p50: 1, p75: 2, p90: 3, p99: 4 }, non2xx3xx: 0, socketErrors: { connect: 0, read: 0, write: 0, timeout: 0 } },
    serverCpuUsPerRequest: cpu,
  };
}

describe('ratios between rows', () => {
  it('pairs rounds: a machine that slows down between rounds does not move the paired ratio', () => {
    // The machine halves its speed after round 1; the target is always 0.9 of its baseline.
    const baseline = [round(10_000, 50), round(5_000, 100), round(5_000, 100)];
    const target = [round(9_000, 55), round(4_500, 110), round(4_500, 110)];
    const paired = pairedRatios(target, baseline);
    assert.ok(Math.abs(paired.requestsPerSecond - 0.9) < 1e-9);
    assert.ok(Math.abs((paired.serverCpuPerRequest as number) - 1.1) < 1e-9);
  });

  it('reports both the ratio of medians and the paired ratio, and they differ when rounds drift apart', () => {
    // Baseline measured fast in two rounds, target slow in two: medians compare unlike rounds.
    const rows = [
      summariseRow({ name: 'bare', description: '', compareTo: null }, [round(10_000, 50), round(10_000, 50), round(6_000, 80)]),
      summariseRow({ name: 'gw', description: '', compareTo: 'bare' }, [round(9_500, 52), round(5_700, 84), round(5_700, 84)]),
    ];
    const [ratio] = ratios(rows);
    assert.equal(ratio?.target, 'gw');
    assert.ok(Math.abs((ratio?.requestsPerSecond ?? 0) - 0.57) < 1e-9);
    assert.ok(Math.abs((ratio?.paired.requestsPerSecond ?? 0) - 0.95) < 1e-9);
  });

  it('prints one ratio per row it is compared with (alsoCompareTo), skipping rows that did not run', () => {
    const rows = [
      summariseRow({ name: 'bare-h2', description: '', compareTo: null }, [round(8_000, 60)]),
      summariseRow({ name: 'tls', description: '', compareTo: null }, [round(10_000, 50)]),
      summariseRow({ name: 'h2', description: '', compareTo: 'bare-h2', alsoCompareTo: ['tls', 'not-run'] }, [round(6_000, 70)]),
    ];
    const found = ratios(rows).map((ratio) => [ratio.target, ratio.baseline, ratio.requestsPerSecond]);
    assert.deepEqual(found, [['h2', 'bare-h2', 0.75], ['h2', 'tls', 0.6]]);
    assert.match(formatReport(rows, ratios(rows)), /^h2 \/ tls: req\/s 0\.60, /m);
  });

  it('has no paired CPU ratio when a round has no CPU figure, and refuses rows without rounds', () => {
    assert.equal(pairedRatios([round(1, null)], [round(1, 1)]).serverCpuPerRequest, null);
    assert.throws(() => pairedRatios([], []));
  });
});

describe('a round measured in slices', () => {
  const slice = (requests: number, seconds: number, cpu: number | null, p99: number, non2xx = 0): RoundResult => ({
    figures: { requestsPerSecond: requests / seconds, requests, latencyMs: { p50: p99 / 4, p75: p99 / 3, p90: p99 / 2, p99 }, non2xx3xx: non2xx, socketErrors: { connect: 0, read: 1, write: 0, timeout: 0 } },
    serverCpuUsPerRequest: cpu,
  });

  it('adds requests and errors, weighs CPU by requests, and takes the median slice latency', () => {
    const round = combineSlices([slice(10_000, 2, 100, 10), slice(5_000, 2, 200, 50, 3), slice(10_000, 2, 100, 12)]);
    assert.equal(round.figures.requests, 25_000);
    assert.ok(Math.abs(round.figures.requestsPerSecond - 25_000 / 6) < 1e-9);
    assert.ok(Math.abs((round.serverCpuUsPerRequest as number) - (10_000 * 100 + 5_000 * 200 + 10_000 * 100) / 25_000) < 1e-9);
    assert.equal(round.figures.latencyMs.p99, 12, 'one slow slice does not set the round\'s p99');
    assert.equal(round.figures.non2xx3xx, 3);
    assert.equal(round.figures.socketErrors.read, 3);
  });

  it('has no CPU figure when a slice has none, returns a single slice as it is, and refuses none', () => {
    assert.equal(combineSlices([slice(1, 1, 5, 1), slice(1, 1, null, 1)]).serverCpuUsPerRequest, null);
    const only = slice(7, 1, 3, 2);
    assert.equal(combineSlices([only]), only);
    assert.throws(() => combineSlices([]));
  });

  it('takes the worst slice\'s event-loop max (by the wall clock and on CPU) and the median slice\'s p99, and none unless every slice was probed', () => {
    const probed = (maxMs: number, p99Ms: number, onCpuMaxMs = maxMs / 2): RoundResult => ({ ...slice(10, 1, 1, 1), loopDelay: { maxMs, p99Ms, onCpuMaxMs } });
    assert.deepEqual(combineSlices([probed(3, 1, 2.5), probed(9, 2, 1), probed(4, 5, 0.5)]).loopDelay, { maxMs: 9, p99Ms: 2, onCpuMaxMs: 2.5 });
    assert.equal(combineSlices([probed(3, 1), slice(10, 1, 1, 1)]).loopDelay, null);
    const bare = summariseRow({ name: 'bare', description: '', compareTo: null }, [probed(2, 1, 1), probed(4, 1, 0.5), probed(3, 1, 2)]);
    const gateway = summariseRow({ name: 'gw', description: '', compareTo: 'bare' }, [probed(3, 1.5, 1.25), probed(5, 1.5, 3), probed(40, 1.5, 1)]);
    assert.deepEqual(ratios([bare, gateway])[0]!.loopDelayDeltaMs, { maxMs: 2, p99Ms: 0.5, onCpuMaxMs: 0.25 });
  });
});
