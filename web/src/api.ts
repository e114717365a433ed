/** The admin API, as the dashboard calls it: same origin, session cookie, CSRF token on changes. */

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  /** With request_invalid: each refused field, as a JSON pointer into the request and a message. */
  errors?: Array<{ pointer: string; message: string }>;
}

export class ApiError extends Error {
  readonly problem: Problem;

  constructor(problem: Problem) {
    super(problem.detail);
    this.problem = problem;
  }
}

export interface Session {
  tokenId: string;
  tokenName: string;
  role: 'read' | 'write';
  csrfToken: string | null;
  expiresAt: string | null;
}

/** A key as the admin API shows it; later layers add settings, which the detail page lists generically. */
export interface Key {
  id: string;
  name: string;
  displayPrefix: string;
  status: KeyStatus;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
  quarantinedAt: string | null;
  quarantinedReason: string | null;
  rotatedTo: string | null;
  lastUsedAt: string | null;
  lastUsedAddress: string | null;
  [setting: string]: unknown;
}

export type KeyStatus = 'active' | 'rotating' | 'quarantined' | 'revoked' | 'expired';

export interface ListedKey extends Key {
  usage: { requests: number; denied: number };
}

export interface SortedKeyPage {
  items: ListedKey[];
  nextOffset: number | null;
  matched: number;
  counts: Record<'total' | KeyStatus, number>;
  complete: boolean;
  usagePending: number;
}

export interface IssuedKey extends Key {
  key: string;
  replaces?: string;
  oldKeyExpiresAt?: string;
}

interface UsagePoint {
  t: string;
  requests: number;
  denied: number;
  bytesIn: number;
  bytesOut: number;
  denials?: Record<string, number>;
}

export interface KeyUsage {
  window: string;
  step: number;
  points: UsagePoint[];
  totals: { requests: number; denied: number; bytesIn: number; bytesOut: number; distinctAddresses: number };
  denials: Record<string, number>;
  addresses: Array<{ address: string; lastSeen: string; minutes: number }>;
  /** WebSockets opened with the key and the most open at once on one node (absent from a node older than migration 14). */
  websockets?: { opened: number; peak: number };
}

/** `GET /api/usage/apis`: requests per API by outcome, busiest first. */
export interface ApiUsage {
  window: string;
  step: number;
  apis: Array<{ api: string; requests: number; forwarded: number; denied: number; aborted: number; outcomes: Record<string, number>; points: Array<{ t: string; requests: number; denied: number }> }>;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  address: string | null;
  action: string;
  target: string;
  reason: string | null;
  details: Record<string, unknown>;
  actorName: string | null;
  targetName: string | null;
}

export interface AuditPage {
  items: AuditEntry[];
  next: number | null;
}

export type AuditVerification = { ok: true; entries: number; head: { seq: number; hash: string } } | { ok: false; entries: number; seq: number | null; problem: string };

export interface OverviewKey {
  id: string;
  name: string;
  status: string;
  requests: number;
  denied: number;
}

export interface Overview {
  window: string;
  step: number;
  points: Array<{ t: string; requests: number; denied: number; denials: Record<string, number> }>;
  codes: Array<{ code: string; count: number }>;
  totals: { requests: number; denied: number; keysWithTraffic: number };
  topByRequests: OverviewKey[];
  topByDenials: OverviewKey[];
  keys: Record<'total' | KeyStatus, number> & { complete: boolean };
  expiringSoon: Array<{ id: string; name: string; status: string; expiresAt: string }>;
  recentRevocations: Array<{ id: string; name: string; revokedAt: string; revokedReason: string | null }>;
  node: NodeHealth;
  nodes: ClusterNode[];
}

/** A gateway node sharing the store, from its heartbeat (this node: as of now). */
export interface ClusterNode {
  id: string;
  hostName: string;
  pid: number;
  version: string;
  startedAt: string;
  lastSeen: string;
  self: boolean;
  state: 'live' | 'missing';
  /** As the node wrote it: read defensively (another version may write other fields). */
  health: Partial<NodeHealth>;
}

export interface NodeHealth {
  status: 'ok' | 'degraded' | 'not_ready';
  ready: boolean;
  reasons: string[];
  store: { reachable: boolean; lastContactAt: string | null; cachedKeysTrustedUntil: string | null };
  changeFeed: { lastSeq: number; notifications: string; position: number; lagSeconds: number | null };
  limits: { backend: 'memory' | 'redis'; redisReachable: boolean | null };
}

