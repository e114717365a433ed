import { isDeepStrictEqual } from 'node:util';
import type { KeyRecord, KeySettings } from '../keys/key-record.ts';
import type { AuditEvidence, KeySettingsUpdate } from './key-store.ts';
import type { AuditActor } from './audit-log.ts';

/**
 * The `details` JSON of key audit entries, shared by every store so that the same change is
 * described the same way whatever database holds it. Never the key or its digest.
 */

const settingNames = ['name', 'tags', 'scopes', 'allowedCidrs', 'certFingerprint', 'signingKey', 'apis', 'leakAction', 'rateLimit', 'quota', 'metadata', 'expiresAt'] as const satisfies readonly (keyof KeySettings)[];

/** A new key's settings (and, for a rotation's replacement, the key it replaces). */
export function keyCreationDetails(record: KeyRecord, rotatedFrom?: string): string {
  const details: Record<string, unknown> = { displayPrefix: record.displayPrefix };
  for (const name of settingNames) details[name] = record[name];
  if (rotatedFrom !== undefined) details.rotatedFrom = rotatedFrom;
  return JSON.stringify(details);
}

/** `{"changes":{"name":{"from":…,"to":…}}}` for the settings that differ; null when none does. */
export function keyChangeDetails(old: KeyRecord, changes: KeySettingsUpdate): string | null {
  const changed: Record<string, { from: unknown; to: unknown }> = {};
  for (const name of settingNames) {
    const to = changes[name];
    if (to !== undefined && !isDeepStrictEqual(to, old[name])) changed[name] = { from: old[name], to };
  }
  return Object.keys(changed).length === 0 ? null : JSON.stringify({ changes: changed });
}

/** `details` with the change set of `by`, if it has one (see `AuditActor.changeSet`); unchanged otherwise. */
export function detailsInChangeSet(details: string, by: AuditActor): string {
  if (by.changeSet === undefined) return details;
  return JSON.stringify({ ...(JSON.parse(details) as Record<string, unknown>), changeSet: by.changeSet });
}

/** The details of a revocation or quarantine: `{}`, or the evidence given (a leak report's source and URL). */
export function evidenceDetails(evidence: AuditEvidence | undefined): string {
  return evidence === undefined ? '{}' : JSON.stringify({ evidence });
}
