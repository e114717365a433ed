import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedMap } from './bounded-map.ts';
import { KeyVerifier } from './key-verifier.ts';
import { ChangeFeedFollower } from './change-feed-follower.ts';
import type { KeyStore, NewKey } from '../store/key-store.ts';
import { CLI_ACTOR } from '../store/audit-log.ts';
import { digestKey } from '../keys/key-digest.ts';
import { keyStatus } from '../keys/key-record.ts';
import { displayPrefixOf, generateKey, generateKeyId } from '../keys/key-format.ts';
import { freshStorePerTest, temporarySqliteStore } from '../../test/support/fresh-store.ts';
import { warmKeyCache } from './key-cache-warmup.ts';

function newKey(overrides: Partial<NewKey> = {}): { key: string; row: NewKey } {
  const key = generateKey('pcl');
  return {
    key,
    row: { id: generateKeyId(), digest: digestKey(key), displayPrefix: displayPrefixOf(key), name: 'n', tags: [], scopes: [], allowedCidrs: [], certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null, ...overrides },
  };
}

describe('BoundedMap', () => {
  it('evicts the least recently used entry past its capacity', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    map.get('a');
    map.set('c', 3);
    assert.equal(map.has('b'), false);
    assert.equal(map.get('a'), 1);
    assert.equal(map.get('c'), 3);
    assert.equal(map.size, 2);
  });
  it('keeps an entry that is in use through a flood of new ones, and never grows past its capacity', () => {
    const map = new BoundedMap<string, number>(100);
    map.set('hot', 0);
    for (let index = 0; index < 10_000; index++) {
      map.set(`cold-${index}`, index);
      if (index % 50 === 0) assert.equal(map.get('hot'), 0, `hot entry evicted after ${index} inserts`);
      assert.ok(map.size <= 100);
    }
    assert.equal(map.size, 100);
    assert.equal(map.has('cold-0'), false);
    assert.equal(map.get('cold-9999'), 9999);
    assert.deepEqual([...map.values()].length, 100);
  });
  it('holds nothing at capacity 0 and refuses a negative capacity', () => {
    const map = new BoundedMap<string, number>(0);
    assert.equal(map.set('a', 1).removed, true);
    assert.equal(map.size, 0);
    assert.throws(() => new BoundedMap(-1), RangeError);
  });
  it('hands out entry handles that tell when the entry was replaced, evicted, deleted or cleared', () => {
    const map = new BoundedMap<string, number>(2);
    const a = map.set('a', 1);
    assert.deepEqual([a.value, a.removed], [1, false]);
    assert.equal(map.set('a', 2), a, 'a new value for a key keeps its entry');
    assert.equal(a.value, 2);
    a.used = true; // as a hit through the handle: spared once by the eviction scan
    const b = map.set('b', 3);
    map.set('c', 4);
    assert.deepEqual([a.removed, b.removed], [false, true], 'the unused entry was evicted');
    assert.equal(map.has('b'), false);
    map.delete('a');
    assert.equal(a.removed, true);
    const c = map.set('d', 5);
    map.clear();
    assert.equal(c.removed, true);
  });
});