export interface AdminToken {
  id: string;
  name: string;
  role: 'read' | 'write';
  displayPrefix: string;
  status: 'active' | 'revoked';
  createdAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  lastUsedAddress: string | null;
  current: boolean;
}

export interface ScopeList {
  source: 'openapi' | 'routes' | 'none';
  scopes: Array<{ scope: string; operations: string[] }>;
}

let csrfToken: string | null = null;
let onUnauthorised: () => void = () => {};

export function setSession(session: Session | null): void {
  csrfToken = session?.csrfToken ?? null;
}

/** Called when the API says the session is gone (expired, logged out elsewhere, token revoked). */
export function whenUnauthorised(callback: () => void): void {
  onUnauthorised = callback;
}

/** Whether the admin API answers; while it does not, a probe retries with a growing pause. */
export interface Connection {
  online: boolean;
  /** Bumped each time the API answers again after an outage, so pages reload. */
  returns: number;
  /** When the next probe runs (ms since the epoch), while offline. */
  retryAt: number | null;
}

let connection: Connection = { online: true, returns: 0, retryAt: null };
const connectionListeners = new Set<(state: Connection) => void>();
let probeTimer: ReturnType<typeof setTimeout> | null = null;
let probeDelay = 2000;

function setConnection(next: Connection): void {
  connection = next;
  for (const listener of connectionListeners) listener(next);
}

export function currentConnection(): Connection {
  return connection;
}

export function onConnectionChange(listener: (state: Connection) => void): () => void {
  connectionListeners.add(listener);
  return () => connectionListeners.delete(listener);
}

/** Probes `/api/health` (no session needed) now; back online on any answer, else tries again later. */
export function probeNow(): void {
  if (probeTimer !== null) clearTimeout(probeTimer);
  probeTimer = null;
  fetch('/api/health', { cache: 'no-store' }).then(
    () => {
      probeDelay = 2000;
      if (!connection.online) setConnection({ online: true, returns: connection.returns + 1, retryAt: null });
    },
    () => wentOffline(),
  );
}

function wentOffline(): void {
  if (probeTimer !== null) return;
  setConnection({ online: false, returns: connection.returns, retryAt: Date.now() + probeDelay });
  probeTimer = setTimeout(probeNow, probeDelay);
  probeDelay = Math.min(probeDelay * 2, 15_000);
}

const OFFLINE: Problem = { type: 'about:blank', title: 'Offline', status: 0, code: 'offline', detail: 'The gateway’s admin API cannot be reached right now. The dashboard retries by itself.' };

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  } catch {
    // The browser's own "Failed to fetch" says nothing useful: say what happened, and retry.
    wentOffline();
    throw new ApiError(OFFLINE);
  }
  if (!connection.online) probeNow();
  if (response.status === 204) return undefined as T;
  const payload: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const problem = (payload ?? { type: 'about:blank', title: response.statusText, status: response.status, detail: `The admin API answered ${response.status}.`, code: 'unknown' }) as Problem;
    if (response.status === 401 && path !== '/api/session') onUnauthorised();
    throw new ApiError(problem);
  }
  return payload as T;
}

export function query(parameters: Record<string, string | number | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** The messages of a refused request by field (the first segment of each `/body/…` pointer); the rest under `''`. */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return { '': error instanceof Error ? error.message : String(error) };
  const fields: Record<string, string> = {};
  for (const entry of error.problem.errors ?? []) {
    const field = /^\/body\/([^/]+)/.exec(entry.pointer)?.[1] ?? '';
    fields[field] ??= entry.message;
  }
  if (Object.keys(fields).length === 0) fields[''] = error.message;
  return fields;
}

/** A leak incident, as `GET /api/incidents` answers it (the shape of `portcullis incidents list --json`). */
export interface Incident {
  seq: number;
  at: string;
  kind: 'alert' | 'presentation' | 'anomaly' | 'quarantine';
  keyId: string;
  action: string;
  actor: string;
  address: string | null;
  reason: string | null;
  url: string | null;
  source: string | null;
  keyName: string | null;
  keyStatus: 'active' | 'quarantined' | 'revoked' | 'expired' | null;
}

/** A webhook delivery, as `GET /api/webhooks/deliveries` answers it. */
export interface WebhookDelivery {
  messageId: string;
  endpoint: string;
  eventType: string;
  auditSeq: number;
  createdAt: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  payload: string;
}

/** The webhook delivery log: whether this node sends webhooks, its configured endpoints, and the deliveries. */
export interface WebhookLog {
  enabled: boolean;
  endpoints: Array<{ url: string; events: string[] }>;
  items: WebhookDelivery[];
}
