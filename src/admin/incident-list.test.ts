import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AuditEntry } from '../store/audit-log.ts';
import { incidentOf, listIncidents } from './incident-list.ts';

function entry(seq: number, action: string, actor: string, details: object = {}, address: string | null = '192.0.2.1'): AuditEntry {
  return { seq, at: seq * 1000, actor, address, action: action as AuditEntry['action'], target: `key_${seq}`, reason: 'why', details: JSON.stringify(details), prevHash: '', hash: '' };
}

const evidence = (url: string, source: string) => ({ evidence: { url, source } });

describe('incidentOf', () => {
  it('names alerts, presentations, anomalies and quarantines, with their evidence', () => {
    assert.deepEqual(incidentOf(entry(1, 'key.quarantined', 'secret-scanning', evidence('https://github.com/o/r', 'content'))), { seq: 1, at: 1000, kind: 'alert', keyId: 'key_1', action: 'quarantined', actor: 'secret-scanning', address: '192.0.2.1', reason: 'why', url: 'https://github.com/o/r', source: 'content' });
    assert.deepEqual(incidentOf(entry(2, 'key.revoked', 'key-presentation', evidence('https://paste.example', 'presentation')))?.kind, 'presentation');
    assert.deepEqual(incidentOf(entry(2, 'key.revoked', 'key-presentation', evidence('https://paste.example', 'presentation')))?.action, 'revoked');
    const anomaly = incidentOf(entry(3, 'key.anomaly', 'anomaly-detection', { kind: 'new_network', action: 'quarantine', evidence: { network: '203.0.113.0/24' } }, null));
    assert.deepEqual([anomaly?.kind, anomaly?.action, anomaly?.source, anomaly?.url], ['anomaly', 'quarantine', 'new_network', null]);
    assert.deepEqual(incidentOf(entry(4, 'key.quarantined', 'cli', {}, null)), { seq: 4, at: 4000, kind: 'quarantine', keyId: 'key_4', action: 'quarantined', actor: 'cli', address: null, reason: 'why', url: null, source: null });
  });

  it('is no incident for an operator\'s revocation, a release, a creation or an edit, or details that are not JSON', () => {
    for (const [action, actor] of [['key.revoked', 'cli'], ['key.released', 'cli'], ['key.created', 'secret-scanning'], ['key.updated', 'key-presentation'], ['admin_token.created', 'cli']]) {
      assert.equal(incidentOf(entry(1, action!, actor!)), null, `${action} by ${actor}`);
    }
    assert.equal(incidentOf({ ...entry(1, 'key.quarantined', 'secret-scanning'), details: 'not json' })?.url, null);
  });
});

describe('listIncidents', () => {
  const log = Array.from({ length: 30 }, (_, index) => entry(index + 1, index % 3 === 0 ? 'key.quarantined' : 'key.updated', 'cli')).reverse();
  const read = async (before: number | undefined) => log.filter((each) => before === undefined || each.seq < before).slice(0, 7);

  it('reads page after page, newest first, up to the limit', async () => {
    assert.deepEqual((await listIncidents(read, 100)).map((incident) => incident.seq), [28, 25, 22, 19, 16, 13, 10, 7, 4, 1]);
    assert.deepEqual((await listIncidents(read, 3)).map((incident) => incident.seq), [28, 25, 22]);
  });

  it('stops after scanning maxScanned entries', async () => {
    assert.deepEqual((await listIncidents(read, 100, 7)).map((incident) => incident.seq), [28, 25]);
  });
});
