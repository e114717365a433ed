/**
 * Watches a health listener's `/readyz` while a fault test runs, so the test can say when
 * readiness changed relative to the fault (and a load balancer's view of the node over time).
 *
 * @example
 * const watch = watchReadiness(healthOrigin);
 * // … fault at `hungAt` …
 * const samples = await watch.stop();
 * const notReady = firstSample(samples, hungAt, (sample) => sample.status === 503);
 */
import { request } from 'undici';
import type { HealthReport } from '../../src/health/health-report.ts';

export interface ReadinessSample {
  /** `performance.now()` when the probe was sent. */
  at: number;
  /** The HTTP status of `/readyz`; null when it did not answer within a second. */
  status: number | null;
  report: HealthReport | null;
}

export interface ReadinessWatch {
  readonly samples: readonly ReadinessSample[];
  stop(): Promise<ReadinessSample[]>;
}

async function probe(origin: string): Promise<ReadinessSample> {
  const at = performance.now();
  try {
    const response = await request(`${origin}/readyz`, { headersTimeout: 1000, bodyTimeout: 1000 });
    return { at, status: response.statusCode, report: (await response.body.json()) as HealthReport };
  } catch {
    return { at, status: null, report: null };
  }
}

/** Probes `${origin}/readyz` every `intervalMs` (one probe at a time) until stopped. */
export function watchReadiness(origin: string, intervalMs = 100): ReadinessWatch {
  const samples: ReadinessSample[] = [];
  let stopped = false;
  const running = (async () => {
    while (!stopped) {
      const sample = await probe(origin);
      samples.push(sample);
      const wait = sample.at + intervalMs - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    samples,
    async stop() {
      stopped = true;
      await running;
      return samples;
    },
  };
}

/** The first sample taken at or after `from` that satisfies `predicate`, or null. */
export function firstSample(samples: readonly ReadinessSample[], from: number, predicate: (sample: ReadinessSample) => boolean): ReadinessSample | null {
  return samples.find((sample) => sample.at >= from && predicate(sample)) ?? null;
}
