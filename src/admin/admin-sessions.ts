import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdminRole } from '../store/admin-token-store.ts';

/** The session cookie. `__Host-` makes the browser insist on Secure, Path=/ and no Domain. */
export const SESSION_COOKIE = '__Host-portcullis_session';
const MAX_SESSIONS = 10_000;

export interface AdminSession {
  id: string;
  tokenId: string;
  tokenName: string;
  role: AdminRole;
  /** Sent back in `X-CSRF-Token` with every change made through this session. */
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export interface SessionLimits {
  lifetime: number;
  idleTimeout: number;
}

/**
 * Dashboard sessions, in this process's memory: a restart logs everyone out, and a session
 * lives on the node that created it (the admin listener of one node serves one dashboard).
 * A session only names the admin token it was opened with; every request re-reads that token,
 * so revoking the token ends its sessions at once. Bounded: the oldest sessions go first.
 */
export class AdminSessions {
  readonly #sessions = new Map<string, AdminSession>();
  readonly #limits: SessionLimits;

  constructor(limits: SessionLimits) {
    this.#limits = limits;
  }

  open(token: { id: string; name: string; role: AdminRole }, now: number): AdminSession {
    const session: AdminSession = {
      id: randomBytes(32).toString('base64url'),
      tokenId: token.id,
      tokenName: token.name,
      role: token.role,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: now,
      lastSeenAt: now,
      expiresAt: now + this.#limits.lifetime,
    };
    this.#sessions.set(session.id, session);
    if (this.#sessions.size > MAX_SESSIONS) this.#sessions.delete(this.#sessions.keys().next().value as string);
    return session;
  }

  /** The live session with this id (touching it), or null when unknown, idle too long or expired. */
  find(id: string, now: number): AdminSession | null {
    const session = this.#sessions.get(id);
    if (session === undefined) return null;
    if (this.#ended(session, now)) {
      this.#sessions.delete(id);
      return null;
    }
    session.lastSeenAt = now;
    return session;
  }

  /**
   * Whether the session is still open, without touching it: an open event stream must not keep
   * its session from going idle, or a forgotten dashboard tab would never be logged out.
   */
  isLive(id: string, now: number): boolean {
    const session = this.#sessions.get(id);
    return session !== undefined && !this.#ended(session, now);
  }

  close(id: string): void {
    this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  #ended(session: AdminSession, now: number): boolean {
    return now >= session.expiresAt || now - session.lastSeenAt >= this.#limits.idleTimeout;
  }
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfTokenMatches(session: AdminSession, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const expected = Buffer.from(session.csrfToken);
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
