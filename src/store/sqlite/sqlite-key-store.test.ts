import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { NewKey } from '../key-store.ts';
import { CLI_ACTOR } from '../audit-log.ts';
import { latestSchemaVersion, migrations } from '../migrations/index.ts';
import { openKeyStore } from '../open-key-store.ts';
import { openSqliteKeyStore, sqliteKeyStoreSql } from './sqlite-key-store.ts';
import { sqliteAuditSql } from './sqlite-audit-log.ts';
import { sqliteUsageSql } from './sqlite-usage-store.ts';
import { runKeyStoreSuite } from '../../../test/support/key-store-suite.ts';
import { runAuditLogSuite } from '../../../test/support/audit-log-suite.ts';
import { runAdminTokenStoreSuite } from '../../../test/support/admin-token-store-suite.ts';
import { runUsageStoreSuite } from '../../../test/support/usage-store-suite.ts';
import { runNodeHeartbeatSuite } from '../../../test/support/node-heartbeat-suite.ts';
import { runKeyImportSuite } from '../../../test/support/key-import-suite.ts';

function tempDirectory(): string {
  return mkdtempSync(join(tmpdir(), 'portcullis-sqlite-'));
}

function newKey(id: string, tags: string[] = []): NewKey {
  return {
    id,
    digest: randomBytes(32).toString('hex'),
    displayPrefix: 'pcl_Test',
    name: id,
    tags,
    scopes: [],
    allowedCidrs: [],
    certFingerprint: null,
    rateLimit: null,
    quota: null,
    metadata: {},
    expiresAt: null,
  };
}

