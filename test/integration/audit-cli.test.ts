import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createKeyWithCli, runCli, temporaryDirectory } from '../support/processes.ts';

interface AuditView { seq: number; actor: string; address: string | null; action: string; target: string; reason: string | null; details: Record<string, unknown> }

describe('audit log through the CLI', () => {
  const directory = temporaryDirectory();
  let store: string;

  before(() => {
    store = join(directory.path, 'keys.db');
  });
  after(() => directory.remove());

  async function cli(...args: string[]) {
    const result = await runCli([...args, '--store', store]);
    return result;
  }

  async function auditList(): Promise<AuditView[]> {
    const result = await cli('audit', 'list', '--json');
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as AuditView[]).reverse();
  }

  it('records every lifecycle action made with the CLI once, with the actor cli', async () => {
    const first = await createKeyWithCli(store, ['--tag', 'web']);
    const second = await createKeyWithCli(store, ['--tag', 'web']);
    const third = await createKeyWithCli(store);
    assert.equal((await cli('keys', 'revoke', first.id, '--reason', 'lost laptop')).code, 0);
    assert.equal((await cli('keys', 'revoke', '--tag', 'web', '--reason', 'tag sweep')).code, 0);
    const rotated = JSON.parse((await cli('keys', 'rotate', third.id, '--grace', '0s', '--json')).stdout) as { id: string };
    const token = JSON.parse((await cli('admin', 'token', 'create', '--role', 'read', '--name', 'auditor', '--json')).stdout) as { id: string; token: string; role: string };
    assert.equal(token.role, 'read');
    assert.match(token.token, /^pcladmin_[A-Za-z0-9]{49}$/);
    assert.equal((await cli('admin', 'token', 'revoke', token.id)).code, 0);

    const entries = await auditList();
    assert.deepEqual(entries.map(({ actor, address, action, target, reason }) => ({ actor, address, action, target, reason })), [
      { actor: 'cli', address: null, action: 'key.created', target: first.id, reason: null },
      { actor: 'cli', address: null, action: 'key.created', target: second.id, reason: null },
      { actor: 'cli', address: null, action: 'key.created', target: third.id, reason: null },
      { actor: 'cli', address: null, action: 'key.revoked', target: first.id, reason: 'lost laptop' },
      { actor: 'cli', address: null, action: 'key.revoked', target: second.id, reason: 'tag sweep' },
      { actor: 'cli', address: null, action: 'key.created', target: rotated.id, reason: null },
      { actor: 'cli', address: null, action: 'key.rotated', target: third.id, reason: null },
      { actor: 'cli', address: null, action: 'admin_token.created', target: token.id, reason: null },
      { actor: 'cli', address: null, action: 'admin_token.revoked', target: token.id, reason: null },
    ]);
    const listed = await cli('admin', 'token', 'list', '--json');
    assert.deepEqual((JSON.parse(listed.stdout) as Array<{ id: string; revokedAt: string | null }>).map((row) => [row.id, row.revokedAt !== null]), [[token.id, true]]);
    const forKey = JSON.parse((await cli('audit', 'list', '--target', first.id, '--json')).stdout) as AuditView[];
    assert.deepEqual(forKey.map((entry) => entry.action), ['key.revoked', 'key.created']);
    const table = await cli('audit', 'list', '--limit', '2');
    assert.match(table.stdout, /^SEQ\s+TIME\s+ACTOR\s+ADDRESS\s+ACTION\s+TARGET\s+REASON\n9 .*admin_token\.revoked/);
  });

  it('audit verify passes on an untouched log and prints the head', async () => {
    const result = await cli('audit', 'verify');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Audit log intact: 9 entries\.\nHead: seq 9, hash [0-9a-f]{64}\n/);
  });

  describe('after tampering done directly in the database', () => {
    let pristine: Buffer;
    before(async () => {
      const { readFileSync } = await import('node:fs');
      const db = new Database(store);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      pristine = readFileSync(store);
    });

    /** Restores the untouched database, then tampers with it as an intruder would. */
    async function tamper(...statements: string[]): Promise<void> {
      const { writeFileSync, rmSync } = await import('node:fs');
      rmSync(`${store}-wal`, { force: true });
      rmSync(`${store}-shm`, { force: true });
      writeFileSync(store, pristine);
      const db = new Database(store);
      db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
      for (const sql of statements) db.exec(sql);
      db.close();
    }

    async function verifyFails(pattern: RegExp): Promise<void> {
      const result = await cli('audit', 'verify');
      assert.equal(result.code, 1, `expected failure; stdout: ${result.stdout}`);
      assert.match(result.stderr, pattern);
    }

    it('an edited entry: fails, naming it', async () => {
      await tamper("UPDATE audit_log SET reason = 'routine' WHERE seq = 4");
      await verifyFails(/^Audit log verification FAILED at entry 4: entry 4 does not match its hash/);
    });

    it('a deleted entry: fails, naming it', async () => {
      await tamper('DELETE FROM audit_log WHERE seq = 5');
      await verifyFails(/^Audit log verification FAILED at entry 5: entry 5 is missing \(deleted\)/);
    });

    it('reordered entries: fails, naming the first moved', async () => {
      await tamper('UPDATE audit_log SET seq = 100 WHERE seq = 4', 'UPDATE audit_log SET seq = 4 WHERE seq = 5', 'UPDATE audit_log SET seq = 5 WHERE seq = 100');
      await verifyFails(/^Audit log verification FAILED at entry 4: /);
    });

    it('a rewritten log: fails against a head recorded earlier', async () => {
      await tamper();
      const head = /hash ([0-9a-f]{64})/.exec((await cli('audit', 'verify')).stdout)![1]!;
      // Rewrite the whole chain from entry 1 with a consistent new history, head included.
      const db = new Database(store);
      const { auditEntryHash, GENESIS_HASH } = await import('../../src/store/audit-chain.ts');
      const rows = db.prepare('SELECT seq, at, actor, actor_address AS address, action, target, reason, details FROM audit_log ORDER BY seq').all() as Array<{ seq: number; at: number; actor: string; address: string | null; action: 'key.created'; target: string; reason: string | null; details: string }>;
      db.exec('DELETE FROM audit_log');
      let previous = GENESIS_HASH;
      for (const row of rows) {
        const forged = { ...row, reason: row.reason === null ? null : 'nothing happened' };
        const hash = auditEntryHash(row.seq, forged, previous);
        db.prepare('INSERT INTO audit_log (seq, at, actor, actor_address, action, target, reason, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
          .run(row.seq, row.at, row.actor, row.address, row.action, row.target, forged.reason, row.details, previous, hash);
        previous = hash;
      }
      db.prepare('UPDATE audit_head SET hash = ?').run(previous);
      db.close();
      assert.equal((await cli('audit', 'verify')).code, 0, 'a complete rewrite passes the chain check alone');
      const anchored = await cli('audit', 'verify', '--expect-head', head);
      assert.equal(anchored.code, 1);
      assert.match(anchored.stderr, /no entry has the recorded head hash/);
    });
  });
});

describe('admin and audit commands: usage errors exit 2 and change nothing', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  for (const [args, message] of [
    [['admin', 'token', 'create', '--role', 'root'], /--role: expected read or write, found "root"/],
    [['admin', 'token', 'create'], /required option '--role <role>'/],
    [['audit', 'list', '--limit', '0'], /--limit: expected a whole number from 1 to 1000/],
    [['audit', 'verify', '--expect-head', 'abc'], /--expect-head: expected a 64-character hex hash/],
  ] as const) {
    it(args.join(' '), async () => {
      const result = await runCli([...args, '--store', join(directory.path, 'keys.db')]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
    });
  }

  it('admin token revoke of an unknown id exits 1', async () => {
    const result = await runCli(['admin', 'token', 'revoke', 'adm_nothing', '--store', join(directory.path, 'keys.db')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /No admin token with id "adm_nothing"/);
  });
});