describe('KeyVerifier with the change feed', () => {
  let store: KeyStore;
  freshStorePerTest(temporarySqliteStore, (fresh) => (store = fresh));

  it('serves a known key from memory after the first lookup', async () => {
    const { row } = newKey();
    await store.createKey(row, Date.now(), CLI_ACTOR);
    const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 });
    const first = await verifier.lookup(row.digest);
    assert.equal(first?.record.id, row.id);
    const second = verifier.lookup(row.digest);
    assert.ok(!(second instanceof Promise), 'a cached key is answered synchronously');
    assert.equal(second?.record.id, row.id);
    assert.deepEqual({ hits: verifier.stats.hits, misses: verifier.stats.misses }, { hits: 1, misses: 1 });
  });

  it('keeps memory bounded under a flood of random well-formed keys', async () => {
    const verifier = new KeyVerifier(store, { maxKeys: 100, maxUnknown: 50 });
    for (let index = 0; index < 2000; index++) assert.equal(await verifier.lookup(digestKey(generateKey('pcl'))), null);
    assert.equal(verifier.stats.unknownDigests, 50);
    assert.equal(verifier.stats.knownKeys, 0);
  });

  it('applies a revocation from the log to the cached record', async () => {
    const { row } = newKey();
    await store.createKey(row, Date.now(), CLI_ACTOR);
    const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 });
    const follower = new ChangeFeedFollower(store, verifier, { pollInterval: 1000 });
    await follower.start();
    assert.equal((await verifier.lookup(row.digest))?.record.revokedAt, null);
    await store.revokeKey(row.id, 'leaked', Date.now(), CLI_ACTOR);
    assert.equal(await follower.pollOnce(), 1);
    const after = verifier.lookup(row.digest);
    assert.ok(!(after instanceof Promise));
    assert.notEqual(after?.record.revokedAt, null);
    assert.equal(after?.record.revokedReason, 'leaked');
    await follower.stop();
  });

  it('applies a quarantine and its release from the log to the cached record', async () => {
    const { row } = newKey();
    await store.createKey(row, Date.now(), CLI_ACTOR);
    const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 });
    const follower = new ChangeFeedFollower(store, verifier, { pollInterval: 1000 });
    await follower.start();
    const before = await verifier.lookup(row.digest);
    assert.equal(before === null ? 'none' : keyStatus(before.record, Date.now()), 'active');
    await store.quarantineKey(row.id, 'reported by secret scanning', Date.now(), CLI_ACTOR);
    assert.equal(await follower.pollOnce(), 1);
    const held = verifier.lookup(row.digest);
    assert.ok(!(held instanceof Promise) && held !== null);
    assert.equal(keyStatus(held.record, Date.now()), 'quarantined');
    assert.equal(held.record.quarantinedReason, 'reported by secret scanning');
    assert.equal(verifier.current(before!), held, 'a remembered entry is replaced, so the memo cannot serve the old record');
    await store.releaseKey(row.id, null, Date.now(), CLI_ACTOR);
    assert.equal(await follower.pollOnce(), 1);
    const released = verifier.lookup(row.digest);
    assert.ok(!(released instanceof Promise) && released !== null);
    assert.equal(keyStatus(released.record, Date.now()), 'active');
    await follower.stop();
  });

  it('forgets a remembered-unknown digest when that key is created later', async () => {
    const { row } = newKey();
    const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 });
    const follower = new ChangeFeedFollower(store, verifier, { pollInterval: 1000 });
    await follower.start();
    assert.equal(await verifier.lookup(row.digest), null);
    await store.createKey(row, Date.now(), CLI_ACTOR);
    await follower.pollOnce();
    assert.equal((await verifier.lookup(row.digest))?.record.id, row.id);
    await follower.stop();
  });

  it('does not cache a read that a change overtook', async () => {
    const { row } = newKey();
    await store.createKey(row, Date.now(), CLI_ACTOR);
    // A store whose first read returns the pre-revocation record after the feed applied the revocation.
    let delayedOnce = false;
    const verifier: KeyVerifier = new KeyVerifier(
      new Proxy(store, {
        get(target, property) {
          if (property === 'getKeyByDigest') {
            return async (digest: string) => {
              const record = await target.getKeyByDigest(digest);
              if (!delayedOnce) {
                delayedOnce = true;
                const revoked = await target.revokeKey(row.id, 'race', Date.now(), CLI_ACTOR);
                verifier.applyChange(revoked!);
              }
              return record;
            };
          }
          const value = Reflect.get(target, property) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }),
      { maxKeys: 10, maxUnknown: 10 },
    );
    const result = await verifier.lookup(row.digest);
    assert.notEqual(result?.record.revokedAt, null, 'the stale, unrevoked read was not used');
  });

  it('catches up on every event after a burst larger than one batch', async () => {
    const verifier = new KeyVerifier(store, { maxKeys: 1000, maxUnknown: 10 });
    const follower = new ChangeFeedFollower(store, verifier, { pollInterval: 1000, batchSize: 7 });
    await follower.start();
    const rows = Array.from({ length: 30 }, () => newKey().row);
    for (const row of rows) await store.createKey(row, Date.now(), CLI_ACTOR);
    for (const row of rows) await verifier.lookup(row.digest);
    for (const row of rows) await store.revokeKey(row.id, null, Date.now(), CLI_ACTOR);
    assert.equal(await follower.pollOnce(), 60);
    assert.equal(follower.lastSeq, await store.latestEventSeq());
    for (const row of rows) assert.notEqual((verifier.lookup(row.digest) as { record: { revokedAt: number | null } }).record.revokedAt, null);
    await follower.stop();
  });

  describe('warm-up with recently used keys (cache.warmKeys)', () => {
    const noFailure = (error: unknown) => assert.fail(`the warm-up read failed: ${String(error)}`);
    /** Three used keys (the last one used most recently), one used then revoked, one never used. */
    async function usedKeys(): Promise<{ used: NewKey[]; revoked: NewKey; unused: NewKey }> {
      const used = [newKey().row, newKey().row, newKey().row];
      const revoked = newKey().row;
      const unused = newKey().row;
      const t0 = Date.now();
      for (const row of [...used, revoked, unused]) await store.createKey(row, t0, CLI_ACTOR);
      await store.recordUsage([...used, revoked].map((row, index) => ({ keyId: row.id, lastUsedAt: t0 + 1000 * (index + 1), lastUsedAddress: '192.0.2.1' })));
      await store.revokeKey(revoked.id, 'leaked', t0 + 10_000, CLI_ACTOR);
      return { used, revoked, unused };
    }

    it('reads the used, unrevoked keys, most recent first, and answers them from memory without a store read', async () => {
      const { used, revoked, unused } = await usedKeys();
      assert.deepEqual((await store.recentlyUsedKeys(10)).map((record) => record.id), [used[2]!.id, used[1]!.id, used[0]!.id]);
      assert.deepEqual((await store.recentlyUsedKeys(2)).map((record) => record.id), [used[2]!.id, used[1]!.id]);
      const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 });
      assert.deepEqual(await warmKeyCache(verifier, store, 10, noFailure).then((warmed) => warmed && { read: warmed.read, cached: warmed.cached }), { read: 3, cached: 3 });
      for (const row of used) {
        const found = verifier.lookup(row.digest);
        assert.ok(!(found instanceof Promise), 'a warmed key is answered from memory');
        assert.equal(found?.record.id, row.id);
      }
      assert.equal(verifier.stats.misses, 0);
      assert.ok(verifier.lookup(revoked.digest) instanceof Promise, 'a revoked key is not loaded');
      assert.ok(verifier.lookup(unused.digest) instanceof Promise, 'a never used key is not loaded');
    });

    it('keeps nothing it read when the feed applied a change during the read', async () => {
      const { used } = await usedKeys();
      const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 });
      const follower = new ChangeFeedFollower(store, verifier, { pollInterval: 60_000 });
      await follower.start();
      // The revocation commits and reaches this node while the warm-up's read is under way.
      const racing = {
        async recentlyUsedKeys(limit: number) {
          const records = await store.recentlyUsedKeys(limit);
          await store.revokeKey(used[2]!.id, 'leaked', Date.now(), CLI_ACTOR);
          assert.equal(await follower.pollOnce(), 1);
          return records;
        },
      };
      const warmed = await warmKeyCache(verifier, racing, 10, noFailure);
      assert.deepEqual(warmed && { read: warmed.read, cached: warmed.cached }, { read: 3, cached: 0 });
      const found = await verifier.lookup(used[2]!.digest);
      assert.notEqual(found?.record.revokedAt, null, 'the key is read again, revoked');
      await follower.stop();
    });

    it('fills free room only, never evicting or replacing what requests brought in', async () => {
      const { used } = await usedKeys();
      const verifier = new KeyVerifier(store, { maxKeys: 2, maxUnknown: 10 });
      const brought = await verifier.lookup(used[0]!.digest);
      const warmed = await warmKeyCache(verifier, store, 10, noFailure);
      assert.deepEqual(warmed && { read: warmed.read, cached: warmed.cached }, { read: 3, cached: 1 });
      assert.equal(verifier.stats.knownKeys, 2);
      assert.equal(verifier.lookup(used[0]!.digest), brought, 'the entry requests brought in is kept as it was');
      assert.ok(!(verifier.lookup(used[2]!.digest) instanceof Promise), 'the most recently used key took the free room');
      assert.ok(verifier.lookup(used[1]!.digest) instanceof Promise, 'no room was made for the rest');
    });

    it('reports a failed read and leaves the cache cold', async () => {
      const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 });
      const failures: unknown[] = [];
      const warmed = await warmKeyCache(verifier, { recentlyUsedKeys: () => Promise.reject(new Error('store down')) }, 10, (error) => failures.push(error));
      assert.equal(warmed, null);
      assert.equal((failures[0] as Error).message, 'store down');
      assert.equal(verifier.stats.knownKeys, 0);
      assert.equal(await warmKeyCache(verifier, { recentlyUsedKeys: () => Promise.reject(new Error('0 reads nothing')) }, 0, noFailure), null);
    });
  });
});
