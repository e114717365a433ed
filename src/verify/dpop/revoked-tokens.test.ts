/**
 * The revoked-token list of one node: what a poll adds, a revocation written late (with an
 * earlier `revoked_at` than one already read) still read, expired ids dropped and their rows
 * purged, and polling on its own until closed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLI_ACTOR } from '../../store/audit-log.ts';
import { openKeyStore } from '../../store/open-key-store.ts';
import { RevokedTokenList, REVOCATION_HOLD_MS, revokeDelegatedToken } from './revoked-tokens.ts';

const T0 = 1_700_000_000_000;

describe('RevokedTokenList', () => {
  it('reads revocations, also one written late by a node whose clock is behind, and drops expired ones', async () => {
    const store = await openKeyStore(':memory:');
    let clock = T0;
    const list = new RevokedTokenList(store, { pollIntervalMs: 60_000, staleForMs: 300_000, onError: (error) => assert.fail(String(error)), now: () => clock });
    try {
      assert.equal(list.loaded, false);
      await store.revokeToken('a', 'k', T0 + 1000, null, T0, CLI_ACTOR);
      await list.refresh();
      assert.equal(list.loaded, true);
      assert.equal(list.freshUntil, T0 + 300_000);
      assert.deepEqual([list.isRevoked('a'), list.isRevoked('b')], [true, false]);
      await store.revokeToken('late', 'k', T0 + 900_000, null, T0 - 30_000, CLI_ACTOR);
      clock += 50;
      await list.refresh();
      assert.equal(list.isRevoked('late'), true, 'revoked_at before the newest held, within the overlap');
      clock = T0 + 11 * 60_000;
      await list.refresh();
      assert.deepEqual([list.isRevoked('a'), list.isRevoked('late'), list.size], [false, true, 1], 'a expired: dropped');
      assert.deepEqual((await store.revokedTokensSince(0, 0)).map((row) => row.tokenId), ['late'], 'and its row purged');
    } finally {
      list.close();
      await store.close();
    }
  });

  it('polls on its own every interval once started, until closed', async () => {
    const store = await openKeyStore(':memory:');
    const list = new RevokedTokenList(store, { pollIntervalMs: 10, staleForMs: 1000, onError: (error) => assert.fail(String(error)) });
    try {
      await list.refresh();
      await revokeDelegatedToken(store, { tokenId: 'tok1', keyId: null, reason: null }, Date.now(), CLI_ACTOR);
      const started = Date.now();
      while (!list.isRevoked('tok1') && Date.now() - started < 2000) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(list.isRevoked('tok1'), true);
      const [row] = await store.revokedTokensSince(0, Date.now());
      assert.ok(row !== undefined && row.expiresAt - row.revokedAt === REVOCATION_HOLD_MS && REVOCATION_HOLD_MS > 24 * 3600_000);
    } finally {
      list.close();
      await store.close();
    }
  });

  it('refuses an id that cannot be a token id', async () => {
    await assert.rejects(revokeDelegatedToken({ revokeToken: async () => assert.fail('not written') }, { tokenId: 'a b', keyId: null, reason: null }, T0, CLI_ACTOR), RangeError);
  });
});
