import { CLI_ACTOR } from '../audit-log.ts';
/**
 * What only the PostgreSQL store has to get right: BIGINT parsing, the order in which
 * concurrent commits become visible in the change log, LISTEN/NOTIFY, concurrent usage
 * merges from several nodes, and migrations raced by several nodes.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, it } from 'node:test';
import pg from 'pg';
import type { KeyEvent, NewKey } from '../key-store.ts';
import { latestSchemaVersion, migrations } from '../migrations/index.ts';
import { openKeyStore } from '../open-key-store.ts';
import { parseBigint } from './postgres-connection.ts';
import { lockEventLogSql } from './postgres-event-log.ts';
import { openPostgresKeyStore, PostgresKeyStore } from './postgres-key-store.ts';
import { checkTestPostgres, createTestSchema, runSql, testPostgresUrl, withSearchPath, type TestSchema } from '../../../test/support/postgres.ts';
import { keyRow } from '../../../test/support/key-rows.ts';
import { describeNeeding } from '../../../test/support/required-service.ts';

const postgres = await checkTestPostgres();

function newKey(id: string, tags: string[] = []): NewKey {
  return keyRow(id, { tags });
}

function settledYet(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  promise.then(() => (settled = true), () => (settled = true));
  return new Promise((resolve) => setImmediate(() => resolve(settled)));
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeNeeding(postgres, 'PostgresKeyStore specifics', () => {
  let schema: TestSchema;
  let store: PostgresKeyStore;
  const clients: pg.Client[] = [];

  async function rawClient(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: schema.url });
    client.on('error', () => {});
    await client.connect();
    clients.push(client);
    return client;
  }

  beforeEach(async () => {
    schema = await createTestSchema();
    store = await openPostgresKeyStore(schema.url);
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) await client.end().catch(() => {});
    await store.close();
    await schema.drop();
  });

  it('returns BIGINT times and sequence numbers as numbers, without touching pg’s global parsers', async () => {
    const late = 8_000_000_000_000; // year 2223: beyond 32 bits, as every millisecond time is
    const record = await store.createKey({ ...newKey('key_a'), expiresAt: late }, late - 1, CLI_ACTOR);
    assert.equal(record.expiresAt, late);
    assert.equal(record.createdAt, late - 1);
    const [event] = await store.eventsSince(0, 1);
    assert.equal(typeof event?.seq, 'number');
    assert.equal(typeof (await store.latestEventSeq()), 'number');
    assert.equal(pg.types.getTypeParser(20, 'text')('12'), '12', 'the global int8 parser still returns strings');
    assert.throws(() => parseBigint('9007199254740993'), RangeError);
    assert.equal(parseBigint('-42'), -42);
  });

  it('shows the hazard the advisory lock exists for: without it, a follower can skip an event for good', async () => {
    await store.createKey(newKey('key_a'), 1, CLI_ACTOR);
    const start = await store.latestEventSeq();
    const slow = await rawClient();
    const fast = await rawClient();
    await slow.query('BEGIN');
    await slow.query("INSERT INTO key_events (key_id, kind, at) VALUES ('key_a', 'updated', 2)");
    await fast.query("INSERT INTO key_events (key_id, kind, at) VALUES ('key_a', 'updated', 3)");
    const seen = await store.eventsSince(start, 100);
    assert.deepEqual(seen.map((event) => event.at), [3], 'the later seq is visible first');
    await slow.query('COMMIT');
    const afterSeen = await store.eventsSince(seen.at(-1)!.seq, 100);
    assert.deepEqual(afterSeen, [], 'a follower at the later seq never reads the earlier one');
    assert.equal((await store.eventsSince(start, 100)).length, 2);
  });

  it('makes a mutation wait for an earlier writer, so events become visible in seq order', async () => {
    await store.createKey(newKey('key_a'), 1, CLI_ACTOR);
    await store.createKey(newKey('key_b'), 1, CLI_ACTOR);
    const start = await store.latestEventSeq();
    const earlier = await rawClient();
    await earlier.query(`BEGIN; ${lockEventLogSql}`);
    await earlier.query("INSERT INTO key_events (key_id, kind, at) VALUES ('key_a', 'updated', 2)");

    const revoking = store.revokeKey('key_b', 'later writer', 3, CLI_ACTOR);
    await delay(300);
    assert.equal(await settledYet(revoking), false, 'the revocation waits for the earlier writer');
    assert.deepEqual(await store.eventsSince(start, 100), [], 'nothing is visible out of order');

    await earlier.query('COMMIT');
    assert.equal((await revoking)?.revokedReason, 'later writer');
    const events = await store.eventsSince(start, 100);
    assert.deepEqual(events.map((event) => [event.keyId, event.kind]), [['key_a', 'updated'], ['key_b', 'revoked']]);
    assert.ok(events[0]!.seq < events[1]!.seq);
  });

  it('lets a follower that polls during a burst of concurrent writes from two nodes see every event', async () => {
    const other = await openPostgresKeyStore(schema.url);
    try {
      const seen: KeyEvent[] = [];
      let cursor = 0;
      let writing = true;
      const follow = (async () => {
        while (writing) {
          const page = await store.eventsSince(cursor, 1000);
          seen.push(...page);
          if (page.length > 0) cursor = page.at(-1)!.seq;
          else await delay(1);
        }
      })();
      const ids = Array.from({ length: 40 }, (_, i) => `key_${String(i).padStart(2, '0')}`);
      await Promise.all(ids.map((id, i) => (i % 2 === 0 ? store : other).createKey(newKey(id, ['burst']), 1, CLI_ACTOR)));
      await Promise.all([
        ...ids.map((id, i) => (i % 2 === 0 ? other : store).revokeKey(id, 'burst', 2, CLI_ACTOR)),
        store.revokeKeysByTag('burst', 'sweep', 3, CLI_ACTOR),
      ]);
      writing = false;
      await follow;
      seen.push(...(await store.eventsSince(cursor, 1000)));
      assert.deepEqual(seen, await store.eventsSince(0, 1000), 'the follower saw exactly the whole log, in order');
      assert.equal(seen.length, 80);
    } finally {
      await other.close();
    }
  });

  it('wakes subscribers when another node commits a change, and not for a rolled-back one', async () => {
    const other = await openPostgresKeyStore(schema.url);
    let wakeUps = 0;
    const subscription = await store.subscribeToChanges(() => wakeUps++);
    try {
      assert.equal(subscription.listening, true);
      const started = performance.now();
      const created = await other.createKey(newKey('key_a'), 1, CLI_ACTOR);
      while (wakeUps === 0 && performance.now() - started < 2000) await delay(2);
      assert.equal(wakeUps, 1);
      await assert.rejects(other.createKey({ ...newKey('key_b'), digest: created.digest }, 2, CLI_ACTOR));
      await delay(200);
      assert.equal(wakeUps, 1, 'a failed mutation notifies nobody');
    } finally {
      await subscription.close();
      await other.close();
    }
  });

  it('ignores notifications from another schema of the same database', async () => {
    const neighbour = await createTestSchema();
    const elsewhere = await openPostgresKeyStore(neighbour.url);
    let wakeUps = 0;
    const subscription = await store.subscribeToChanges(() => wakeUps++);
    try {
      await elsewhere.createKey(newKey('key_a'), 1, CLI_ACTOR);
      await delay(200);
      assert.equal(wakeUps, 0);
      await store.createKey(newKey('key_b'), 1, CLI_ACTOR);
      const started = performance.now();
      while (wakeUps === 0 && performance.now() - started < 2000) await delay(2);
      assert.equal(wakeUps, 1);
    } finally {
      await subscription.close();
      await elsewhere.close();
      await neighbour.drop();
    }
  });

  it('merges usage batches from several nodes flushing at once without losing the newest use', async () => {
    const nodes = [store, await openPostgresKeyStore(schema.url), await openPostgresKeyStore(schema.url)];
    try {
      const ids = Array.from({ length: 20 }, (_, i) => `key_${String(i).padStart(2, '0')}`);
      for (const id of ids) await store.createKey(newKey(id), 1, CLI_ACTOR);
      // Each node flushes batches over the same keys, in different orders, with interleaved times.
      const flushes: Promise<void>[] = [];
      for (let round = 0; round < 10; round++) {
        nodes.forEach((node, n) => {
          const order = n % 2 === 0 ? ids : [...ids].reverse();
          flushes.push(node.recordUsage(order.map((keyId) => ({ keyId, lastUsedAt: 1000 + round * 10 + n, lastUsedAddress: `192.0.2.${n}` }))));
        });
      }
      await Promise.all(flushes);
      for (const id of ids) {
        const record = await store.getKeyById(id);
        assert.deepEqual([record?.lastUsedAt, record?.lastUsedAddress], [1000 + 9 * 10 + 2, '192.0.2.2'], id);
      }
    } finally {
      for (const node of nodes.slice(1)) await node.close();
    }
  });

  it('applies each migration once when several nodes start on an empty schema at once', async () => {
    const fresh = await createTestSchema();
    const nodes = Array.from({ length: 4 }, () => new PostgresKeyStore(fresh.url));
    try {
      await Promise.all(nodes.map((node) => node.migrate()));
      const { rows } = await runSql(fresh.url, 'SELECT version, name FROM schema_migrations ORDER BY version');
      assert.deepEqual(rows, migrations.map(({ version, name }) => ({ version, name })));
    } finally {
      for (const node of nodes) await node.close();
      await fresh.drop();
    }
  });

  it('refuses a schema written by a newer Portcullis', async () => {
    await runSql(schema.url, 'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [latestSchemaVersion + 1, 'from_the_future', Date.now()]);
    await assert.rejects(openPostgresKeyStore(schema.url), new RegExp(`schema version ${latestSchemaVersion + 1}, newer than this Portcullis supports \\(${latestSchemaVersion}\\)`));
  });

  it('says how to fix a search_path that names no existing schema', async () => {
    await assert.rejects(openPostgresKeyStore(withSearchPath(testPostgresUrl, 'portcullis_test_missing')), /search_path \(portcullis_test_missing\) names no existing schema/);
  });

  it('is what openKeyStore opens for a postgres:// or postgresql:// URL', async () => {
    for (const url of [schema.url, schema.url.replace(/^postgres:/, 'postgresql:')]) {
      const opened = await openKeyStore(url);
      try {
        assert.ok(opened instanceof PostgresKeyStore);
        await opened.createKey(newKey(`key_${url.slice(0, 10).replace(/\W/g, '')}`), 1, CLI_ACTOR);
      } finally {
        await opened.close();
      }
    }
    assert.equal((await store.listKeys()).length, 2);
  });
});
