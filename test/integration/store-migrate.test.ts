import { CLI_ACTOR } from '../../src/store/audit-log.ts';
/**
 * `portcullis store migrate --from <sqlite> --to <postgres>`: every column of every key, the
 * tags and the change log (same sequence numbers) arrive; plaintext keys are nowhere; a
 * second run changes nothing; a later run carries later SQLite changes; a destination that
 * moved on by itself is refused untouched.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { after, before, it } from 'node:test';
import type { KeyStore } from '../../src/store/key-store.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
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

/** Everything a store holds, through the interface: every key record in full and the whole log. */
async function contents(store: KeyStore) {
  const keys = await store.listKeys({ limit: 1000 });
  const byTag = Object.fromEntries(await Promise.all(['web', 'batch'].map(async (tag) => [tag, (await store.listKeys({ tag })).map((key) => key.id)])));
  return { keys, byTag, events: await store.eventsSince(0, 100_000), latestSeq: await store.latestEventSeq() };
}

describeNeeding(postgres, 'store migrate (SQLite → PostgreSQL)', () => {
  const directory = temporaryDirectory();
  const sqlitePath = join(directory.path, 'portcullis.db');
  let schema: TestSchema;
  let sqlite: KeyStore;
  let target: KeyStore;
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
    assert.deepEqual(counts(first.tables), { api_keys: [5, 5, 0], key_tags: [5, 5, 0], key_events: [first.tables[2]!.rows, first.tables[2]!.rows, 0] });
    assert.deepEqual(await contents(target), await contents(sqlite));
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
    assert.deepEqual(await contents(target), await contents(sqlite));
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