let lastPath = '';
async function makeStore() {
  const directory = tempDirectory();
  lastPath = join(directory, 'portcullis.db');
  const store = await openSqliteKeyStore(lastPath);
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

runKeyStoreSuite('SqliteKeyStore (temp file)', makeStore);
runAdminTokenStoreSuite('SqliteKeyStore (temp file)', makeStore);
runUsageStoreSuite('SqliteKeyStore (temp file)', makeStore);
runNodeHeartbeatSuite('SqliteKeyStore (temp file)', makeStore);
runKeyImportSuite('SqliteKeyStore (temp file)', makeStore);
runAuditLogSuite('SqliteKeyStore (temp file)', makeStore, {
  // A second connection to the same file, as an intruder with the database would use.
  async execute(sql) {
    const db = new Database(lastPath);
    try {
      db.exec(sql);
    } finally {
      db.close();
    }
  },
  dropGuards: ['DROP TRIGGER IF EXISTS audit_log_no_update', 'DROP TRIGGER IF EXISTS audit_log_no_delete'],
});

describe('SqliteKeyStore on disk', () => {
  let directory: string;
  before(() => {
    directory = tempDirectory();
  });
  after(() => {
    rmSync(directory, { recursive: true, force: true });
  });

  it('creates a missing parent directory, private to its owner', async () => {
    const parent = join(directory, 'created', 'data');
    const store = await openSqliteKeyStore(join(parent, 'portcullis.db'));
    await store.close();
    assert.ok(existsSync(join(parent, 'portcullis.db')));
    assert.equal(statSync(parent).mode & 0o777, 0o700);
  });

  it('puts the database in WAL mode', async () => {
    const path = join(directory, 'wal.db');
    const store = await openSqliteKeyStore(path);
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
      await store.close();
    }
  });

  it('records each migration once, however often it is opened', async () => {
    const path = join(directory, 'ledger.db');
    for (let i = 0; i < 3; i++) {
      const store = await openSqliteKeyStore(path);
      await store.migrate();
      await store.close();
    }
    const db = new Database(path, { readonly: true });
    try {
      const rows = db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
      assert.deepEqual(rows, migrations.map(({ version, name }) => ({ version, name })));
    } finally {
      db.close();
    }
  });

  it('shares one file between two connections, as two processes would', async () => {
    const path = join(directory, 'shared.db');
    const first = await openSqliteKeyStore(path);
    const second = await openSqliteKeyStore(path);
    try {
      await first.createKey(newKey('key_a', ['x']), 1, CLI_ACTOR);
      assert.equal((await second.getKeyById('key_a'))?.id, 'key_a');
      await second.revokeKey('key_a', 'from the other node', 2, CLI_ACTOR);
      assert.equal((await first.getKeyById('key_a'))?.revokedReason, 'from the other node');

      // Writers interleave on one change log: every seq is unique and both see all events.
      await Promise.all([first.createKey(newKey('key_b'), 3, CLI_ACTOR), second.createKey(newKey('key_c'), 3, CLI_ACTOR)]);
      const seen = await first.eventsSince(0, 100);
      assert.deepEqual(await second.eventsSince(0, 100), seen);
      assert.equal(new Set(seen.map((event) => event.seq)).size, 4);
      assert.equal(await second.latestEventSeq(), seen.at(-1)?.seq);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('moves a version 3 database with a change log to quarantine, keeping every event and never reusing a seq', async () => {
    const path = join(directory, 'version-3.db');
    const db = new Database(path);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
    for (const migration of migrations.filter((each) => each.version <= 3)) {
      db.exec(migration.sqlite);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(migration.version, migration.name);
    }
    db.prepare("INSERT INTO api_keys (id, name, digest, display_prefix, created_at, updated_at) VALUES ('key_a', 'a', 'd1', 'pcl_a', 1, 1)").run();
    for (let at = 1; at <= 5; at++) db.prepare("INSERT INTO key_events (key_id, kind, at) VALUES ('key_a', 'updated', ?)").run(at);
    db.prepare('DELETE FROM key_events WHERE seq = 5').run(); // the AUTOINCREMENT counter stays at 5
    db.close();
    const store = await openSqliteKeyStore(path);
    try {
      assert.equal((await store.quarantineKey('key_a', 'suspected leak', 10, CLI_ACTOR))?.quarantinedAt, 10);
      assert.deepEqual((await store.eventsSince(0, 10)).map((event) => [event.seq, event.kind]), [[1, 'updated'], [2, 'updated'], [3, 'updated'], [4, 'updated'], [6, 'quarantined']]);
    } finally {
      await store.close();
    }
  });

  it('refuses a database whose schema is newer than the code', async () => {
    const path = join(directory, 'newer.db');
    await (await openSqliteKeyStore(path)).close();
    const db = new Database(path);
    db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
      .run(latestSchemaVersion + 1, 'from_the_future', Date.now());
    db.close();
    await assert.rejects(openSqliteKeyStore(path), (error: Error) => {
      assert.match(error.message, new RegExp(`schema version ${latestSchemaVersion + 1}, newer than`));
      assert.match(error.message, new RegExp(`\\(${latestSchemaVersion}\\)`));
      return true;
    });
  });

  it('finds keys by tag, follows the change log, pages the audit log and reads a key\'s usage without scanning a table', async () => {
    const path = join(directory, 'plans.db');
    await (await openSqliteKeyStore(path)).close();
    const db = new Database(path, { readonly: true });
    try {
      const queries: [string, unknown[]][] = [
        [sqliteKeyStoreSql.listByTag, ['x', 10]],
        [sqliteKeyStoreSql.listByTagAfter, ['x', 'key_a', 10]],
        [sqliteKeyStoreSql.unrevokedIdsByTag, ['x']],
        [sqliteKeyStoreSql.listAfter, ['key_a', 10]],
        [sqliteKeyStoreSql.keyByDigest, ['00']],
        [sqliteKeyStoreSql.digestExists, ['00']],
        [sqliteKeyStoreSql.eventsSince, [0, 10]],
        [sqliteKeyStoreSql.quotaUsage, ['key_a']],
        [sqliteAuditSql.since, [0, 10]],
        [sqliteAuditSql.newest, [100, 10]],
        [sqliteAuditSql.newestForTarget, ['key_a', 100, 10]],
        [sqliteUsageSql.series, ['key_a', 0, 100]],
        [sqliteUsageSql.seriesDenials, ['key_a', 0, 100]],
      ];
      for (const [sql, parameters] of queries) {
        const plan = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...parameters) as { detail: string }[];
        const details = plan.map((step) => step.detail);
        assert.ok(!details.some((detail) => /^SCAN /.test(detail)), `${sql}\n${details.join('\n')}`);
        assert.ok(!details.some((detail) => /TEMP B-TREE/.test(detail)), `sorts: ${sql}\n${details.join('\n')}`);
      }
    } finally {
      db.close();
    }
  });
});

describe('migrations', () => {
  // Versions are reserved per branch while issues are built in parallel, so a branch may have
  // a gap (this one has 1 and 3) until the others are merged; see Migration.version.
  it('are numbered in increasing order from 1, with unique names and both dialects', () => {
    assert.equal(migrations[0]?.version, 1);
    migrations.forEach((migration, index) => {
      if (index > 0) assert.ok(migration.version > migrations[index - 1]!.version, migration.name);
      assert.ok(migration.sqlite.trim().length > 0 && migration.postgres.trim().length > 0, migration.name);
    });
    assert.equal(new Set(migrations.map((migration) => migration.name)).size, migrations.length);
    assert.equal(latestSchemaVersion, migrations.at(-1)?.version);
  });
});

describe('openKeyStore', () => {
  it('opens SQLite for a file path', async () => {
    const directory = tempDirectory();
    try {
      const store = await openKeyStore(join(directory, 'portcullis.db'));
      await store.createKey(newKey('key_a'), 1, CLI_ACTOR);
      assert.equal((await store.getKeyById('key_a'))?.id, 'key_a');
      await store.close();
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
