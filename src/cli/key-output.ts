import { keyStatus, type KeyRecord } from '../keys/key-record.ts';
import { summariseSigningKey } from '../keys/signing-key.ts';
import { formatTime } from './cli-support.ts';

/** A key record as commands show it: everything but the digest (never needed by a person). */
export function publicKeyView(record: KeyRecord, now = Date.now()) {
  return {
    id: record.id,
    name: record.name,
    displayPrefix: record.displayPrefix,
    status: keyStatus(record, now),
    tags: record.tags,
    allowedCidrs: record.allowedCidrs,
    certFingerprint: record.certFingerprint,
    signingKey: summariseSigningKey(record.signingKey),
    rateLimit: record.rateLimit,
    quota: record.quota,
    scopes: record.scopes,
    apis: record.apis,
    leakAction: record.leakAction,
    createdAt: new Date(record.createdAt).toISOString(),
    expiresAt: record.expiresAt === null ? null : new Date(record.expiresAt).toISOString(),
    revokedAt: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
    revokedReason: record.revokedReason,
    quarantinedAt: record.quarantinedAt === null ? null : new Date(record.quarantinedAt).toISOString(),
    quarantinedReason: record.quarantinedReason,
    rotatedTo: record.rotatedTo,
    lastUsedAt: record.lastUsedAt === null ? null : new Date(record.lastUsedAt).toISOString(),
    lastUsedAddress: record.lastUsedAddress,
    metadata: record.metadata,
  };
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function formatKeyTable(records: KeyRecord[], now = Date.now()): string {
  const rows = [['ID', 'NAME', 'PREFIX', 'STATUS', 'TAGS', 'EXPIRES', 'LAST USED']];
  for (const record of records) {
    rows.push([record.id, record.name, `${record.displayPrefix}…`, keyStatus(record, now), record.tags.join(',') || '-', formatTime(record.expiresAt), formatTime(record.lastUsedAt)]);
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => pad(cell, widths[column]!)).join('  ').trimEnd()).join('\n');
}

export function formatKeyDetail(record: KeyRecord, now = Date.now()): string {
  const view = publicKeyView(record, now);
  const lines: Array<[string, string]> = [
    ['id', view.id],
    ['name', view.name],
    ['prefix', `${view.displayPrefix}…`],
    ['status', view.status],
    ['tags', view.tags.join(', ') || '-'],
    ['allow ip', record.allowedCidrs.join(', ') || 'any'],
    ['cert', record.certFingerprint ?? '-'],
    ['signing key', view.signingKey === null ? '-' : `${view.signingKey.algorithm} (SHA-256 ${view.signingKey.sha256})`],
    ['scopes', view.scopes.join(', ') || '-'],
    ['apis', view.apis.join(', ') || 'all'],
    ['leak action', view.leakAction ?? 'inherit (tags, then the default)'],
    ['created', formatTime(record.createdAt)],
    ['expires', formatTime(record.expiresAt)],
    ['revoked', record.revokedAt === null ? '-' : `${formatTime(record.revokedAt)}${record.revokedReason ? ` (${record.revokedReason})` : ''}`],
    ['quarantined', record.quarantinedAt === null ? '-' : `${formatTime(record.quarantinedAt)}${record.quarantinedReason ? ` (${record.quarantinedReason})` : ''}`],
    ['rotated to', record.rotatedTo ?? '-'],
    ['last used', record.lastUsedAt === null ? '-' : `${formatTime(record.lastUsedAt)} from ${record.lastUsedAddress ?? '?'}`],
  ];
  return lines.map(([label, value]) => `${pad(label, 11)} ${value}`).join('\n');
}
