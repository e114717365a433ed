/**
 * Delegated tokens revoked one by one (migration 12), the same behaviour on SQLite and
 * PostgreSQL: a revocation is audited once, a second one changes nothing; the poll reads what
 * was revoked since a time and leaves out expired rows; the purge deletes them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openPostgresKeyStore } from './postgres/postgres-key-store.ts';
import type { Store } from './store.ts';
import { CLI_ACTOR } from './audit-log.ts';
import { freshStorePerTest, temporarySqliteStore, type MakeFreshStore } from '../../test/support/fresh-store.ts';
import { checkTestPostgres, createTestSchema } from '../../test/support/postgres.ts';
import { describeNeeding } from '../../test/support/required-service.ts';

const t0 = 1_700_000_000_000;

function runSuite(label: string, make: MakeFreshStore<Store>): void {
  describe(`revoked tokens: ${label}`, () => {
    let store: Store;
    freshStorePerTest(make, (fresh) => (store = fresh));

    it('revokes a token once, audited as token.revoked; a second revocation writes nothing', async () => {
      assert.equal(await store.revokeToken('jti-1', 'key-1', t0 + 60_000, 'copied into a log', t0, CLI_ACTOR), true);
      assert.equal(await store.revokeToken('jti-1', 'key-1', t0 + 90_000, 'again', t0 + 10, CLI_ACTOR), false);
      const entries = (await store.listAuditEntries()).filter((entry) => entry.action === 'token.revoked');
      assert.equal(entries.length, 1);
      assert.equal(entries[0]?.target, 'jti-1');
      assert.equal(entries[0]?.reason, 'copied into a log');
      assert.deepEqual(JSON.parse(entries[0]?.details ?? '{}'), { keyId: 'key-1', expiresAt: t0 + 60_000 });
      assert.deepEqual(await store.revokedTokensSince(0, t0), [{ tokenId: 'jti-1', keyId: 'key-1', expiresAt: t0 + 60_000, revokedAt: t0, reason: 'copied into a log' }]);
    });

    it('polls by revocation time, oldest first, leaving out tokens already expired', async () => {
      await store.revokeToken('b', '', t0 + 5000, null, t0 + 20, CLI_ACTOR);
      await store.revokeToken('a', 'key-1', t0 + 50_000, null, t0 + 10, CLI_ACTOR);
      await store.revokeToken('c', 'key-2', t0 + 50_000, null, t0 + 30, CLI_ACTOR);
      assert.deepEqual((await store.revokedTokensSince(0, t0 + 100)).map((row) => row.tokenId), ['a', 'b', 'c']);
      assert.deepEqual((await store.revokedTokensSince(t0 + 20, t0 + 100)).map((row) => row.tokenId), ['b', 'c']);
      assert.deepEqual((await store.revokedTokensSince(0, t0 + 5000)).map((row) => row.tokenId), ['a', 'c'], 'b has expired');
      assert.equal((await store.revokedTokensSince(0, t0)).find((row) => row.tokenId === 'b')?.keyId, '');
    });

    it('purges the rows of expired tokens only', async () => {
      await store.revokeToken('short', 'k', t0 + 1000, null, t0, CLI_ACTOR);
      await store.revokeToken('long', 'k', t0 + 9000, null, t0, CLI_ACTOR);
      assert.equal(await store.purgeRevokedTokens(t0 + 1000), 1);
      assert.equal(await store.purgeRevokedTokens(t0 + 1000), 0);
      assert.deepEqual((await store.revokedTokensSince(0, 0)).map((row) => row.tokenId), ['long']);
    });
  });
}

runSuite('SQLite', temporarySqliteStore as MakeFreshStore<Store>);

const postgres = await checkTestPostgres();
describeNeeding(postgres, 'revoked tokens on PostgreSQL', () => {
  runSuite('PostgreSQL (a fresh schema per test)', async () => {
    const schema = await createTestSchema();
    const store = await openPostgresKeyStore(schema.url);
    return {
      store,
      cleanup: async () => {
        await store.close();
        await schema.drop();
      },
    };
  });
});
