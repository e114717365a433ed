import type { FastifyInstance } from 'fastify';
import type { KeyStore } from '../store/key-store.ts';
import type { RevokedTokenStore } from '../store/revoked-token-store.ts';
import { revokeDelegatedToken } from '../verify/dpop/revoked-tokens.ts';
import { auditActor } from './admin-auth.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { AdminProblem } from './admin-problems.ts';
import { registerOperation } from './admin-routes.ts';

/**
 * Delegated DPoP tokens revoked one by one (write tokens): the same revocation as `portcullis
 * tokens revoke`, audited as `token.revoked` with the admin token as actor.
 */
export function registerDelegatedTokenRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, store: Pick<KeyStore, 'getKeyById'> & Pick<RevokedTokenStore, 'revokeToken'>): void {
  registerOperation(app, routes, 'revokeDelegatedToken', async (request) => {
    const { id } = request.params as { id: string };
    const { reason, keyId } = request.body as { reason: string; keyId?: string };
    if (keyId !== undefined && (await store.getKeyById(keyId)) === null) throw new AdminProblem('not_found', `No key with id ${keyId}.`);
    const result = await revokeDelegatedToken(store, { tokenId: id, keyId: keyId ?? null, reason: reason.trim() }, Date.now(), auditActor(request));
    return { tokenId: result.tokenId, keyId: result.keyId === '' ? null : result.keyId, changed: result.revoked, heldUntil: new Date(result.expiresAt).toISOString() };
  });
}
