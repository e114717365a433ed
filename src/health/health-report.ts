/**
 * The health of a gateway node, decided in one place so that every listener that serves it
 * (the health listener, the admin listener, the supervisor of `--workers N`) answers alike.
 * Pure functions of a snapshot: no I/O, easy to test.
 *
 * - `ok`: serving, and every part works.
 * - `degraded`: serving, but a part is down that the node works around: the store is
 *   unreachable and known keys are served from memory (until `changeFeed.staleFor` runs out;
 *   only with `health.readyWhileStoreUnreachable`, else that is `not_ready`), LISTEN/NOTIFY is down and revocations arrive by polling only, Redis is unreachable and each
 *   node limits on its own, or the upstream (every origin of it) has refused or dropped connections for a while
 *   (clients get 502/504: every node shares the upstream, so a node stays ready rather than
 *   leaving the load balancer with none).
 * - `not_ready`: the node would refuse every request, is going away, or cannot see the store:
 *   starting, draining, the store unreachable (by default; see above), or unreachable for
 *   longer than `changeFeed.staleFor`.
 *
 * `parts` says which part is the matter, one word each. Reports carry no error texts (they can
 * name hosts and users), only error codes; the logs have the rest.
 */

type HealthStatus = 'ok' | 'degraded' | 'not_ready';

/** Whether LISTEN/NOTIFY wakes the change feed: `not-used` on stores without it (SQLite). */
type NotificationState = 'listening' | 'reconnecting' | 'not-used';

/** One part's state: `failed` makes the node not ready, `degraded` is worked around. */
type PartState = 'ok' | 'degraded' | 'failed' | 'not-used';

type Phase = 'starting' | 'serving' | 'draining';

/**
 * An upstream that has refused or dropped connections, with no success since, for this long is
 * reported `degraded`: long enough that a stale keep-alive connection or a restart of the
 * upstream (both retried or over within a second) does not show.
 */
export const UPSTREAM_FAILING_AFTER_MS = 5000;

/** What the upstream pool has seen: failures to reach the upstream (refused, reset, timed out). */
interface UpstreamSnapshot {
  /**
   * When the current run of failures began (no exchange or probe succeeded since); null
   * otherwise. With several origins: since when every one of them has been failing; null
   * while any of them answers.
   */
  failingSince: number | null;
  lastFailureAt: number | null;
  /** The code of the last failure (`ECONNREFUSED`, `UND_ERR_CONNECT_TIMEOUT`), never its text. */
  lastError: string | null;
  /** Failures to reach the upstream since start, retried ones included. */
  failures: number;
  /** With several origins: how many, and how many are ejected (skipped after failing) now. */
  origins?: { total: number; ejected: number };
}

export interface GatewayHealthSnapshot {
  phase: Phase;
  store: {
    reachable: boolean;
    /** When the change feed last completed a read of the store. */
    lastContactAt: number | null;
    /** Until when cached keys are served without the store (`lastContactAt` + `staleFor`). */
    freshUntil: number;
  };
  changeFeed: { lastSeq: number; notifications: NotificationState };
  /** Where rate-limit state lives; `shared` while Redis answers. Absent: not reported. */
  rateLimits?: { backend: 'memory' | 'redis'; shared: boolean };
  /** The upstream pool's failures. Absent: not reported. */
  upstream?: UpstreamSnapshot;
  /** `health.readyWhileStoreUnreachable`: a node serving known keys without its store stays ready. */
  readyWhileStoreUnreachable?: boolean;
}

interface HealthParts {
  store: PartState;
  changeFeed: PartState;
  redis: PartState;
  upstream: PartState;
}

export interface HealthReport {
  status: HealthStatus;
  /** Whether a load balancer should send this node traffic (`/readyz` answers 200). */
  ready: boolean;
  phase: Phase;
  reasons: string[];
  /** Each part's state, so a reader sees at once which one is the matter. */
  parts: HealthParts;
  store: { reachable: boolean; lastContactAt: string | null; cachedKeysTrustedUntil: string | null };
  changeFeed: { lastSeq: number; notifications: NotificationState };
  rateLimits: { backend: 'memory' | 'redis'; shared: boolean } | null;
  upstream: { failingSince: string | null; lastFailureAt: string | null; lastError: string | null; failures: number; origins?: { total: number; ejected: number } } | null;
}

const PART_SEVERITY: Record<PartState, number> = { 'not-used': 0, ok: 1, degraded: 2, failed: 3 };

function isoTime(ms: number | null): string | null {
  return ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString();
}

