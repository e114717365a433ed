import type { KeyRecord } from '../keys/key-record.ts';

/**
 * Rules every `KeyStore` implementation applies the same way, kept in one place so that
 * SQLite and PostgreSQL cannot drift apart (the shared suite in test/support checks both).
 */

/** Page size of `listKeys` when the filter names none, and the most it returns. */
const defaultListLimit = 100;
const maxListLimit = 1000;

/** The page size for a `KeyFilter.limit`: the default when absent, capped at the maximum. */
export function listLimit(limit: number | undefined): number {
  if (limit === undefined) return defaultListLimit;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  return Math.min(limit, maxListLimit);
}

/**
 * Rotation copies the old key's settings, expiry included, so rotating a key
 * that is revoked, expired or already rotated (its expiry is then the end of
 * the earlier grace period) would issue a key that is dead or soon to die.
 */
export function refuseRotation(old: KeyRecord, now: number): void {
  if (old.revokedAt !== null) throw new Error(`Key ${old.id} is revoked and cannot be rotated`);
  if (old.rotatedTo !== null) {
    throw new Error(`Key ${old.id} was already rotated to ${old.rotatedTo}; rotate ${old.rotatedTo} instead`);
  }
  if (old.expiresAt !== null && old.expiresAt <= now) throw new Error(`Key ${old.id} has expired and cannot be rotated`);
}

/** The settings a rotation's replacement inherits from the key it replaces. */
export function replacementSettings(old: KeyRecord) {
  return {
    name: old.name,
    tags: old.tags,
    scopes: old.scopes,
    allowedCidrs: old.allowedCidrs,
    certFingerprint: old.certFingerprint,
    signingKey: old.signingKey,
    apis: old.apis,
    leakAction: old.leakAction,
    rateLimit: old.rateLimit,
    quota: old.quota,
    metadata: old.metadata,
    expiresAt: old.expiresAt,
  };
}

/** The old key's expiry after a rotation: the end of the grace period, or its own expiry if sooner. */
export function rotatedExpiry(old: KeyRecord, graceEndsAt: number): number {
  return Math.min(old.expiresAt ?? Number.POSITIVE_INFINITY, graceEndsAt);
}

/** Checks `eventsSince`'s limit the same way in every store. */
export function checkEventLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
}
