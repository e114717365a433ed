/**
 * `store migrate` from a SQLite store written before times were floored at the store boundary:
 * such a store holds request times with fractions of a millisecond (SQLite keeps a REAL in a
 * BIGINT column), which PostgreSQL refuses, so the copy of any store that had served traffic
 * failed. The full copy is tested in test/integration/store-migrate.test.ts.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import Database from 'better-sqlite3';
import { keyRow } from '../../../test/support/key-rows.ts';
import { checkTestPostgres, createTestSchema } from '../../../test/support/postgres.ts';
import { temporaryDirectory } from '../../../test/support/processes.ts';
import { describeNeeding } from '../../../test/support/required-service.ts';
import { CLI_ACTOR } from '../audit-log.ts';
import { openPostgresKeyStore } from '../postgres/postgres-key-store.ts';
import { openSqliteKeyStore } from '../sqlite/sqlite-key-store.ts';
import { copySqliteStoreToPostgres } from './copy-sqlite-to-postgres.ts';

describeNeeding(await checkTestPostgres(), 'store migrate from a store with fractional times', () => {
  it('copies them floored, and a second run finds nothing to change', async () => {
    const directory = temporaryDirectory();
    const schema = await createTestSchema();
    try {
      const path = join(directory.path, 'old.db');
      const sqlite = await openSqliteKeyStore(path);
      await sqlite.createKey(keyRow('key_a'), 1_700_000_000_000, CLI_ACTOR);
      await sqlite.close();
      // What an older version wrote for a request's time.
      const raw = new Database(path);
      raw.prepare("UPDATE api_keys SET last_used_at = 1700000123456.625, last_used_address = '2001:db8::1' WHERE id = 'key_a'").run();
      raw.close();

      const first = await copySqliteStoreToPostgres(path, schema.url);
      assert.deepEqual(first.find((table) => table.table === 'api_keys'), { table: 'api_keys', rows: 1, added: 1, updated: 0 });
      const second = await copySqliteStoreToPostgres(path, schema.url);
      assert.ok(second.every((table) => table.added === 0 && table.updated === 0), JSON.stringify(second));
      const postgres = await openPostgresKeyStore(schema.url);
      try {
        const record = await postgres.getKeyById('key_a');
        assert.deepEqual([record?.lastUsedAt, record?.lastUsedAddress], [1_700_000_123_456, '2001:db8::1']);
      } finally {
        await postgres.close();
      }
    } finally {
      await schema.drop();
      directory.remove();
    }
  });
});
