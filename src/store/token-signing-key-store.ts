import type { AuditActor } from './audit-log.ts';

/**
 * The key pairs the gateway signs delegated browser tokens with (src/verify/dpop/). At most one
 * key signs at a time (the *current* one); a rotation retires it, and tokens it signed still
 * verify until `verifiesUntil`, so a rotation never ends a token early. Every node reads the
 * keys once and again now and then (`src/verify/dpop/token-key-ring.ts`), never per request.
 *
 * The private half is stored as a JWK: whoever can read the store can mint tokens, exactly as
 * whoever can write it can create keys (docs/security.md).
 */
export interface TokenSigningKeyRecord {
  /** The `kid` tokens name it by. */
  kid: string;
  algorithm: 'ES256';
  publicJwk: Record<string, string>;
  privateJwk: Record<string, string>;
  createdAt: number;
  /** When a newer key replaced it; null while it signs. */
  retiredAt: number | null;
  /** Until when tokens it signed verify; null while it signs. */
  verifiesUntil: number | null;
}

export type NewTokenSigningKey = Pick<TokenSigningKeyRecord, 'kid' | 'algorithm' | 'publicJwk' | 'privateJwk'>;

export interface TokenSigningKeyStore {
  /** The keys that still verify at `now`: the current one and those retired whose `verifiesUntil` is later; newest first. */
  listTokenSigningKeys(now: number): Promise<TokenSigningKeyRecord[]>;
  /**
   * Makes `key` the current signing key when there is none (audited as
   * `token_signing_key.created`); false, and nothing written, when another node made one first.
   */
  createTokenSigningKey(key: NewTokenSigningKey, now: number, by: AuditActor): Promise<boolean>;
  /**
   * In one transaction: retires the current key (it verifies for `overlapMs` more) and makes
   * `key` the current one (audited as `token_signing_key.rotated`). Returns the retired key's
   * `kid`, or null when there was none.
   */
  rotateTokenSigningKey(key: NewTokenSigningKey, overlapMs: number, now: number, by: AuditActor): Promise<string | null>;
}
