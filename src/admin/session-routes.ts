import type { FastifyInstance } from 'fastify';
import type { AdminTokenStore } from '../store/admin-token-store.ts';
import { findAdminToken, originAllowed, type AdminIdentity } from './admin-auth.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { sendAdminProblem } from './admin-problems.ts';
import { registerOperation } from './admin-routes.ts';
import { SESSION_COOKIE, type AdminSession, type AdminSessions } from './admin-sessions.ts';

function sessionView(identity: { tokenId: string; tokenName: string; role: string }, session: AdminSession | null) {
  return {
    tokenId: identity.tokenId,
    tokenName: identity.tokenName,
    role: identity.role,
    csrfToken: session === null ? null : session.csrfToken,
    expiresAt: session === null ? null : new Date(session.expiresAt).toISOString(),
  };
}

/**
 * Dashboard login and logout. The session cookie is HttpOnly (scripts cannot read it), Secure
 * (browsers send it only to https:// or to loopback http://, which they treat as a secure
 * context), SameSite=Strict (never sent with a request another site starts) and `__Host-`
 * prefixed (no Domain, Path=/).
 */
export function registerSessionRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, store: AdminTokenStore, sessions: AdminSessions, protocol: 'http' | 'https'): void {
  registerOperation(app, routes, 'login', async (request, reply) => {
    if (!originAllowed(request, protocol)) return sendAdminProblem(reply, 'csrf_failed', 'Log in from the dashboard\'s own origin.');
    const { token: presented } = request.body as { token: string };
    const token = await findAdminToken(store, presented.trim());
    if (token === null) return sendAdminProblem(reply, 'admin_unauthorized', 'That admin token is malformed, unknown or revoked.');
    const session = sessions.open(token, Date.now());
    request.log.info({ tokenId: token.id }, 'dashboard login');
    reply.setCookie(SESSION_COOKIE, session.id, { httpOnly: true, secure: true, sameSite: 'strict', path: '/', maxAge: Math.floor((session.expiresAt - session.createdAt) / 1000) });
    reply.header('cache-control', 'no-store');
    return sessionView({ tokenId: token.id, tokenName: token.name, role: token.role }, session);
  });

  registerOperation(app, routes, 'getSession', async (request, reply) => {
    const identity = request.admin as AdminIdentity;
    reply.header('cache-control', 'no-store');
    return sessionView(identity, identity.session);
  });

  registerOperation(app, routes, 'logout', async (request, reply) => {
    const identity = request.admin as AdminIdentity;
    if (identity.session !== null) sessions.close(identity.session.id);
    reply.clearCookie(SESSION_COOKIE, { httpOnly: true, secure: true, sameSite: 'strict', path: '/' });
    return reply.code(204).send();
  });
}
