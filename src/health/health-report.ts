/**
 * The health of a gateway node, decided in one place so that every listener that serves it
 * (the health listener today, the admin listener later) answers alike. Pure functions of a
 * snapshot: no I/O, easy to test.
 *
 * - `ok`: serving, and the change feed reaches the store.
 * - `degraded`: serving, but something is wrong that the node works around: the store is
 *   unreachable and known keys are served from memory (until `changeFeed.staleFor` runs out),
 *   or LISTEN/NOTIFY is down and revocations arrive by polling only.
 * - `not_ready`: the node would refuse every request or is going away: starting, draining,
 *   or the store has been unreachable for longer than `changeFeed.staleFor`.
 *
 * Reports carry no error texts (they can name hosts and users); the logs have those.
 */

type HealthStatus = 'ok' | 'degraded' | 'not_ready';

/** Whether LISTEN/NOTIFY wakes the change feed: `not-used` on stores without it (SQLite). */
type NotificationState = 'listening' | 'reconnecting' | 'not-used';

export interface GatewayHealthSnapshot {
  phase: 'starting' | 'serving' | 'draining';
  store: {
    reachable: boolean;
    /** When the change feed last completed a read of the store. */
    lastContactAt: number | null;
    /** Until when cached keys are served without the store (`lastContactAt` + `staleFor`). */
    freshUntil: number;
  };
  changeFeed: { lastSeq: number; notifications: NotificationState };
}

export interface HealthReport {
  status: HealthStatus;
  /** Whether a load balancer should send this node traffic (`/readyz` answers 200). */
  ready: boolean;
  reasons: string[];
  store: { reachable: boolean; lastContactAt: string | null; cachedKeysTrustedUntil: string | null };
  changeFeed: { lastSeq: number; notifications: NotificationState };
}

const SEVERITY: Record<HealthStatus, number> = { ok: 0, degraded: 1, not_ready: 2 };

function isoTime(ms: number | null): string | null {
  return ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

/** The report for one node at time `now`. */
export function assessHealth(snapshot: GatewayHealthSnapshot, now: number): HealthReport {
  const reasons: string[] = [];
  const found: HealthStatus[] = ['ok'];
  const worsen = (to: HealthStatus, reason: string) => {
    reasons.push(reason);
    found.push(to);
  };

  if (snapshot.phase === 'starting') worsen('not_ready', 'starting');
  if (snapshot.phase === 'draining') worsen('not_ready', 'draining: finishing in-flight requests before stopping');
  const { store } = snapshot;
  if (now > store.freshUntil) {
    worsen('not_ready', 'key store unreachable for longer than changeFeed.staleFor: every key is refused with 503 store_unavailable');
  } else if (!store.reachable) {
    worsen('degraded', `key store unreachable: known keys are served from memory until ${isoTime(store.freshUntil)}, unknown keys get 503 store_unavailable`);
  }
  if (store.reachable && snapshot.changeFeed.notifications === 'reconnecting') {
    worsen('degraded', 'change notifications (LISTEN) reconnecting: changes arrive by polling only');
  }
  const status = found.reduce((worst, next) => (SEVERITY[next] > SEVERITY[worst] ? next : worst));

  return {
    status,
    ready: status !== 'not_ready',
    reasons,
    store: { reachable: store.reachable, lastContactAt: isoTime(store.lastContactAt), cachedKeysTrustedUntil: isoTime(store.freshUntil) },
    changeFeed: snapshot.changeFeed,
  };
}

/** One node's report from several workers: ready while any worker is; the worst status otherwise. */
export function combineWorkerReports(reports: ReadonlyArray<HealthReport | null>): HealthReport & { workers: Array<HealthReport | null> } {
  const present = reports.filter((report): report is HealthReport => report !== null);
  const reasons: string[] = [];
  reports.forEach((report, index) => {
    if (report === null) reasons.push(`worker ${index + 1}: not running`);
    else for (const reason of report.reasons) reasons.push(`worker ${index + 1}: ${reason}`);
  });
  const readyCount = present.filter((report) => report.ready).length;
  let status: HealthStatus = 'ok';
  if (readyCount === 0) status = 'not_ready';
  else if (reasons.length > 0) status = 'degraded';
  const first = present[0];
  return {
    status,
    ready: readyCount > 0,
    reasons,
    store: first?.store ?? { reachable: false, lastContactAt: null, cachedKeysTrustedUntil: null },
    changeFeed: first?.changeFeed ?? { lastSeq: 0, notifications: 'not-used' },
    workers: [...reports],
  };
}

export type HealthProbe = 'healthz' | 'readyz';

/**
 * The HTTP answer for a probe. `/healthz` is liveness: 200 while the process answers at all,
 * whatever the status in the body, because restarting a node does not bring its store back.
 * `/readyz` is readiness: 200 when the node should get traffic, 503 when not.
 */
export function healthResponse(report: HealthReport, probe: HealthProbe): { statusCode: number; body: string } {
  const statusCode = probe === 'readyz' && !report.ready ? 503 : 200;
  return { statusCode, body: `${JSON.stringify(report)}\n` };
}
