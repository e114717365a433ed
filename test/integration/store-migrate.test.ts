/**
 * `portcullis store migrate --from <sqlite> --to <postgres>`: every column of every key, the
 * tags and the change log (same sequence numbers) arrive, and so do quota counters, the audit
 * log (its hash chain still verifies), admin tokens and per-minute usage; plaintext keys are nowhere; a
 * second run changes nothing; a later run carries later SQLite changes; a destination that
 * moved on by itself is refused untouched.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { after, before, it } from 'node:test';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import type { Store } from '../../src/store/store.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import { copiedTables } from '../../src/store/copy/copied-tables.ts';
import { verifyAuditChain } from '../../src/store/audit-chain.ts';
import { createAdminToken } from '../support/admin-client.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { checkTestPostgres, createTestSchema, runSql, type TestSchema } from '../support/postgres.ts';
import { createKeyWithCli, runCli, temporaryDirectory } from '../support/processes.ts';
import { describeNeeding } from '../support/required-service.ts';

interface TableReport {
  table: string;
  rows: number;
  added: number;
  updated: number;
}

const postgres = await checkTestPostgres();

async function migrate(from: string, to: string): Promise<{ code: number | null; tables: TableReport[]; stderr: string }> {
  const result = await runCli(['store', 'migrate', '--from', from, '--to', to, '--json']);
  const tables = result.code === 0 ? (JSON.parse(result.stdout) as { tables: TableReport[] }).tables : [];
  return { code: result.code, tables, stderr: result.stderr };
}

function counts(tables: TableReport[]): Record<string, [number, number, number]> {
  return Object.fromEntries(tables.map((table) => [table.table, [table.rows, table.added, table.updated]]));
}

const minute = 29_000_000 * 60_000;

/**
 * Everything a store holds, through the interface: every key record in full, the whole change
 * log, quota counters, the audit log and its head, admin tokens and usage.
 */
async function contents(store: Store) {
  const keys = await store.listKeys({ limit: 1000 });
  const byTag = Object.fromEntries(await Promise.all(['web', 'batch'].map(async (tag) => [tag, (await store.listKeys({ tag })).map((key) => key.id)])));
  const quotas = await Promise.all(keys.map((key) => store.getQuotaUsage(key.id)));
  const usage = await Promise.all(keys.map(async (key) => [await store.usageSeries(key.id, 0, minute * 2), await store.usageAddresses(key.id, 0, minute * 2, 100)]));
  return {
    keys, byTag, events: await store.eventsSince(0, 100_000), latestSeq: await store.latestEventSeq(), quotas,
    audit: await store.auditEntriesSince(0, 1000), auditHead: await store.auditHead(), adminTokens: await store.listAdminTokens(),
    usage, totals: await store.usageTotals(0, minute * 2, 100),
  };
}

