import type { HealthReport } from '../health/health-report.ts';
import { MISSING_AFTER_BEATS, type NodeIdentity } from '../health/node-heartbeat.ts';
import type { NodeHeartbeatStore } from '../store/node-heartbeats.ts';

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

/** One gateway node on the overview: from its heartbeat row, or this node's own live report. */
export interface ListedNode {
  id: string;
  hostName: string;
  pid: number;
  version: string;
  startedAt: string;
  lastSeen: string;
  /** The node serving this answer. */
  self: boolean;
  /** `missing`: not heard from for MISSING_AFTER_BEATS of its own intervals (stopped, cut off from the store, or gone). */
  state: 'live' | 'missing';
  /** Its health parts as it last wrote them (this node: now). */
  health: Record<string, unknown>;
}

/**
 * Every node that shares the store: this one first, with its health as of now, then the
 * others from their heartbeat rows, oldest start first, each judged live or missing by its own
 * interval.
 */
export async function listNodes(store: Pick<NodeHeartbeatStore, 'listNodeHeartbeats'>, self: { identity: NodeIdentity; health: () => Record<string, unknown> }, now = Date.now()): Promise<ListedNode[]> {
  const rows = await store.listNodeHeartbeats();
  const { identity } = self;
  const others = rows.filter((row) => row.nodeId !== identity.nodeId).map((row): ListedNode => ({
    id: row.nodeId,
    hostName: row.hostName,
    pid: row.pid,
    version: row.version,
    startedAt: new Date(row.startedAt).toISOString(),
    lastSeen: new Date(row.lastSeen).toISOString(),
    self: false,
    state: now - row.lastSeen > MISSING_AFTER_BEATS * row.interval ? 'missing' : 'live',
    health: row.health,
  }));
  const own: ListedNode = {
    id: identity.nodeId, hostName: identity.hostName, pid: identity.pid, version: identity.version,
    startedAt: new Date(identity.startedAt).toISOString(), lastSeen: new Date(now).toISOString(), self: true, state: 'live', health: self.health(),
  };
  return [own, ...others];
}
