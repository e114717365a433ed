import type { AuditActor } from './audit-log.ts';

/**
 * Delegated DPoP tokens revoked one by one (issue 22), before their expiry: a bounded denylist.
 * A row lives until the token would have expired anyway (`expiresAt`), then is purged. Every
 * node polls the rows revoked since it last looked (`src/verify/dpop/revoked-tokens.ts`) and
 * refuses those tokens with 401 `dpop_token_revoked`.
 */
export interface RevokedTokenRecord {
  /** The token's `jti`: `token_id` of the issuing endpoint, `X-Portcullis-Token-Id` upstream. */
  tokenId: string;
  /** The parent key, when the revoker named it; '' otherwise. */
  keyId: string;
  /** No later than the token's own expiry; the row may be purged after it. */
  expiresAt: number;
  revokedAt: number;
  reason: string | null;
}

export interface RevokedTokenStore {
  /**
   * Adds `tokenId` to the denylist (audited as `token.revoked`, in the same transaction). True
   * when this call revoked it; false, and nothing written, when it was already revoked.
   */
  revokeToken(tokenId: string, keyId: string, expiresAt: number, reason: string | null, now: number, by: AuditActor): Promise<boolean>;
  /** The tokens revoked at or after `fromRevokedAt`, still within their expiry at `now`, oldest first. */
  revokedTokensSince(fromRevokedAt: number, now: number): Promise<RevokedTokenRecord[]>;
  /** Deletes the rows whose token has expired by `now`; returns how many. */
  purgeRevokedTokens(now: number): Promise<number>;
}
