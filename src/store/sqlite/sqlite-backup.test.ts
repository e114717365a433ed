import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { keyRow } from '../../../test/support/key-rows.ts';
import { temporaryDirectory } from '../../../test/support/processes.ts';
import { verifyAuditChain } from '../audit-chain.ts';
import { CLI_ACTOR } from '../audit-log.ts';
import type { Store } from '../store.ts';
import { backupSqliteStore, RestoreRefused, restoreSqliteStore } from './sqlite-backup.ts';
import { openSqliteKeyStore } from './sqlite-key-store.ts';

const t0 = 1_750_000_000_000;

describe('SQLite backup and restore', () => {
  let directory: { path: string; remove: () => void };
  let live: Store;
  let livePath: string;

  beforeEach(async () => {
    directory = temporaryDirectory();
    livePath = join(directory.path, 'data', 'portcullis.db');
    live = await openSqliteKeyStore(livePath);
    for (const id of ['key_a', 'key_b', 'key_c']) await live.createKey(keyRow(id, { name: `${id} ✓`, tags: ['web'] }), t0, CLI_ACTOR);
    await live.recordUsageMinutes([{ keyId: 'key_a', minute: t0 - (t0 % 60_000), requests: 3, bytesIn: 1, bytesOut: 2, denials: {}, addresses: ['192.0.2.1'] }]);
  });
  afterEach(async () => {
    await live.close();
    directory.remove();
  });

  it('writes a private, self-contained copy while the store is open, and checks it', async () => {
    const file = join(directory.path, 'backup.db');
    const summary = await backupSqliteStore(livePath, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(directory.path).sort(), ['backup.db', 'data'], 'no -wal, -shm or partial file beside it');
    assert.deepEqual([summary.keys, summary.latestEventSeq, summary.auditHead.seq, summary.audit?.ok], [3, 3, 3, true]);
    const copy = await openSqliteKeyStore(file);
    try {
      assert.deepEqual(await copy.listKeys(), await live.listKeys());
      assert.deepEqual(await copy.usageSeries('key_a', 0, t0 + 60_000), await live.usageSeries('key_a', 0, t0 + 60_000));
    } finally {
      await copy.close();
    }
  });

  it('refuses to overwrite a file, to back up a file that is not a key store, or into a missing folder', async () => {
    const file = join(directory.path, 'backup.db');
    writeFileSync(file, 'precious');
    await assert.rejects(backupSqliteStore(livePath, file), /exists/);
    await backupSqliteStore(livePath, file, { overwrite: true });
    const notAStore = join(directory.path, 'other.db');
    new Database(notAStore).exec('CREATE TABLE t (x)');
    await assert.rejects(backupSqliteStore(notAStore, join(directory.path, 'b2.db')), /not a Portcullis key store/);
    await assert.rejects(backupSqliteStore(join(directory.path, 'missing.db'), join(directory.path, 'b3.db')), /No key store/);
    await assert.rejects(backupSqliteStore(livePath, join(directory.path, 'no', 'such', 'b.db')), /does not exist/);
    assert.ok(!readdirSync(directory.path).some((name) => name.includes('partial')), 'a failed backup leaves no partial file');
  });

  it('restores into a new path, which then verifies and serves', async () => {
    const file = join(directory.path, 'backup.db');
    await backupSqliteStore(livePath, file);
    const target = join(directory.path, 'restored', 'portcullis.db');
    const outcome = await restoreSqliteStore(file, target, { force: false });
    assert.deepEqual([outcome.replaced, outcome.report, outcome.restored?.keys, outcome.restored?.audit?.ok], [null, null, 3, true]);
    assert.equal(statSync(target).mode & 0o777, 0o600);
    assert.equal(statSync(join(directory.path, 'restored')).mode & 0o777, 0o700);
    const restored = await openSqliteKeyStore(target);
    try {
      assert.deepEqual(await restored.listKeys(), await live.listKeys());
      assert.equal((await verifyAuditChain(restored)).ok, true);
    } finally {
      await restored.close();
    }
  });

  it('refuses to replace an existing store without force, and says which revocations the restore would undo', async () => {
    const file = join(directory.path, 'backup.db');
    await backupSqliteStore(livePath, file);
    await live.revokeKey('key_b', 'leaked', t0 + 1000, CLI_ACTOR);
    await live.createKey(keyRow('key_after'), t0 + 2000, CLI_ACTOR);
    const refusal = await restoreSqliteStore(file, livePath, { force: false, now: t0 + 3000 }).then(() => null, (error: unknown) => error);
    assert.ok(refusal instanceof RestoreRefused, String(refusal));
    assert.deepEqual(refusal.outcome.report, {
      sameHistory: true, keyEventsUndone: 2, auditEntriesUndone: 2, keysRemoved: 1,
      reactivated: [{ id: 'key_b', name: 'key_b ✓', now: 'revoked', revokedAt: t0 + 1000, revokedReason: 'leaked', expiresAt: null, expiresAtInBackup: null }],
    });
    assert.equal((await live.getKeyById('key_b'))?.revokedAt, t0 + 1000, 'nothing was changed');
  });

  it('with force, replaces a store another connection has open, which then reads the restored state', async () => {
    const file = join(directory.path, 'backup.db');
    await backupSqliteStore(livePath, file);
    await live.revokeKey('key_b', 'leaked', t0 + 1000, CLI_ACTOR);
    const seqBefore = await live.latestEventSeq();
    const outcome = await restoreSqliteStore(file, livePath, { force: true, now: t0 + 3000 });
    assert.deepEqual(outcome.report?.reactivated.map((key) => key.id), ['key_b']);
    // The connection a gateway would hold sees the backup's state: the revocation is undone,
    // and the change log now ends before where a follower of it stood.
    assert.equal((await live.getKeyById('key_b'))?.revokedAt, null);
    assert.ok((await live.latestEventSeq()) < seqBefore);
    assert.equal((await verifyAuditChain(live)).ok, true);
    await live.revokeKey('key_b', 'again after restore', t0 + 4000, CLI_ACTOR);
    assert.equal((await verifyAuditChain(live)).ok, true, 'the restored chain goes on');
  });

  it('refuses a backup whose audit log was changed after it was written, or that is damaged', async () => {
    const file = join(directory.path, 'backup.db');
    await backupSqliteStore(livePath, file);
    const raw = new Database(file);
    raw.exec("DROP TRIGGER audit_log_no_update; UPDATE audit_log SET reason = 'forged' WHERE seq = 2");
    raw.close();
    const target = join(directory.path, 'restored.db');
    await assert.rejects(restoreSqliteStore(file, target, { force: true }), /audit log does not verify.*entry 2/);
    assert.ok(!existsSync(target));
    writeFileSync(file, 'not a database at all, but long enough to look like a file someone copied over it');
    await assert.rejects(restoreSqliteStore(file, target, { force: true }));
    assert.ok(!existsSync(target));
  });
});
