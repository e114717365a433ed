import type { HostPort } from '../http/units.ts';
import type { HealthReport } from '../health/health-report.ts';

/**
 * What a worker of `--workers N` tells its supervisor over the cluster IPC channel. Plain
 * JSON: the channel serialises every message.
 */
export type WorkerMessage =
  | { type: 'portcullis:listening'; address: HostPort; protocol: 'http' | 'https'; upstreamUrl: string; usingExampleUpstream: boolean; adminUrl: string | null }
  | { type: 'portcullis:health'; report: HealthReport }
  /** The worker got SIGTERM and drains: the supervisor starts its replacement now, not when it exits. */
  | { type: 'portcullis:draining' };

/** The environment variable by which the supervisor gives later workers the port the first one bound. */
export const WORKER_PORT_VARIABLE = 'PORTCULLIS_INTERNAL_WORKER_PORT';

/**
 * Set to `1` for the one worker that serves the admin listener (the first slot, and its
 * replacements): N processes cannot all bind `admin.listen`, and one admin API is enough.
 */
export const WORKER_SERVES_ADMIN_VARIABLE = 'PORTCULLIS_INTERNAL_WORKER_ADMIN';

/** How often a worker sends its health report (the supervisor treats a silent worker as gone). */
export const HEALTH_REPORT_INTERVAL_MS = 1000;

export function isWorkerMessage(message: unknown): message is WorkerMessage {
  if (message === null || typeof message !== 'object') return false;
  const type = (message as { type?: unknown }).type;
  return type === 'portcullis:listening' || type === 'portcullis:health' || type === 'portcullis:draining';
}
