/**
 * Token signing keys (migration 5), the same behaviour on SQLite and PostgreSQL: at most one
 * current key, even when two nodes make the first one at once; rotation retires it with an
 * overlap; each change audited; the list keeps retired keys until their overlap ends.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { join } from 'node:path';
import { copySqliteStoreToPostgres } from './copy/copy-sqlite-to-postgres.ts';
import { openKeyStore } from './open-key-store.ts';
import { openPostgresKeyStore } from './postgres/postgres-key-store.ts';
import type { Store } from './store.ts';
import type { NewTokenSigningKey } from './token-signing-key-store.ts';
import { CLI_ACTOR } from './audit-log.ts';
import { freshStorePerTest, temporarySqliteStore, type MakeFreshStore } from '../../test/support/fresh-store.ts';
import { checkTestPostgres, createTestSchema } from '../../test/support/postgres.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';
import { describeNeeding } from '../../test/support/required-service.ts';

const t0 = 1_700_000_000_000;

function signingKey(kid: string): NewTokenSigningKey {
  return { kid, algorithm: 'ES256', publicJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}` }, privateJwk: { kty: 'EC', crv: 'P-256', x: `x-${kid}`, y: `y-${kid}`, d: `d-${kid}` } };
}

function runSuite(label: string, make: MakeFreshStore<Store>): void {
  describe(`token signing keys: ${label}`, () => {
    let store: Store;
    freshStorePerTest(make, (fresh) => (store = fresh));

    it('starts empty, and the first key made is the current one, stored as given', async () => {
      assert.deepEqual(await store.listTokenSigningKeys(t0), []);
      assert.equal(await store.createTokenSigningKey(signingKey('k1'), t0, CLI_ACTOR), true);
      const [key, ...rest] = await store.listTokenSigningKeys(t0);
      assert.deepEqual(rest, []);
      assert.deepEqual(key, { ...signingKey('k1'), createdAt: t0, retiredAt: null, verifiesUntil: null });
    });

    it('refuses a second current key, also when two are made at once, and writes nothing for the loser', async () => {
      const made = await Promise.all([store.createTokenSigningKey(signingKey('a'), t0, CLI_ACTOR), store.createTokenSigningKey(signingKey('b'), t0, CLI_ACTOR)]);
      assert.deepEqual(made.filter(Boolean).length, 1);
      assert.equal(await store.createTokenSigningKey(signingKey('c'), t0 + 1, CLI_ACTOR), false);
      const keys = await store.listTokenSigningKeys(t0 + 1);
      assert.equal(keys.length, 1);
      const audited = (await store.listAuditEntries()).filter((entry) => entry.action === 'token_signing_key.created');
      assert.deepEqual(audited.map((entry) => entry.target), keys.map((key) => key.kid));
    });

    it('rotates: the new key signs, the old one verifies until the overlap ends, then leaves the list', async () => {
      await store.createTokenSigningKey(signingKey('old'), t0, CLI_ACTOR);
      assert.equal(await store.rotateTokenSigningKey(signingKey('new'), 60_000, t0 + 1000, CLI_ACTOR), 'old');
      const keys = await store.listTokenSigningKeys(t0 + 1000);
      assert.deepEqual(keys.map((key) => [key.kid, key.retiredAt, key.verifiesUntil]), [['new', null, null], ['old', t0 + 1000, t0 + 61_000]]);
      assert.deepEqual((await store.listTokenSigningKeys(t0 + 61_000)).map((key) => key.kid), ['new']);
      const rotated = (await store.listAuditEntries()).filter((entry) => entry.action === 'token_signing_key.rotated');
      assert.deepEqual(rotated.map((entry) => [entry.target, JSON.parse(entry.details).retired]), [['new', 'old']]);
      assert.equal(await store.createTokenSigningKey(signingKey('third'), t0 + 2000, CLI_ACTOR), false);
    });

    it('rotates with no key yet: the new key is simply the first', async () => {
      assert.equal(await store.rotateTokenSigningKey(signingKey('only'), 1000, t0, CLI_ACTOR), null);
      assert.deepEqual((await store.listTokenSigningKeys(t0)).map((key) => key.kid), ['only']);
    });
  });
}

runSuite('SQLite', temporarySqliteStore as MakeFreshStore<Store>);

const postgres = await checkTestPostgres();
describeNeeding(postgres, 'token signing keys on PostgreSQL', () => {
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

  it('store migrate copies the keys from SQLite as they are, the current one and the retired ones', async () => {
    const directory = temporaryDirectory();
    const path = join(directory.path, 'k.db');
    const sqlite = await openKeyStore(path);
    await sqlite.createTokenSigningKey(signingKey('k1'), t0, CLI_ACTOR);
    await sqlite.rotateTokenSigningKey(signingKey('k2'), 5000, t0 + 1000, CLI_ACTOR);
    const expected = await sqlite.listTokenSigningKeys(t0 + 1000);
    await sqlite.close();
    const schema = await createTestSchema();
    try {
      await (await openPostgresKeyStore(schema.url)).close();
      await copySqliteStoreToPostgres(path, schema.url);
      const copied = await openPostgresKeyStore(schema.url);
      assert.deepEqual(await copied.listTokenSigningKeys(t0 + 1000), expected);
      assert.equal(await copied.createTokenSigningKey(signingKey('k3'), t0 + 2000, CLI_ACTOR), false, 'the copied current key is still the only one');
      await copied.close();
    } finally {
      await schema.drop();
      directory.remove();
    }
  });
});
