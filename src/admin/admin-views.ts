import { keyStatus, type KeyRecord, type KeyStatus } from '../keys/key-record.ts';
import type { AuditEntry } from '../store/audit-log.ts';

const TIME_FIELDS = new Set(['createdAt', 'updatedAt', 'expiresAt', 'revokedAt', 'quarantinedAt', 'lastUsedAt']);

/** What the admin API and the dashboard call a key's state: `rotating` is an active key in its rotation's grace period. */
export type AdminKeyStatus = KeyStatus | 'rotating';

export function adminKeyStatus(record: Pick<KeyRecord, 'revokedAt' | 'expiresAt' | 'quarantinedAt' | 'rotatedTo'>, now: number): AdminKeyStatus {
  const status = keyStatus(record, now);
  return status === 'active' && record.rotatedTo !== null ? 'rotating' : status;
}

/**
 * A key as the admin API and dashboard show it: every field of the record but the digest,
 * times in ISO 8601, and its status. Generic on purpose: settings that later layers add to
 * the record (scopes, CIDRs, rate limits…) appear without a change here.
 */
export function adminKeyView(record: KeyRecord, now: number): Record<string, unknown> {
  const view: Record<string, unknown> = { id: record.id, name: record.name, displayPrefix: record.displayPrefix, status: adminKeyStatus(record, now) };
  for (const [field, value] of Object.entries(record)) {
    if (field === 'digest' || field in view) continue;
    view[field] = TIME_FIELDS.has(field) && typeof value === 'number' ? new Date(value).toISOString() : value;
  }
  return view;
}

/** An audit entry as people and scripts read it: details parsed, times in ISO 8601. */
export function auditEntryView(entry: AuditEntry) {
  return {
    seq: entry.seq,
    at: new Date(entry.at).toISOString(),
    actor: entry.actor,
    address: entry.address,
    action: entry.action,
    target: entry.target,
    reason: entry.reason,
    details: JSON.parse(entry.details) as Record<string, unknown>,
    hash: entry.hash,
  };
}