describeNeeding(postgres, 'store migrate (SQLite → PostgreSQL)', () => {
  const directory = temporaryDirectory();
  const sqlitePath = join(directory.path, 'portcullis.db');
  let schema: TestSchema;
  let sqlite: Store;
  let target: Store;
  const plaintexts: string[] = [];
  let rotatedId: string;
  let plainId: string;

  before(async () => {
    schema = await createTestSchema();
    const web1 = await createKeyWithCli(sqlitePath, ['--tag', 'web', '--expires-in', '30d']);
    const web2 = await createKeyWithCli(sqlitePath, ['--tag', 'web', '--tag', 'batch']);
    const plain = await createKeyWithCli(sqlitePath);
    plaintexts.push(web1.key, web2.key, plain.key);
    rotatedId = web1.id;
    plainId = plain.id;
    const rotated = await runCli(['keys', 'rotate', web1.id, '--grace', '1h', '--store', sqlitePath, '--json']);
    plaintexts.push((JSON.parse(rotated.stdout) as { key: string }).key);
    await runCli(['keys', 'revoke', '--tag', 'batch', '--reason', 'batch retired', '--store', sqlitePath]);
    const full = await createKeyInStore(sqlitePath, {
      name: 'every setting ✓',
      tags: ['web'],
      scopes: ['orders:read'],
      allowedCidrs: ['10.0.0.0/8'],
      certFingerprint: 'ab'.repeat(32),
      rateLimit: '10/s',
      metadata: { owner: 'team', nested: { n: 1 } },
      expiresAt: Date.now() + 86_400_000,
    });
    plaintexts.push(full.key);
    sqlite = await openKeyStore(sqlitePath);
    await sqlite.recordUsage([{ keyId: plain.id, lastUsedAt: Date.now(), lastUsedAddress: '2001:db8::7' }]);
    await sqlite.addQuotaUsage([{ keyId: plain.id, periodStart: minute, used: 42 }]);
    await sqlite.recordUsageMinutes([
      { keyId: plain.id, minute, requests: 7, bytesIn: 100, bytesOut: 2000, denials: { rate_limited: 2 }, addresses: ['2001:db8::7', '192.0.2.1'] },
      { keyId: full.id, minute: minute + 60_000, requests: 1, bytesIn: 0, bytesOut: 10, denials: {}, addresses: ['192.0.2.2'] },
    ]);
    const token = await createAdminToken(sqlite, 'write');
    await sqlite.revokeAdminToken(token.id, Date.now(), CLI_ACTOR);
    await createAdminToken(sqlite, 'read');
    target = await openKeyStore(schema.url);
  });
  after(async () => {
    await sqlite?.close();
    await target?.close();
    await schema?.drop();
    directory.remove();
  });

  it('copies every key with every column, the tags and the change log with its sequence numbers', async () => {
    const first = await migrate(sqlitePath, schema.url);
    assert.equal(first.code, 0, first.stderr);
    const byTable = counts(first.tables);
    assert.deepEqual(Object.keys(byTable), copiedTables.map((table) => table.name), 'every table is reported, in order');
    assert.deepEqual(byTable.api_keys, [5, 5, 0]);
    assert.deepEqual(byTable.key_tags, [5, 5, 0]);
    assert.deepEqual(byTable.key_quota_usage, [1, 1, 0]);
    assert.deepEqual(byTable.admin_tokens, [2, 2, 0]);
    assert.deepEqual(byTable.usage_minutes, [2, 2, 0]);
    assert.deepEqual(byTable.usage_denials, [1, 1, 0]);
    assert.deepEqual(byTable.usage_addresses, [3, 3, 0]);
    // The head row exists on both sides (a fresh schema starts at genesis): it is updated.
    assert.deepEqual(byTable.audit_head, [1, 0, 1]);
    for (const name of ['key_events', 'audit_log']) {
      const [rows, added, updated] = byTable[name]!;
      assert.ok(rows > 0, `${name} has rows`);
      assert.deepEqual([added, updated], [rows, 0], name);
    }
    assert.deepEqual(await contents(target), await contents(sqlite));
    const verified = await verifyAuditChain(target);
    assert.equal(verified.ok, true, JSON.stringify(verified));
    assert.deepEqual(verified.ok && verified.head, await sqlite.auditHead());
    assert.equal((await target.getKeyById(rotatedId))?.rotatedTo !== null, true, 'the rotation link survives');
  });

  it('stores no plaintext key anywhere in PostgreSQL', async () => {
    const { rows } = await runSql(schema.url, "SELECT string_agg(t::text, '\n') AS dump FROM (SELECT row_to_json(k)::text AS t FROM api_keys k UNION ALL SELECT row_to_json(e)::text FROM key_events e UNION ALL SELECT row_to_json(g)::text FROM key_tags g) x");
    const dump = (rows[0] as { dump: string }).dump;
    for (const key of plaintexts) {
      assert.ok(!dump.includes(key));
      assert.ok(!dump.includes(key.slice(8, 30)), 'not even a long fragment');
    }
  });

  it('changes nothing when run again', async () => {
    const again = await migrate(sqlitePath, schema.url);
    assert.equal(again.code, 0, again.stderr);
    for (const table of again.tables) assert.deepEqual([table.added, table.updated], [0, 0], table.table);
    assert.deepEqual(await contents(target), await contents(sqlite));
  });

  it('carries changes made in SQLite since, when run later', async () => {
    await sqlite.revokeKey(plainId, 'revoked before the switch', Date.now(), CLI_ACTOR);
    const later = await migrate(sqlitePath, schema.url);
    assert.equal(later.code, 0, later.stderr);
    const byTable = counts(later.tables);
    assert.deepEqual(byTable.api_keys?.slice(1), [0, 1]);
    assert.deepEqual(byTable.key_events?.slice(1), [1, 0]);
    assert.deepEqual(byTable.audit_log?.slice(1), [1, 0]);
    assert.deepEqual(byTable.audit_head?.slice(1), [0, 1]);
    assert.deepEqual(await contents(target), await contents(sqlite));
    assert.equal((await verifyAuditChain(target)).ok, true);
  });

  it('continues the change log after the copied events, and refuses to copy over changes made in PostgreSQL', async () => {
    const latest = await sqlite.latestEventSeq();
    const made = await createKeyInStore(schema.url);
    const [event] = await target.eventsSince(latest, 10);
    assert.equal(event?.keyId, made.id);
    assert.ok(event!.seq > latest, 'the sequence was moved past the copied events');

    const before = await contents(target);
    const refused = await migrate(sqlitePath, schema.url);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /key_events has a row \(seq = \d+\) that the SQLite store does not.*Nothing was copied/);
    assert.deepEqual(await contents(target), before);
  });

  it('explains mistakes in how it is called', async () => {
    const wrongTo = await runCli(['store', 'migrate', '--from', sqlitePath, '--to', join(directory.path, 'other.db')]);
    assert.equal(wrongTo.code, 2);
    assert.match(wrongTo.stderr, /--to: expected a postgres:\/\/ or postgresql:\/\/ URL/);
    const missing = await runCli(['store', 'migrate', '--from', join(directory.path, 'missing.db'), '--to', schema.url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /No SQLite key store at .*missing\.db/);
  });

  it('refuses a source with a table it does not know how to copy, rather than leave it behind', async () => {
    const db = new Database(sqlitePath);
    db.exec('CREATE TABLE extra_things (id TEXT PRIMARY KEY)');
    db.close();
    const result = await runCli(['store', 'migrate', '--from', sqlitePath, '--to', schema.url]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /does not know how to copy the table\(s\) extra_things; add them to src\/store\/copy\/copied-tables\.ts/);
  });
});