/** Each part's state, and why, from a snapshot at time `now`. */
function assessParts(snapshot: GatewayHealthSnapshot, now: number): { parts: HealthParts; reasons: string[] } {
  const reasons: string[] = [];
  const parts: HealthParts = { store: 'ok', changeFeed: 'ok', redis: 'not-used', upstream: 'not-used' };
  const { store, changeFeed, rateLimits, upstream } = snapshot;
  if (now > store.freshUntil) {
    parts.store = 'failed';
    reasons.push('key store unreachable for longer than changeFeed.staleFor: every key is refused with 503 store_unavailable');
  } else if (!store.reachable) {
    parts.store = snapshot.readyWhileStoreUnreachable === true ? 'degraded' : 'failed';
    reasons.push(`key store unreachable: known keys are served from memory until ${isoTime(store.freshUntil)}, unknown keys get 503 store_unavailable` +
      (parts.store === 'failed' ? '; not ready, so that a load balancer prefers nodes that reach the store (health.readyWhileStoreUnreachable keeps it ready)' : ''));
  }
  if (!store.reachable) parts.changeFeed = 'degraded';
  else if (changeFeed.notifications === 'reconnecting') {
    parts.changeFeed = 'degraded';
    reasons.push('change notifications (LISTEN) reconnecting: changes arrive by polling only');
  }
  if (rateLimits?.backend === 'redis') {
    parts.redis = rateLimits.shared ? 'ok' : 'degraded';
    if (!rateLimits.shared) reasons.push('Redis unreachable: rate limits, quotas and lockout are enforced by this node alone');
  }
  if (upstream !== undefined) {
    const failingFor = upstream.failingSince === null ? 0 : now - upstream.failingSince;
    parts.upstream = failingFor >= UPSTREAM_FAILING_AFTER_MS ? 'degraded' : 'ok';
    const which = upstream.origins === undefined ? 'upstream' : `every upstream origin (${upstream.origins.total})`;
    if (parts.upstream === 'degraded') reasons.push(`${which} unreachable since ${isoTime(upstream.failingSince)} (last error ${upstream.lastError ?? 'unknown'}): requests get 502 upstream_unavailable or 504 upstream_timeout`);
  }
  return { parts, reasons };
}

/** The report for one node at time `now`. */
export function assessHealth(snapshot: GatewayHealthSnapshot, now: number): HealthReport {
  const { parts, reasons } = assessParts(snapshot, now);
  const phaseReasons: string[] = [];
  if (snapshot.phase === 'starting') phaseReasons.push('starting');
  if (snapshot.phase === 'draining') phaseReasons.push('draining: finishing in-flight requests before stopping; send new requests elsewhere');
  let status: HealthStatus = 'ok';
  if (phaseReasons.length > 0 || parts.store === 'failed') status = 'not_ready';
  else if (Object.values(parts).some((state) => state === 'degraded')) status = 'degraded';
  const { store, upstream, rateLimits } = snapshot;
  return {
    status,
    ready: status !== 'not_ready',
    phase: snapshot.phase,
    reasons: [...phaseReasons, ...reasons],
    parts,
    store: { reachable: store.reachable, lastContactAt: isoTime(store.lastContactAt), cachedKeysTrustedUntil: isoTime(store.freshUntil) },
    changeFeed: snapshot.changeFeed,
    rateLimits: rateLimits === undefined ? null : { backend: rateLimits.backend, shared: rateLimits.shared },
    upstream: upstream === undefined
      ? null
      : { failingSince: isoTime(upstream.failingSince), lastFailureAt: isoTime(upstream.lastFailureAt), lastError: upstream.lastError, failures: upstream.failures, ...(upstream.origins && { origins: { ...upstream.origins } }) },
  };
}

/**
 * One node's report from several workers: ready while any worker is; the worst status
 * otherwise. Each part is the worst any worker reports. `draining`: the supervisor is
 * stopping, so the node is not ready whatever the workers last said.
 */
export function combineWorkerReports(reports: ReadonlyArray<HealthReport | null>, options: { draining?: boolean } = {}): HealthReport & { workers: Array<HealthReport | null> } {
  const present = reports.filter((report): report is HealthReport => report !== null);
  const reasons: string[] = options.draining === true ? ['draining: every worker is finishing its in-flight requests before stopping; send new requests elsewhere'] : [];
  reports.forEach((report, index) => {
    if (report === null) reasons.push(`worker ${index + 1}: not running`);
    else for (const reason of report.reasons) reasons.push(`worker ${index + 1}: ${reason}`);
  });
  const readyCount = options.draining === true ? 0 : present.filter((report) => report.ready).length;
  let status: HealthStatus = 'ok';
  if (readyCount === 0) status = 'not_ready';
  else if (reasons.length > 0) status = 'degraded';
  const first = present[0];
  return {
    status,
    ready: readyCount > 0,
    phase: options.draining === true ? 'draining' : readyCount > 0 ? 'serving' : 'starting',
    reasons,
    parts: worstParts(present),
    store: first?.store ?? { reachable: false, lastContactAt: null, cachedKeysTrustedUntil: null },
    changeFeed: first?.changeFeed ?? { lastSeq: 0, notifications: 'not-used' },
    rateLimits: first?.rateLimits ?? null,
    upstream: first?.upstream ?? null,
    workers: [...reports],
  };
}

/** Per part, the worst state any report gives it. */
function worstParts(reports: readonly HealthReport[]): HealthParts {
  const worst: HealthParts = { store: 'not-used', changeFeed: 'not-used', redis: 'not-used', upstream: 'not-used' };
  for (const report of reports) {
    for (const part of Object.keys(worst) as Array<keyof HealthParts>) {
      if (PART_SEVERITY[report.parts[part]] > PART_SEVERITY[worst[part]]) worst[part] = report.parts[part];
    }
  }
  return worst;
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
