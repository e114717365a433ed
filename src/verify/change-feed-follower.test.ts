import { CLI_ACTOR } from '../store/audit-log.ts';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { NewKey } from '../store/key-store.ts';
import type { Store } from '../store/store.ts';
import { openKeyStore } from '../store/open-key-store.ts';
import { ChangeFeedFollower } from './change-feed-follower.ts';
import { KeyVerifier } from './key-verifier.ts';
import { mintedKeyRow } from '../../test/support/key-rows.ts';
import { breakableStore, type BreakableStore } from '../../test/support/breakable-store.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';

function newKey(): NewKey {
  return mintedKeyRow().row;
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ChangeFeedFollower: reachability, staleness and catching up', () => {
  let directory: ReturnType<typeof temporaryDirectory>;
  let inner: Store;
  let breakable: BreakableStore;
  let clock: number;
  const now = () => clock;

  beforeEach(async () => {
    directory = temporaryDirectory();
    inner = await openKeyStore(join(directory.path, 'k.db'));
    breakable = breakableStore(inner);
    clock = 1_000_000;
  });
  afterEach(async () => {
    await inner.close();
    directory.remove();
  });

  it('trusts the cache for staleFor after its last complete read of the store, and not before the first', async () => {
    const verifier = new KeyVerifier(breakable.store, { maxKeys: 10, maxUnknown: 10, staleFor: 60_000 });
    assert.equal(verifier.freshUntil, Number.NEGATIVE_INFINITY, 'nothing is trusted before the feed has read the store');
    const follower = new ChangeFeedFollower(breakable.store, verifier, { pollInterval: 60_000, now });
    await follower.start();
    assert.equal(verifier.freshUntil, 1_000_000 + 60_000);
    clock += 5_000;
    await follower.pollOnce();
    assert.equal(verifier.freshUntil, 1_005_000 + 60_000);
    await follower.stop();
  });

  it('reports the store unreachable once, keeps the last contact time, and reports it back', async () => {
    const verifier = new KeyVerifier(breakable.store, { maxKeys: 10, maxUnknown: 10, staleFor: 60_000 });
    const changes: boolean[] = [];
    const follower = new ChangeFeedFollower(breakable.store, verifier, { pollInterval: 60_000, now, onReachabilityChange: (reachable) => changes.push(reachable) });
    await follower.start();
    breakable.break();
    clock += 1_000;
    await assert.rejects(follower.pollOnce());
    clock += 1_000;
    await assert.rejects(follower.pollOnce());
    assert.deepEqual(follower.state, { lastSeq: 0, reachable: false, lastContactAt: 1_000_000 });
    assert.equal(verifier.freshUntil, 1_060_000, 'failed polls do not extend trust');
    assert.equal(verifier.storeReachable, false, 'the verifier is told, so remembered unknowns get 503');
    breakable.repair();
    await follower.pollOnce();
    assert.deepEqual(changes, [false, true]);
    assert.deepEqual(follower.state, { lastSeq: 0, reachable: true, lastContactAt: 1_002_000 });
    assert.equal(verifier.storeReachable, true);
    await follower.stop();
  });

  it('catches up on every change made during an outage from its own position', async () => {
    const verifier = new KeyVerifier(breakable.store, { maxKeys: 10, maxUnknown: 10 });
    const follower = new ChangeFeedFollower(breakable.store, verifier, { pollInterval: 60_000 });
    const keys = [newKey(), newKey(), newKey()];
    for (const key of keys) await inner.createKey(key, 1, CLI_ACTOR);
    await follower.start();
    for (const key of keys) assert.equal((await verifier.lookup(key.digest))?.record.revokedAt, null);
    breakable.break();
    await assert.rejects(follower.pollOnce());
    for (const key of keys) await inner.revokeKey(key.id, 'during the outage', 2, CLI_ACTOR);
    breakable.repair();
    assert.equal(await follower.pollOnce(), 3);
    for (const key of keys) {
      const cached = verifier.lookup(key.digest);
      assert.ok(!(cached instanceof Promise));
      assert.equal(cached?.record.revokedReason, 'during the outage');
    }
    await follower.stop();
  });

  it('drops the caches when the log comes back shorter than its position (a restored database)', async () => {
    const verifier = new KeyVerifier(breakable.store, { maxKeys: 10, maxUnknown: 10 });
    const resets: Array<[number, number]> = [];
    const follower = new ChangeFeedFollower(breakable.store, verifier, { pollInterval: 60_000, onLogReset: (from, to) => resets.push([from, to]) });
    const key = newKey();
    await inner.createKey(newKey(), 1, CLI_ACTOR);
    await inner.createKey(key, 1, CLI_ACTOR);
    await follower.start();
    assert.equal(follower.lastSeq, 2);
    await verifier.lookup(key.digest);
    assert.equal(verifier.stats.knownKeys, 1);

    breakable.break();
    await assert.rejects(follower.pollOnce());
    const restored = await openKeyStore(join(directory.path, 'restored.db'));
    try {
      await restored.createKey(key, 1, CLI_ACTOR);
      breakable.replaceWith(restored);
      breakable.repair();
      await follower.pollOnce();
      assert.deepEqual(resets, [[2, 1]]);
      assert.equal(follower.lastSeq, 1);
      assert.equal(verifier.stats.knownKeys, 0, 'nothing cached from the old database is trusted');
      await restored.revokeKey(key.id, 'after the restore', 2, CLI_ACTOR);
      assert.equal(await follower.pollOnce(), 1, 'events of the restored log are followed from its end');
    } finally {
      await follower.stop();
      await restored.close();
    }
  });

  it('polls at once when woken, instead of at the next tick', async () => {
    const verifier = new KeyVerifier(breakable.store, { maxKeys: 10, maxUnknown: 10 });
    const key = newKey();
    await inner.createKey(key, 1, CLI_ACTOR);
    const follower = new ChangeFeedFollower(breakable.store, verifier, { pollInterval: 60_000 });
    await follower.start();
    await verifier.lookup(key.digest);
    await inner.revokeKey(key.id, 'woken', 2, CLI_ACTOR);
    follower.wake();
    follower.wake(); // a second wake-up while polling is folded into one more poll
    for (let i = 0; i < 100 && follower.lastSeq < 2; i++) await delay(5);
    assert.equal(follower.lastSeq, 2);
    assert.notEqual((verifier.lookup(key.digest) as { record: { revokedAt: number | null } }).record.revokedAt, null);
    await follower.stop();
  });
});
