/**
 * What `portcullis apply` and `keys import` need from every store, run unchanged against each
 * implementation: many keys created in one transaction (`importKeys`), every setting changed
 * by `updateKey`, and changes grouped into one change set in the audit log.
 *
 * @example
 * runKeyImportSuite('SqliteKeyStore', makeStore);
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditActor } from '../../src/store/audit-log.ts';
import type { Store } from '../../src/store/store.ts';
import { verifyAuditChain } from '../../src/store/audit-chain.ts';
import { freshStorePerTest, type MakeFreshStore } from './fresh-store.ts';
import { newKey } from './key-store-suite.ts';

const t0 = 1_700_000_000_000;
const cli: AuditActor = { actor: 'cli', address: null };
const changeSet: AuditActor = { actor: 'cli', address: null, changeSet: 'cs_test1' };

export function runKeyImportSuite(label: string, makeStore: MakeFreshStore<Store>): void {
  describe(`KeyStore import and change sets: ${label}`, () => {
    let store: Store;
    freshStorePerTest(makeStore, (fresh) => (store = fresh));

    it('importKeys creates every key with its settings, a created event and an audit entry each', async () => {
      const keys = [newKey('key_i1', { tags: ['batch', 'x'], scopes: ['orders:read'], rateLimit: '10/s', expiresAt: t0 + 1000 }), newKey('key_i2'), newKey('key_i3', { tags: ['batch'] })];
      const progress: Array<[number, number]> = [];
      const result = await store.importKeys(keys, t0 + 0.5, changeSet, (done, total) => progress.push([done, total]));
      assert.deepEqual(result, { created: 3, alreadyStored: 0 });
      assert.deepEqual(progress.at(-1), [3, 3]);
      const stored = await store.getKeyById('key_i1');
      assert.deepEqual({ ...stored }, { ...keys[0], createdAt: t0, updatedAt: t0, revokedAt: null, revokedReason: null, quarantinedAt: null, quarantinedReason: null, rotatedTo: null, lastUsedAt: null, lastUsedAddress: null });
      assert.equal((await store.getKeyByDigest(keys[1]!.digest))?.id, 'key_i2');
      assert.deepEqual((await store.listKeys({ tag: 'batch' })).map((record) => record.id), ['key_i1', 'key_i3']);
      assert.deepEqual((await store.eventsSince(0, 10)).map(({ keyId, kind, at }) => ({ keyId, kind, at })), keys.map((key) => ({ keyId: key.id, kind: 'created', at: t0 })));
      const entries = await store.auditEntriesSince(0, 10);
      assert.deepEqual(entries.map((entry) => [entry.action, entry.target]), keys.map((key) => ['key.created', key.id]));
      for (const entry of entries) assert.equal((JSON.parse(entry.details) as { changeSet?: string }).changeSet, 'cs_test1');
      assert.equal((await verifyAuditChain(store)).ok, true);
    });

    it('skips digests already stored or repeated in the batch, so a second import creates nothing', async () => {
      const existing = newKey('key_old');
      await store.createKey(existing, t0, cli);
      const repeated = newKey('key_r1');
      const batch = [newKey('key_dup', { digest: existing.digest }), repeated, newKey('key_r2', { digest: repeated.digest }), newKey('key_new')];
      assert.deepEqual(await store.importKeys(batch, t0 + 1, cli), { created: 2, alreadyStored: 2 });
      assert.equal(await store.getKeyById('key_dup'), null);
      assert.equal(await store.getKeyById('key_r2'), null);
      const seq = await store.latestEventSeq();
      assert.deepEqual(await store.importKeys(batch, t0 + 2, cli), { created: 0, alreadyStored: 4 });
      assert.equal(await store.latestEventSeq(), seq);
      assert.equal((await store.auditHead()).seq, 3);
    });

    it('writes nothing at all when one key of the batch is refused', async () => {
      await store.createKey(newKey('key_taken'), t0, cli);
      const head = await store.auditHead();
      const seq = await store.latestEventSeq();
      await assert.rejects(store.importKeys([newKey('key_fine'), newKey('key_taken')], t0 + 1, cli));
      await assert.rejects(store.importKeys([newKey('key_fine2'), newKey('key_bad', { name: 'nul\u0000' })], t0 + 1, cli), RangeError);
      assert.equal(await store.getKeyById('key_fine'), null);
      assert.equal(await store.getKeyById('key_fine2'), null);
      assert.equal(await store.latestEventSeq(), seq);
      assert.deepEqual(await store.auditHead(), head);
    });

    it('imports thousands of keys in one call, chained in order', async () => {
      const keys = Array.from({ length: 6000 }, (_, index) => newKey(`key_bulk${String(index).padStart(5, '0')}`, { tags: index % 2 === 0 ? ['even'] : [] }));
      assert.deepEqual(await store.importKeys(keys, t0, cli), { created: 6000, alreadyStored: 0 });
      assert.equal((await store.listKeys({ tag: 'even', limit: 1000 })).length, 1000);
      assert.equal(await store.latestEventSeq() > 0, true);
      const verified = await verifyAuditChain(store);
      assert.equal(verified.ok && verified.entries, 6000);
    });

    it('updateKey changes every setting apply declares, in one event and one audit entry', async () => {
      await store.createKey(newKey('key_u'), t0, cli);
      const seq = await store.latestEventSeq();
      const changes = {
        name: 'web-1',
        tags: ['frontend'],
        scopes: ['orders:read', 'orders:*'],
        allowedCidrs: ['10.0.0.0/8', '2001:db8::/32'],
        certFingerprint: 'ab'.repeat(32),
        rateLimit: '100/s burst 200',
        quota: '10000/day',
        metadata: { team: 'web', tier: 2 },
        expiresAt: t0 + 86_400_000,
      };
      const updated = await store.updateKey('key_u', changes, t0 + 1, changeSet);
      assert.deepEqual({ ...updated, updatedAt: 0 }, { ...(await store.getKeyById('key_u')), updatedAt: 0 });
      for (const [name, value] of Object.entries(changes)) assert.deepEqual((updated as unknown as Record<string, unknown>)[name], value, name);
      assert.deepEqual((await store.eventsSince(seq, 10)).map((event) => event.kind), ['updated']);
      const entry = (await store.listAuditEntries({ limit: 1 }))[0]!;
      const details = JSON.parse(entry.details) as { changes: Record<string, unknown>; changeSet: string };
      assert.deepEqual(Object.keys(details.changes).sort(), Object.keys(changes).sort());
      assert.equal(details.changeSet, 'cs_test1');
    });

    it('records the change set of creations and revocations, and none without one', async () => {
      await store.createKey(newKey('key_a', { tags: ['t'] }), t0, changeSet);
      await store.createKey(newKey('key_b', { tags: ['t'] }), t0, cli);
      await store.revokeKey('key_a', 'gone', t0 + 1, changeSet);
      await store.revokeKeysByTag('t', null, t0 + 2, changeSet);
      const sets = (await store.auditEntriesSince(0, 10)).map((entry) => [entry.action, entry.target, (JSON.parse(entry.details) as { changeSet?: string }).changeSet ?? null]);
      assert.deepEqual(sets, [
        ['key.created', 'key_a', 'cs_test1'],
        ['key.created', 'key_b', null],
        ['key.revoked', 'key_a', 'cs_test1'],
        ['key.revoked', 'key_b', 'cs_test1'],
      ]);
      assert.equal((await verifyAuditChain(store)).ok, true);
    });
  });
}
