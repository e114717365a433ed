/** Small helpers for tests that watch a gateway's answers change over time. */
import { request } from 'undici';
import type { HealthReport } from '../../src/health/health-report.ts';

export interface KeyedOutcome {
  status: number;
  /** The problem's `code`, null for a 200. */
  code: string | null;
  retryAfter: string | null;
}

/** `GET url` with the key as a Bearer token: the status, and the problem code if refused. */
export async function callWithKey(url: string, key: string): Promise<KeyedOutcome> {
  const response = await request(url, { headers: { authorization: `Bearer ${key}` } });
  const text = await response.body.text();
  const code = response.statusCode === 200 ? null : (JSON.parse(text) as { code: string }).code;
  return { status: response.statusCode, code, retryAfter: (response.headers['retry-after'] as string | undefined) ?? null };
}

/** A health endpoint's status and report (`/healthz` or `/readyz`). */
export async function probeHealth(origin: string, path: '/healthz' | '/readyz' = '/healthz'): Promise<{ status: number; report: HealthReport }> {
  const response = await request(`${origin}${path}`);
  return { status: response.statusCode, report: (await response.body.json()) as HealthReport };
}

/** Polls until `predicate` holds; returns the milliseconds it took, or throws naming `what` after `limit`. */
export async function waitFor(predicate: () => Promise<boolean>, limit: number, what: string): Promise<number> {
  const started = performance.now();
  while (!(await predicate())) {
    if (performance.now() - started > limit) throw new Error(`${what}: not within ${limit} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return performance.now() - started;
}
