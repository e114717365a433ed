/**
 * A key record as the store keeps it. The plaintext key is never part of it:
 * only its SHA-256 digest (hex) and a short display prefix such as `pcl_AbCd`.
 * Times are milliseconds since the Unix epoch.
 */
export interface KeyRecord {
  id: string;
  name: string;
  digest: string;
  displayPrefix: string;
  tags: string[];
  scopes: string[];
  allowedCidrs: string[];
  certFingerprint: string | null;
  /**
   * Public key (SPKI PEM) the key is bound to for signed requests (RFC 9421): requests with it
   * must carry a valid `Signature` by the private half (keys/signing-key.ts); null: unbound.
   */
  signingKey: string | null;
  /** The gateway's APIs the key may be used on (keys/key-apis.ts); empty: every API. */
  apis: string[];
  /**
   * The key's own action on a leak report or an anomaly finding, over its tags' and the
   * global default (keys/tag-actions.ts `actionForKey`); null: inherit.
   */
  leakAction: LeakAction | null;
  /** Rate policy such as `100/s`; null means the gateway's default. */
  rateLimit: string | null;
  /** Quota policy such as `10000/day`; null means the gateway's default. */
  quota: string | null;
  metadata: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  revokedReason: string | null;
  /**
   * Set while the key is quarantined: refused (403 `key_quarantined`) until an operator
   * releases it (both back to null) or revokes it. A suspected leak, not yet a verdict.
   */
  quarantinedAt: number | null;
  quarantinedReason: string | null;
  /** Set on the old key of a rotation: the id of the key that replaced it. */
  rotatedTo: string | null;
  lastUsedAt: number | null;
  lastUsedAddress: string | null;
}

/** The settings a caller chooses when creating a key (rotation copies them). */
export interface KeySettings {
  name: string;
  tags: string[];
  scopes: string[];
  allowedCidrs: string[];
  certFingerprint: string | null;
  /** The public key for signed requests (SPKI PEM); absent or null: unbound. */
  signingKey?: string | null;
  /** The APIs the key may be used on; absent or empty: every API. */
  apis?: string[];
  /** The key's own leak and anomaly action; absent or null: inherit (tags, then the global default). */
  leakAction?: LeakAction | null;
  rateLimit: string | null;
  quota: string | null;
  metadata: Record<string, unknown>;
  expiresAt: number | null;
}

/**
 * What a leak report or an anomaly finding does to a key: an audit entry only (`notify`), a
 * quarantine (403 `key_quarantined` until released), or a revocation. Leak reports never do
 * less than quarantine (keys/tag-actions.ts).
 */
export type LeakAction = 'notify' | 'quarantine' | 'revoke';

/** Every leak action, weakest first. */
export const LEAK_ACTIONS: readonly LeakAction[] = ['notify', 'quarantine', 'revoke'];

export type KeyStatus = 'active' | 'quarantined' | 'revoked' | 'expired';

/**
 * The status of a record at a given time: revocation wins over expiry, and both over
 * quarantine (a key refused for good is not merely held).
 */
export function keyStatus(record: Pick<KeyRecord, 'revokedAt' | 'expiresAt' | 'quarantinedAt'>, now: number): KeyStatus {
  if (record.revokedAt !== null) return 'revoked';
  if (record.expiresAt !== null && record.expiresAt <= now) return 'expired';
  if (record.quarantinedAt !== null) return 'quarantined';
  return 'active';
}

/** What a key's tag may look like: letters, digits and `_ . : -`, up to 64, starting with a letter or digit. */
export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
