import { keyStatus } from '../keys/key-record.ts';
import type { AuditHead } from './audit-log.ts';

/**
 * What restoring a backup over a store undoes, worked out before anything is replaced. A
 * backup holds the keys as they were when it was taken: a key revoked since is not revoked in
 * it, and a key whose rotation grace period has ended since is not expired in it. Restoring
 * makes those keys work again, and a gateway has no way to know they should not. So the
 * restore lists them, by comparing each key's record in the store being replaced with its
 * record in the backup (which works even when the two histories have parted), and says how
 * much of the change log and the audit log the restore takes back.
 */

/** What the comparison needs of a key record. */
export interface KeyState {
  id: string;
  name: string;
  expiresAt: number | null;
  revokedAt: number | null;
  revokedReason: string | null;
}

/** One store's side of the comparison (the backup's, or the store's it would replace). */
export interface StoreHistory {
  keys: readonly KeyState[];
  latestEventSeq: number;
  auditHead: AuditHead;
}

/** A key that is refused now and would be accepted again once the backup is restored. */
export interface ReactivatedKey {
  id: string;
  name: string;
  /** Why it is refused now. */
  now: 'revoked' | 'expired';
  revokedAt: number | null;
  revokedReason: string | null;
  /** Its expiry now, and in the backup. */
  expiresAt: number | null;
  expiresAtInBackup: number | null;
}

export interface RestoreReport {
  /** Whether the backup is an earlier state of the store it replaces (its audit head is in that store's log). */
  sameHistory: boolean;
  /** Key changes and audit entries in the replaced store that the backup does not have (same history only). */
  keyEventsUndone: number | null;
  auditEntriesUndone: number | null;
  /** Keys that exist only in the replaced store (created after the backup): gone once restored. */
  keysRemoved: number;
  /** Keys refused now (revoked, or expired) that the backup has as active: they work again once restored. */
  reactivated: ReactivatedKey[];
}

/**
 * Compares the store to be replaced (`current`) with the backup, at time `now`.
 * `currentHashAtBackupHead` is the hash `current`'s audit log holds at the backup head's seq
 * (null when it has no entry there): equal to the backup head's hash when the backup is an
 * earlier state of `current`.
 *
 * @example
 * const report = compareForRestore(current, backup, current hash at backup.auditHead.seq, Date.now());
 * for (const key of report.reactivated) console.log(`${key.id} works again`);
 */
export function compareForRestore(current: StoreHistory, backup: StoreHistory, currentHashAtBackupHead: string | null, now: number): RestoreReport {
  const sameHistory = backup.auditHead.seq === 0 || currentHashAtBackupHead === backup.auditHead.hash;
  const inBackup = new Map(backup.keys.map((key) => [key.id, key]));
  const reactivated: ReactivatedKey[] = [];
  let keysRemoved = 0;
  for (const key of current.keys) {
    const before = inBackup.get(key.id);
    if (before === undefined) {
      keysRemoved++;
      continue;
    }
    // Quarantine is not compared (a backup may predate it): only revocation and expiry.
    const status = keyStatus({ ...key, quarantinedAt: null }, now);
    if (status === 'active' || status === 'quarantined' || keyStatus({ ...before, quarantinedAt: null }, now) !== 'active') continue;
    reactivated.push({
      id: key.id,
      name: key.name,
      now: status,
      revokedAt: key.revokedAt,
      revokedReason: key.revokedReason,
      expiresAt: key.expiresAt,
      expiresAtInBackup: before.expiresAt,
    });
  }
  reactivated.sort((a, b) => (a.revokedAt ?? a.expiresAt ?? 0) - (b.revokedAt ?? b.expiresAt ?? 0) || (a.id < b.id ? -1 : 1));
  return {
    sameHistory,
    keyEventsUndone: sameHistory ? Math.max(0, current.latestEventSeq - backup.latestEventSeq) : null,
    auditEntriesUndone: sameHistory ? Math.max(0, current.auditHead.seq - backup.auditHead.seq) : null,
    keysRemoved,
    reactivated,
  };
}
