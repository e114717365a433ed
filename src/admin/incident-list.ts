import { keyStatus, type KeyRecord } from '../keys/key-record.ts';
import type { AuditEntry } from '../store/audit-log.ts';

/**
 * Leak incidents, as the audit log records them: what happened to which key, on whose report,
 * with what evidence. An incident is an audit entry of one of these kinds:
 *
 * - `alert`: a secret-scanning alert quarantined or revoked the key (actor `secret-scanning`);
 * - `presentation`: someone presented the key as leaked (actor `key-presentation`);
 * - `anomaly`: anomaly detection recorded a finding (`key.anomaly`);
 * - `quarantine`: anyone else quarantined the key (an operator, the CLI).
 */
type IncidentKind = 'alert' | 'presentation' | 'anomaly' | 'quarantine';

export interface Incident {
  seq: number;
  at: number;
  kind: IncidentKind;
  keyId: string;
  /** `quarantined`, `revoked`, or for an anomaly the action its finding named (`notify`, …). */
  action: string;
  actor: string;
  address: string | null;
  reason: string | null;
  /** Where the key was found (a report's URL), when the entry says. */
  url: string | null;
  /** The report's source (`content`, `presentation`, …) or the anomaly's kind, when the entry says. */
  source: string | null;
}

const REPORTERS: Readonly<Record<string, IncidentKind>> = { 'secret-scanning': 'alert', 'key-presentation': 'presentation' };

function detailsOf(entry: AuditEntry): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(entry.details);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const textOrNull = (value: unknown) => (typeof value === 'string' ? value : null);

/** The incident an audit entry records, or null when it records none. */
export function incidentOf(entry: AuditEntry): Incident | null {
  const details = detailsOf(entry);
  const evidence = (typeof details.evidence === 'object' && details.evidence !== null ? details.evidence : {}) as Record<string, unknown>;
  const base = { seq: entry.seq, at: entry.at, keyId: entry.target, actor: entry.actor, address: entry.address, reason: entry.reason };
  if (entry.action === 'key.anomaly') {
    return { ...base, kind: 'anomaly', action: textOrNull(details.action) ?? 'notify', url: null, source: textOrNull(details.kind) };
  }
  if (entry.action !== 'key.quarantined' && entry.action !== 'key.revoked') return null;
  const action = entry.action === 'key.quarantined' ? 'quarantined' : 'revoked';
  const reported = REPORTERS[entry.actor];
  if (reported !== undefined) return { ...base, kind: reported, action, url: textOrNull(evidence.url), source: textOrNull(evidence.source) };
  if (entry.action === 'key.quarantined') return { ...base, kind: 'quarantine', action, url: textOrNull(evidence.url), source: textOrNull(evidence.source) };
  return null;
}

/** Reads the audit log newest first, in pages, until `limit` incidents or `maxScanned` entries. */
export async function listIncidents(read: (before: number | undefined) => Promise<AuditEntry[]>, limit: number, maxScanned = 100_000): Promise<Incident[]> {
  const incidents: Incident[] = [];
  let before: number | undefined;
  let scanned = 0;
  while (incidents.length < limit && scanned < maxScanned) {
    const page = await read(before);
    for (const entry of page) {
      const incident = incidentOf(entry);
      if (incident !== null) incidents.push(incident);
      if (incidents.length === limit) break;
    }
    scanned += page.length;
    const last = page.at(-1);
    if (last === undefined || last.seq <= 1) break;
    before = last.seq;
  }
  return incidents;
}

/**
 * The incidents with the key's name and status now, as `incidents list --json` prints them and
 * `GET /api/incidents` answers (a key no longer in the store: both null).
 */
export async function incidentViews(incidents: readonly Incident[], keyById: (id: string) => Promise<KeyRecord | null>, now = Date.now()) {
  const ids = [...new Set(incidents.map((incident) => incident.keyId))];
  const records = new Map(await Promise.all(ids.map(async (id) => [id, await keyById(id)] as const)));
  return incidents.map((incident) => {
    const record = records.get(incident.keyId) ?? null;
    return { ...incident, at: new Date(incident.at).toISOString(), keyName: record?.name ?? null, keyStatus: record === null ? null : keyStatus(record, now) };
  });
}

export type IncidentView = Awaited<ReturnType<typeof incidentViews>>[number];
