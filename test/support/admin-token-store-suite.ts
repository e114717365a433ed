/**
 * The behaviour every store's admin tokens must have, run unchanged against each
 * implementation (SQLite now, PostgreSQL later). Only the `AdminTokenStore` interface is used;
 * that each change is audited is checked by the audit log suite.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AdminTokenStore, NewAdminToken } from '../../src/store/admin-token-store.ts';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { freshStorePerTest, type MakeFreshStore } from './fresh-store.ts';

export type MakeAdminTokenStore = MakeFreshStore<AdminTokenStore & { migrate(): Promise<void> }>;

const t0 = 1_700_000_000_000;

function newToken(id: string, role: 'read' | 'write' = 'read'): NewAdminToken {
  return { id, name: `token ${id}`, role, digest: randomBytes(32).toString('hex'), displayPrefix: 'pcladmin_AbCd' };
}

export function runAdminTokenStoreSuite(label: string, makeStore: MakeAdminTokenStore): void {
  describe(`AdminTokenStore: ${label}`, () => {
    let store: AdminTokenStore;
    freshStorePerTest(makeStore, (fresh) => (store = fresh));

    it('creates a token and finds it by digest and by id', async () => {
      const token = newToken('adm_a', 'write');
      const expected = { id: 'adm_a', name: 'token adm_a', role: 'write', digest: token.digest, displayPrefix: 'pcladmin_AbCd', createdAt: t0, revokedAt: null };
      assert.deepEqual(await store.createAdminToken(token, t0, CLI_ACTOR), expected);
      assert.deepEqual(await store.getAdminTokenByDigest(token.digest), expected);
      assert.deepEqual(await store.getAdminTokenById('adm_a'), expected);
      assert.equal(await store.getAdminTokenByDigest(randomBytes(32).toString('hex')), null);
      assert.equal(await store.getAdminTokenById('adm_missing'), null);
    });

    it('lists tokens oldest first', async () => {
      await store.createAdminToken(newToken('adm_b'), t0 + 1, CLI_ACTOR);
      await store.createAdminToken(newToken('adm_a'), t0 + 2, CLI_ACTOR);
      await store.createAdminToken(newToken('adm_c', 'write'), t0, CLI_ACTOR);
      assert.deepEqual((await store.listAdminTokens()).map((token) => [token.id, token.role]), [['adm_c', 'write'], ['adm_b', 'read'], ['adm_a', 'read']]);
    });

    it('refuses a second token with the same digest or id', async () => {
      const token = newToken('adm_a');
      await store.createAdminToken(token, t0, CLI_ACTOR);
      await assert.rejects(store.createAdminToken({ ...newToken('adm_b'), digest: token.digest }, t0, CLI_ACTOR));
      await assert.rejects(store.createAdminToken(newToken('adm_a'), t0, CLI_ACTOR));
      assert.deepEqual((await store.listAdminTokens()).map((record) => record.id), ['adm_a']);
    });

    it('revokes once: the first time stands', async () => {
      await store.createAdminToken(newToken('adm_a'), t0, CLI_ACTOR);
      assert.equal((await store.revokeAdminToken('adm_a', t0 + 5, CLI_ACTOR))?.revokedAt, t0 + 5);
      assert.equal((await store.revokeAdminToken('adm_a', t0 + 9, CLI_ACTOR))?.revokedAt, t0 + 5);
      assert.equal((await store.getAdminTokenById('adm_a'))?.revokedAt, t0 + 5);
      assert.equal(await store.revokeAdminToken('adm_missing', t0, CLI_ACTOR), null);
    });
  });
}
