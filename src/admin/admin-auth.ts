import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/cookie';
import { digestKey } from '../keys/key-digest.ts';
import { createKeyParser } from '../keys/key-format.ts';
import { isBearer } from '../http/authorization.ts';
import { socketAddressOf } from '../http/resolved-client.ts';
import type { AdminRole, AdminTokenRecord, AdminTokenStore } from '../store/admin-token-store.ts';
import type { AuditActor } from '../store/audit-log.ts';
import { ADMIN_TOKEN_PREFIX } from '../keys/mint-key.ts';
import { AdminSessions, csrfTokenMatches, SESSION_COOKIE, type AdminSession } from './admin-sessions.ts';
import { sendAdminProblem } from './admin-problems.ts';
import type { AdminTokenActivity } from './token-activity.ts';

/** Who is calling: the admin token, and the dashboard session when the call came with its cookie. */
export interface AdminIdentity {
  tokenId: string;
  tokenName: string;
  role: AdminRole;
  session: AdminSession | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    admin: AdminIdentity | null;
  }
}

const CHALLENGE = { 'www-authenticate': 'Bearer realm="portcullis-admin"' };
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const parseAdminToken = createKeyParser([ADMIN_TOKEN_PREFIX]);

/** Loopback addresses: 127.0.0.0/8 and ::1 (IPv4-mapped forms are unwrapped by socketAddressOf). */
export function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

/** The caller's address as the audit log records it: the socket's, never a forwarding header. */
export function adminClientAddress(request: FastifyRequest): string {
  return socketAddressOf(request.raw.socket);
}

export function auditActor(request: FastifyRequest): AuditActor {
  return { actor: (request.admin as AdminIdentity).tokenId, address: adminClientAddress(request) };
}

/** The live token a presented value names, or null. Malformed values are refused without a lookup. */
export async function findAdminToken(store: AdminTokenStore, presented: string): Promise<AdminTokenRecord | null> {
  if (parseAdminToken(presented) === null) return null;
  const token = await store.getAdminTokenByDigest(digestKey(presented));
  return token === null || token.revokedAt !== null ? null : token;
}

/**
 * The browser's `Origin`, when it sent one, must be this listener's own: a page on another
 * site cannot make changes even if a cookie were sent (SameSite=Strict already stops that).
 */
export function originAllowed(request: FastifyRequest, protocol: 'http' | 'https'): boolean {
  const origin = request.headers.origin;
  return origin === undefined || origin === `${protocol}://${request.headers.host ?? ''}`;
}

export interface AdminAuthenticator {
  sessions: AdminSessions;
  /** Resolves the caller and checks `role`; replies with a problem and returns false when refused. */
  authorise(request: FastifyRequest, reply: FastifyReply, role: AdminRole): Promise<boolean>;
}

/**
 * Every admin call is authorised by role: `read` looks, `write` also changes keys. A call
 * authenticates with `Authorization: Bearer <admin token>`, or with the dashboard's session
 * cookie, in which case a change must also carry the session's CSRF token and, when the
 * browser sends an `Origin`, come from this listener's own origin.
 */
export function createAdminAuthenticator(store: AdminTokenStore, sessions: AdminSessions, protocol: 'http' | 'https', activity?: AdminTokenActivity): AdminAuthenticator {
  async function identify(request: FastifyRequest, reply: FastifyReply): Promise<AdminIdentity | null> {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const token = isBearer(authorization) ? await findAdminToken(store, authorization.slice(7).trim()) : null;
      if (token === null) {
        sendAdminProblem(reply, 'admin_unauthorized', 'The admin token is missing, malformed, unknown or revoked.', CHALLENGE);
        return null;
      }
      return { tokenId: token.id, tokenName: token.name, role: token.role, session: null };
    }
    const sessionId = request.cookies[SESSION_COOKIE];
    const session = sessionId === undefined ? null : sessions.find(sessionId, Date.now());
    if (session === null) {
      sendAdminProblem(reply, 'admin_unauthorized', 'Send an admin token as "Authorization: Bearer <token>", or log in to the dashboard.', CHALLENGE);
      return null;
    }
    // The token may have been revoked since the login: that ends the session.
    const token = await store.getAdminTokenById(session.tokenId);
    if (token === null || token.revokedAt !== null) {
      sessions.close(session.id);
      sendAdminProblem(reply, 'admin_unauthorized', 'The session\'s admin token has been revoked; log in again.', CHALLENGE);
      return null;
    }
    if (!SAFE_METHODS.has(request.method) && (!originAllowed(request, protocol) || !csrfTokenMatches(session, header(request, 'x-csrf-token')))) {
      sendAdminProblem(reply, 'csrf_failed', 'A change made with the session cookie must carry the session\'s X-CSRF-Token and come from the dashboard\'s own origin.');
      return null;
    }
    return { tokenId: token.id, tokenName: token.name, role: token.role, session };
  }

  return {
    sessions,
    async authorise(request, reply, role) {
      const identity = await identify(request, reply);
      if (identity === null) return false;
      request.admin = identity;
      if (role === 'write' && identity.role !== 'write') {
        sendAdminProblem(reply, 'admin_forbidden', 'This needs a write admin token; the one used is read-only.');
        return false;
      }
      // A use is a call the token was allowed to make.
      activity?.record(identity.tokenId, { at: Date.now(), address: adminClientAddress(request) });
      return true;
    },
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === 'string' ? value : undefined;
}
