/**
 * The behaviour every store's audit log must have, run unchanged against each implementation
 * (SQLite now, PostgreSQL later). Changes are made through the store's own mutation methods,
 * so the suite also proves that each one writes its audit entry. The tampering cases need raw
 * SQL against the database; the statements are portable, only removing the append-only
 * guards differs by dialect, so each implementation passes those statements in.
 *
 * @example
 * runAuditLogSuite('SqliteKeyStore', makeStore, { execute: (sql) => …, dropGuards: ['DROP TRIGGER …'] });
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AuditActor, AuditEntry } from '../../src/store/audit-log.ts';
import type { Store } from '../../src/store/store.ts';
import { auditEntryHash, GENESIS_HASH, verifyAuditChain } from '../../src/store/audit-chain.ts';
import { freshStorePerTest, type MakeFreshStore } from './fresh-store.ts';
import { newKey, replacementFor } from './key-store-suite.ts';
import { ADDRESSES, asJson, fractional, MAX_EXACT, METADATA, UNICODE_NAMES } from './stored-value-samples.ts';

export type MakeStore = MakeFreshStore<Store>;

export interface AuditTampering {
  /** Runs SQL directly against the store's database, as an intruder with database access would. */
  execute(sql: string): Promise<void>;
  /** Statements that remove the audit log's append-only triggers in this dialect. */
  dropGuards: string[];
}

const t0 = 1_700_000_000_000;
const alice: AuditActor = { actor: 'adm_alice', address: '192.0.2.10' };
const cli: AuditActor = { actor: 'cli', address: null };

async function oldestFirst(store: Store): Promise<AuditEntry[]> {
  return store.auditEntriesSince(0, 1000);
}

function summary(entries: readonly AuditEntry[]) {
  return entries.map(({ actor, address, action, target, reason }) => ({ actor, address, action, target, reason }));
}

