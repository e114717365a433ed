import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GENESIS_HASH } from './audit-chain.ts';
import { compareForRestore, type KeyState, type StoreHistory } from './restore-report.ts';

const now = 1_800_000_000_000;
const hour = 3_600_000;

function key(id: string, settings: Partial<KeyState> = {}): KeyState {
  return { id, name: `client ${id}`, expiresAt: null, revokedAt: null, revokedReason: null, ...settings };
}

function history(keys: KeyState[], latestEventSeq: number, auditSeq: number, hash = `h${auditSeq}`): StoreHistory {
  return { keys, latestEventSeq, auditHead: { seq: auditSeq, hash: auditSeq === 0 ? GENESIS_HASH : hash } };
}

describe('compareForRestore', () => {
  it('lists each key refused now that the backup has as active, oldest change first', () => {
    const backup = history([key('key_a'), key('key_b'), key('key_c', { expiresAt: now + hour }), key('key_d'), key('key_e', { revokedAt: now - 9 * hour })], 10, 10);
    const current = history([
      key('key_a', { revokedAt: now - hour, revokedReason: 'leaked' }),
      key('key_b'),
      // Rotated after the backup: its grace period is over now.
      key('key_c', { expiresAt: now - 2 * hour }),
      key('key_d', { revokedAt: now - 3 * hour, revokedReason: null }),
      key('key_e', { revokedAt: now - 9 * hour }),
      key('key_new'),
      key('key_new_revoked', { revokedAt: now - 1 }),
    ], 16, 17);
    const report = compareForRestore(current, backup, 'h10', now);
    assert.deepEqual(report.reactivated, [
      { id: 'key_d', name: 'client key_d', now: 'revoked', revokedAt: now - 3 * hour, revokedReason: null, expiresAt: null, expiresAtInBackup: null },
      { id: 'key_c', name: 'client key_c', now: 'expired', revokedAt: null, revokedReason: null, expiresAt: now - 2 * hour, expiresAtInBackup: now + hour },
      { id: 'key_a', name: 'client key_a', now: 'revoked', revokedAt: now - hour, revokedReason: 'leaked', expiresAt: null, expiresAtInBackup: null },
    ]);
    assert.deepEqual([report.sameHistory, report.keyEventsUndone, report.auditEntriesUndone, report.keysRemoved], [true, 6, 7, 2]);
  });

  it('leaves out a key that the backup also has as refused, or that would have expired by now anyway', () => {
    const backup = history([key('key_a', { revokedAt: 1 }), key('key_b', { expiresAt: now - 1 })], 3, 3);
    const current = history([key('key_a', { revokedAt: 1 }), key('key_b', { expiresAt: now - 1, revokedAt: now - 1 })], 4, 4);
    assert.deepEqual(compareForRestore(current, backup, 'h3', now).reactivated, []);
  });

  it('says when the backup is not an earlier state of the store, and then counts nothing as undone', () => {
    const backup = history([key('key_a')], 5, 5, 'other');
    const current = history([key('key_a', { revokedAt: now - 1 })], 9, 9);
    const report = compareForRestore(current, backup, 'h5', now);
    assert.deepEqual([report.sameHistory, report.keyEventsUndone, report.auditEntriesUndone], [false, null, null]);
    assert.deepEqual(report.reactivated.map((reactivated) => reactivated.id), ['key_a'], 'records are compared whatever the history');
    assert.equal(compareForRestore(current, backup, null, now).sameHistory, false);
  });

  it('undoes nothing when the backup is newer than the store', () => {
    const report = compareForRestore(history([key('key_a')], 2, 2), history([key('key_a'), key('key_b')], 5, 5), null, now);
    assert.deepEqual([report.sameHistory, report.reactivated, report.keysRemoved], [false, [], 0]);
    assert.equal(compareForRestore(history([], 0, 0), history([], 0, 0), null, now).sameHistory, true);
  });
});
