import type { AuditActor } from './audit-log.ts';

export type AdminRole = 'read' | 'write';

/**
 * An admin token as stored: like a key, only its SHA-256 digest and a display prefix; the
 * plaintext is shown once, when `portcullis admin token create` makes it.
 */
export interface AdminTokenRecord {
  id: string;
  name: string;
  role: AdminRole;
  digest: string;
  displayPrefix: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface NewAdminToken {
  id: string;
  name: string;
  role: AdminRole;
  digest: string;
  displayPrefix: string;
}

/** Admin tokens authenticate the admin API and the dashboard. Creation and revocation are audited. */
export interface AdminTokenStore {
  createAdminToken(token: NewAdminToken, now: number, by: AuditActor): Promise<AdminTokenRecord>;
  getAdminTokenByDigest(digest: string): Promise<AdminTokenRecord | null>;
  getAdminTokenById(id: string): Promise<AdminTokenRecord | null>;
  /** Every token, oldest first (there are few). */
  listAdminTokens(): Promise<AdminTokenRecord[]>;
  /** Revokes a token; null when unknown. Revoking twice keeps the first time and writes no second entry. */
  revokeAdminToken(id: string, now: number, by: AuditActor): Promise<AdminTokenRecord | null>;
}
