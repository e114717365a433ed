/** The admin API, as the dashboard calls it: same origin, session cookie, CSRF token on changes. */

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
}

class ApiError extends Error {
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
  status: 'active' | 'revoked' | 'expired';
  tags: string[];
  createdAt: string;
  updatedAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedReason: string | null;
  rotatedTo: string | null;
  lastUsedAt: string | null;
  lastUsedAddress: string | null;
  [setting: string]: unknown;
}

export interface IssuedKey extends Key {
  key: string;
  replaces?: string;
  oldKeyExpiresAt?: string;
}

export interface KeyPage {
  items: Key[];
  next: string | null;
}

export interface UsagePoint {
  t: string;
  requests: number;
  denied: number;
  bytesIn: number;
  bytesOut: number;
}

export interface KeyUsage {
  window: string;
  step: number;
  points: UsagePoint[];
  totals: { requests: number; denied: number; bytesIn: number; bytesOut: number; distinctAddresses: number };
  denials: Record<string, number>;
  addresses: Array<{ address: string; lastSeen: string; minutes: number }>;
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
}

export interface AuditPage {
  items: AuditEntry[];
  next: number | null;
}

export type AuditVerification = { ok: true; entries: number; head: { seq: number; hash: string } } | { ok: false; entries: number; seq: number | null; problem: string };

let csrfToken: string | null = null;
let onUnauthorised: () => void = () => {};

export function setSession(session: Session | null): void {
  csrfToken = session?.csrfToken ?? null;
}

/** Called when the API says the session is gone (expired, logged out elsewhere, token revoked). */
export function whenUnauthorised(callback: () => void): void {
  onUnauthorised = callback;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
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
