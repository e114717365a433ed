import type { FastifyInstance } from 'fastify';
import { mintAdminToken } from '../keys/mint-key.ts';
import type { AdminRole, AdminTokenRecord, AdminTokenStore } from '../store/admin-token-store.ts';
import { auditActor, type AdminIdentity } from './admin-auth.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { AdminProblem } from './admin-problems.ts';
import { registerOperation } from './admin-routes.ts';
import type { AdminTokenActivity } from './token-activity.ts';

function tokenView(record: AdminTokenRecord, activity: AdminTokenActivity, caller: string) {
  const use = activity.lastUse(record.id);
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    displayPrefix: record.displayPrefix,
    status: record.revokedAt === null ? 'active' : 'revoked',
    createdAt: new Date(record.createdAt).toISOString(),
    revokedAt: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
    lastUsedAt: use === null ? null : new Date(use.at).toISOString(),
    lastUsedAddress: use?.address ?? null,
    current: record.id === caller,
  };
}

/**
 * Admin tokens, for write tokens only (a read token cannot see or mint them): list, create
 * (the token is in the response and nowhere else, as with `admin token create`) and revoke.
 * Both changes are audited like the CLI's. A revoked token's sessions and event streams end
 * within a second.
 */
export function registerTokenRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, store: AdminTokenStore, activity: AdminTokenActivity): void {
  registerOperation(app, routes, 'listAdminTokens', async (request, reply) => {
    const caller = (request.admin as AdminIdentity).tokenId;
    reply.header('cache-control', 'no-store');
    // Newest first, like every other list of the dashboard.
    return (await store.listAdminTokens()).reverse().map((record) => tokenView(record, activity, caller));
  });

  registerOperation(app, routes, 'createAdminToken', async (request, reply) => {
    const { name, role } = request.body as { name: string; role: AdminRole };
    if (name.trim() === '') throw new AdminProblem('request_invalid', 'name: expected who or what the token is for, such as ops-laptop', [{ pointer: '/body/name', message: 'name: expected who or what the token is for, such as ops-laptop' }]);
    const minted = mintAdminToken();
    const record = await store.createAdminToken({ id: minted.id, name: name.trim(), role, digest: minted.digest, displayPrefix: minted.displayPrefix }, Date.now(), auditActor(request));
    reply.code(201).header('cache-control', 'no-store');
    return { ...tokenView(record, activity, (request.admin as AdminIdentity).tokenId), token: minted.key };
  });

  registerOperation(app, routes, 'revokeAdminToken', async (request) => {
    const { id } = request.params as { id: string };
    const record = await store.revokeAdminToken(id, Date.now(), auditActor(request));
    if (record === null) throw new AdminProblem('not_found', `No admin token with id ${id}.`);
    return tokenView(record, activity, (request.admin as AdminIdentity).tokenId);
  });
}
