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
import { fractional, MAX_EXACT, UNICODE_NAMES } from './stored-value-samples.ts';

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

    it('keeps every column as written: unicode names, times from 0 to 2^53 - 1, fractional times floored', async () => {
      const tokens = UNICODE_NAMES.map((name, index) => ({ ...newToken(`adm_${index}`, index % 2 === 0 ? 'read' : 'write'), name, displayPrefix: `pcladmin_${index}Zz` }));
      const times = tokens.map((_, index) => (index === 0 ? 0 : index === 1 ? MAX_EXACT : fractional(t0 + index)));
      for (const [index, token] of tokens.entries()) await store.createAdminToken(token, times[index]!, CLI_ACTOR);
      const expected = tokens.map((token, index) => ({ ...token, createdAt: Math.floor(times[index]!), revokedAt: null }));
      assert.deepEqual(await store.listAdminTokens(), [...expected].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)));
      for (const token of expected) {
        assert.deepEqual(await store.getAdminTokenById(token.id), token);
        assert.deepEqual(await store.getAdminTokenByDigest(token.digest), token);
      }
      assert.equal((await store.revokeAdminToken('adm_2', fractional(t0 + 100), CLI_ACTOR))?.revokedAt, t0 + 100);
      assert.equal((await store.revokeAdminToken('adm_3', MAX_EXACT, CLI_ACTOR))?.revokedAt, MAX_EXACT);
      assert.equal((await store.getAdminTokenById('adm_2'))?.revokedAt, t0 + 100);
    });

    it('refuses a name PostgreSQL cannot hold, or a time that is not one, in every store alike', async () => {
      await assert.rejects(store.createAdminToken({ ...newToken('adm_a'), name: 'a\u0000b' }, t0, CLI_ACTOR), RangeError);
      await assert.rejects(store.createAdminToken(newToken('adm_b'), Number.NaN, CLI_ACTOR), RangeError);
      assert.deepEqual(await store.listAdminTokens(), []);
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
