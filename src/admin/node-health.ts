import type { HealthReport } from '../health/health-report.ts';

export interface NodeHealthSources {
  health: () => HealthReport;
  changeFeed: { readonly lastSeq: number; readonly caughtUpAt: number | null };
  /** Whether Redis is reachable right now; null when limits are kept in memory only (no `redis.url`). */
  redisShared?: (() => boolean) | null;
}

/**
 * This node's health report (the gateway's one health logic), with the change feed's position
 * and lag and where rate limits live: what `/api/health` and the overview show.
 */
export function nodeHealth(sources: NodeHealthSources, now = Date.now()) {
  const report = sources.health();
  const caughtUpAt = sources.changeFeed.caughtUpAt;
  const lagSeconds = caughtUpAt === null ? null : Math.max(0, (now - caughtUpAt) / 1000);
  const shared = sources.redisShared ?? null;
  return {
    ...report,
    changeFeed: { ...report.changeFeed, position: sources.changeFeed.lastSeq, lagSeconds },
    limits: { backend: shared === null ? 'memory' : 'redis', redisReachable: shared === null ? null : shared() },
  };
}