export function runAuditLogSuite(label: string, makeStore: MakeStore, tampering?: AuditTampering): void {
  describe(`AuditLog: ${label}`, () => {
    let store: Store;
    freshStorePerTest(makeStore, (fresh) => (store = fresh));

    /** Five entries: create a, create b, update a, revoke a, create c. */
    async function makeHistory(): Promise<void> {
      await store.createKey(newKey('key_a'), t0, alice);
      await store.createKey(newKey('key_b'), t0 + 1, cli);
      await store.updateKey('key_a', { name: 'renamed' }, t0 + 2, alice);
      await store.revokeKey('key_a', 'leaked', t0 + 3, cli);
      await store.createKey(newKey('key_c'), t0 + 4, alice);
    }

    it('starts empty, with the genesis head, and verifies', async () => {
      assert.deepEqual(await store.listAuditEntries(), []);
      assert.deepEqual(await store.auditHead(), { seq: 0, hash: GENESIS_HASH });
      assert.deepEqual(await verifyAuditChain(store), { ok: true, entries: 0, head: { seq: 0, hash: GENESIS_HASH } });
    });

    it('records every key lifecycle action once, with its actor, address and reason', async () => {
      await store.createKey(newKey('key_a', { tags: ['web'] }), t0, alice);
      await store.createKey(newKey('key_b', { tags: ['web'] }), t0, cli);
      await store.createKey(newKey('key_c'), t0, cli);
      await store.updateKey('key_c', { name: 'renamed', tags: ['batch'] }, t0 + 1, alice);
      await store.updateKey('key_c', { name: 'renamed' }, t0 + 2, alice); // no change: no entry
      await store.revokeKeysByTag('web', 'incident 7', t0 + 3, alice);
      await store.revokeKey('key_a', 'again', t0 + 4, cli); // already revoked: no entry
      await store.rotateKey('key_c', replacementFor('key_d'), t0 + 10, t0 + 5, cli);
      await store.revokeKey('key_d', null, t0 + 6, alice);

      const entries = await oldestFirst(store);
      assert.deepEqual(summary(entries), [
        { actor: 'adm_alice', address: '192.0.2.10', action: 'key.created', target: 'key_a', reason: null },
        { actor: 'cli', address: null, action: 'key.created', target: 'key_b', reason: null },
        { actor: 'cli', address: null, action: 'key.created', target: 'key_c', reason: null },
        { actor: 'adm_alice', address: '192.0.2.10', action: 'key.updated', target: 'key_c', reason: null },
        { actor: 'adm_alice', address: '192.0.2.10', action: 'key.revoked', target: 'key_a', reason: 'incident 7' },
        { actor: 'adm_alice', address: '192.0.2.10', action: 'key.revoked', target: 'key_b', reason: 'incident 7' },
        { actor: 'cli', address: null, action: 'key.created', target: 'key_d', reason: null },
        { actor: 'cli', address: null, action: 'key.rotated', target: 'key_c', reason: null },
        { actor: 'adm_alice', address: '192.0.2.10', action: 'key.revoked', target: 'key_d', reason: null },
      ]);
      assert.deepEqual(entries.map((entry) => entry.at), [t0, t0, t0, t0 + 1, t0 + 3, t0 + 3, t0 + 5, t0 + 5, t0 + 6]);
      const details = entries.map((entry) => JSON.parse(entry.details) as Record<string, unknown>);
      assert.deepEqual(details[0]!.tags, ['web']);
      assert.deepEqual(details[3], { changes: { name: { from: 'client key_c', to: 'renamed' }, tags: { from: [], to: ['batch'] } } });
      assert.deepEqual(details[4], { byTag: 'web' });
      assert.equal(details[6]!.rotatedFrom, 'key_c');
      assert.deepEqual(details[7], { replacedBy: 'key_d', expiresAt: t0 + 10 });
      // Never the key's digest.
      for (const entry of entries) assert.doesNotMatch(entry.details, /[0-9a-f]{64}/);
    });

    it('records a quarantine with its evidence, a release with what it lifted, and a revocation with its evidence', async () => {
      await store.createKey(newKey('key_a'), t0, cli);
      await store.createKey(newKey('key_b'), t0, cli);
      const evidence = { source: 'content', url: 'https://github.com/acme/app/blob/main/.env', type: 'portcullis_api_key' };
      await store.quarantineKey('key_a', 'reported by GitHub secret scanning', t0 + 1, alice, evidence);
      await store.quarantineKey('key_a', 'again', t0 + 2, alice); // already quarantined: no entry
      await store.releaseKey('key_a', 'rotated in the repository', t0 + 3, cli);
      await store.releaseKey('key_a', null, t0 + 4, cli); // not quarantined: no entry
      await store.revokeKey('key_b', 'reported', t0 + 5, alice, { source: 'finder', url: null });
      const entries = (await oldestFirst(store)).slice(2);
      assert.deepEqual(summary(entries), [
        { actor: 'adm_alice', address: '192.0.2.10', action: 'key.quarantined', target: 'key_a', reason: 'reported by GitHub secret scanning' },
        { actor: 'cli', address: null, action: 'key.released', target: 'key_a', reason: 'rotated in the repository' },
        { actor: 'adm_alice', address: '192.0.2.10', action: 'key.revoked', target: 'key_b', reason: 'reported' },
      ]);
      assert.deepEqual(entries.map((entry) => JSON.parse(entry.details) as unknown), [
        { evidence },
        { quarantinedAt: t0 + 1, quarantinedReason: 'reported by GitHub secret scanning' },
        { evidence: { source: 'finder', url: null } },
      ]);
      assert.equal((await verifyAuditChain(store)).ok, true);
    });

    it('keeps every column as written: unicode actors, addresses, reasons and details, times floored, from 0 to 2^53 - 1', async () => {
      const admin: AuditActor = { actor: 'adm_ünïcode', address: ADDRESSES[0] };
      const key = newKey('key_u', { name: UNICODE_NAMES[4], tags: ['東京'], quota: '9007199254740991/month', metadata: METADATA, expiresAt: fractional(t0 + 5) });
      await store.createKey(key, 0, admin);
      await store.updateKey('key_u', { name: UNICODE_NAMES[3], quota: '1/day' }, fractional(t0), alice);
      await store.revokeKey('key_u', UNICODE_NAMES[0], fractional(t0 + 1), { actor: 'cli', address: null });
      await store.createAdminToken({ id: 'adm_x', name: UNICODE_NAMES[2], role: 'read', digest: randomBytes(32).toString('hex'), displayPrefix: 'pcladmin_Zz' }, MAX_EXACT, admin);
      const entries = await oldestFirst(store);
      assert.deepEqual(entries.map(({ at, actor, address, action, reason }) => ({ at, actor, address, action, reason })), [
        { at: 0, actor: 'adm_ünïcode', address: ADDRESSES[0], action: 'key.created', reason: null },
        { at: t0, actor: 'adm_alice', address: '192.0.2.10', action: 'key.updated', reason: null },
        { at: t0 + 1, actor: 'cli', address: null, action: 'key.revoked', reason: UNICODE_NAMES[0] },
        { at: MAX_EXACT, actor: 'adm_ünïcode', address: ADDRESSES[0], action: 'admin_token.created', reason: null },
      ]);
      const created = JSON.parse(entries[0]!.details) as Record<string, unknown>;
      assert.deepEqual([created.name, created.tags, created.quota, created.metadata, created.expiresAt], [UNICODE_NAMES[4], ['東京'], '9007199254740991/month', asJson(METADATA), t0 + 5]);
      assert.deepEqual(JSON.parse(entries[1]!.details), { changes: { name: { from: UNICODE_NAMES[4], to: UNICODE_NAMES[3] }, quota: { from: '9007199254740991/month', to: '1/day' } } });
      assert.equal((JSON.parse(entries[3]!.details) as { name: string }).name, UNICODE_NAMES[2]);
      assert.deepEqual(await store.auditHead(), { seq: 4, hash: entries[3]!.hash });
      assert.deepEqual(await verifyAuditChain(store), { ok: true, entries: 4, head: { seq: 4, hash: entries[3]!.hash } });
    });

    it('writes no entry for a change refused for what it holds', async () => {
      await store.createKey(newKey('key_a'), t0, cli);
      await assert.rejects(store.revokeKey('key_a', 'a\u0000b', t0 + 1, cli), RangeError);
      await assert.rejects(store.createKey(newKey('key_b'), t0, { actor: 'adm_\ud800', address: null }), RangeError);
      assert.deepEqual((await oldestFirst(store)).map((entry) => entry.action), ['key.created']);
      assert.equal((await verifyAuditChain(store)).ok, true);
    });

    it('records admin token creation and revocation', async () => {
      await store.createAdminToken({ id: 'adm_one', name: 'ops laptop', role: 'write', digest: randomBytes(32).toString('hex'), displayPrefix: 'pcladmin_AbCd' }, t0, cli);
      await store.revokeAdminToken('adm_one', t0 + 1, alice);
      await store.revokeAdminToken('adm_one', t0 + 2, alice);
      const entries = await oldestFirst(store);
      assert.deepEqual(summary(entries), [
        { actor: 'cli', address: null, action: 'admin_token.created', target: 'adm_one', reason: null },
        { actor: 'adm_alice', address: '192.0.2.10', action: 'admin_token.revoked', target: 'adm_one', reason: null },
      ]);
      assert.deepEqual(JSON.parse(entries[0]!.details), { name: 'ops laptop', role: 'write', displayPrefix: 'pcladmin_AbCd' });
    });

    it('writes no entry when a change fails', async () => {
      const first = newKey('key_a');
      await store.createKey(first, t0, cli);
      await assert.rejects(store.createKey(newKey('key_b', { digest: first.digest }), t0, cli));
      await store.revokeKey('key_a', 'x', t0 + 1, cli);
      await assert.rejects(store.rotateKey('key_a', replacementFor('key_new'), t0 + 5, t0 + 2, cli));
      assert.equal(await store.revokeKey('key_missing', 'x', t0, cli), null);
      assert.deepEqual((await oldestFirst(store)).map((entry) => entry.action), ['key.created', 'key.revoked']);
    });

    it('chains the entries: consecutive seqs, each linked to and hashed with the one before', async () => {
      await makeHistory();
      const entries = await oldestFirst(store);
      assert.deepEqual(entries.map((entry) => entry.seq), [1, 2, 3, 4, 5]);
      let previous = GENESIS_HASH;
      for (const entry of entries) {
        assert.equal(entry.prevHash, previous);
        assert.equal(entry.hash, auditEntryHash(entry.seq, entry, entry.prevHash));
        previous = entry.hash;
      }
      assert.deepEqual(await store.auditHead(), { seq: 5, hash: previous });
      assert.deepEqual(await verifyAuditChain(store), { ok: true, entries: 5, head: { seq: 5, hash: previous } });
    });

    it('lists newest first, by target, and pages with before and limit', async () => {
      await makeHistory();
      assert.deepEqual((await store.listAuditEntries()).map((entry) => entry.seq), [5, 4, 3, 2, 1]);
      assert.deepEqual((await store.listAuditEntries({ limit: 2 })).map((entry) => entry.seq), [5, 4]);
      assert.deepEqual((await store.listAuditEntries({ before: 4, limit: 2 })).map((entry) => entry.seq), [3, 2]);
      assert.deepEqual((await store.listAuditEntries({ target: 'key_a' })).map((entry) => entry.action), ['key.revoked', 'key.updated', 'key.created']);
      assert.deepEqual((await store.listAuditEntries({ target: 'key_a', before: 3 })).map((entry) => entry.seq), [1]);
      assert.deepEqual(await store.listAuditEntries({ target: 'nobody' }), []);
      assert.deepEqual((await store.auditEntriesSince(3, 10)).map((entry) => entry.seq), [4, 5]);
      assert.deepEqual((await store.auditEntriesSince(1, 2)).map((entry) => entry.seq), [2, 3]);
    });

    it('keeps one unbroken chain under concurrent changes', async () => {
      const ids = Array.from({ length: 20 }, (_, i) => `key_${String(i).padStart(2, '0')}`);
      await Promise.all(ids.map((id) => store.createKey(newKey(id, { tags: ['burst'] }), t0, cli)));
      await Promise.all([...ids.slice(0, 10).map((id) => store.revokeKey(id, 'one', t0 + 1, alice)), store.revokeKeysByTag('burst', 'all', t0 + 2, alice)]);
      const result = await verifyAuditChain(store);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(result.entries, 40);
    });

    if (tampering === undefined) return;

    describe('tampering done directly in the database', () => {
      async function tamper(...statements: string[]): Promise<void> {
        for (const sql of [...tampering!.dropGuards, ...statements]) await tampering!.execute(sql);
      }

      it('is refused by the append-only guards while they are in place', async () => {
        await makeHistory();
        await assert.rejects(tampering.execute("UPDATE audit_log SET reason = 'edited' WHERE seq = 2"), /append-only/);
        await assert.rejects(tampering.execute('DELETE FROM audit_log WHERE seq = 2'), /append-only/);
        assert.equal((await verifyAuditChain(store)).ok, true);
      });

      it('an edited entry fails verification, naming the entry', async () => {
        await makeHistory();
        await tamper("UPDATE audit_log SET actor = 'cli' WHERE seq = 3");
        const result = await verifyAuditChain(store);
        assert.equal(result.ok, false);
        assert.equal(result.ok ? 0 : result.seq, 3);
        assert.match(result.ok ? '' : result.problem, /entry 3 does not match its hash/);
      });

      it('an edit whose hash was recomputed breaks the next link', async () => {
        await makeHistory();
        const [second] = await store.auditEntriesSince(1, 1);
        const forged = { ...second!, reason: 'forged' };
        await tamper(`UPDATE audit_log SET reason = 'forged', hash = '${auditEntryHash(2, forged, second!.prevHash)}' WHERE seq = 2`);
        const result = await verifyAuditChain(store);
        assert.equal(result.ok ? 0 : result.seq, 3);
        assert.match(result.ok ? '' : result.problem, /entry 3 does not link to entry 2/);
      });

      it('a deleted entry fails verification, naming the missing entry', async () => {
        await makeHistory();
        await tamper('DELETE FROM audit_log WHERE seq = 2');
        const result = await verifyAuditChain(store);
        assert.equal(result.ok ? 0 : result.seq, 2);
        assert.match(result.ok ? '' : result.problem, /entry 2 is missing \(deleted\)/);
      });

      it('entries deleted from the end fail verification against the head', async () => {
        await makeHistory();
        await tamper('DELETE FROM audit_log WHERE seq >= 4');
        const result = await verifyAuditChain(store);
        assert.equal(result.ok ? 0 : result.seq, 4);
        assert.match(result.ok ? '' : result.problem, /entries 4 to 5 are missing/);
      });

      it('reordered entries fail verification, naming the first one moved', async () => {
        await makeHistory();
        await tamper('UPDATE audit_log SET seq = -1 WHERE seq = 2', 'UPDATE audit_log SET seq = 2 WHERE seq = 3', 'UPDATE audit_log SET seq = 3 WHERE seq = -1');
        const result = await verifyAuditChain(store);
        assert.equal(result.ok ? 0 : result.seq, 2);
        assert.match(result.ok ? '' : result.problem, /entry 2 /);
      });
    });
  });
}
