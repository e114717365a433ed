import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pairedRatios, ratios, summariseRow } from './report.ts';
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

  it('has no paired CPU ratio when a round has no CPU figure, and refuses rows without rounds', () => {
    assert.equal(pairedRatios([round(1, null)], [round(1, 1)]).serverCpuPerRequest, null);
    assert.throws(() => pairedRatios([], []));
  });
});
