/**
 * A hung store (a stopped database, a network that drops packets) refuses nothing: a query just
 * never answers until its own timeout. The change feed's poll is the store probe: one that has
 * not completed within `probeTimeout` marks the store unreachable at once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openKeyStore } from '../store/open-key-store.ts';
import type { Store } from '../store/store.ts';
import { temporaryDirectory } from '../../test/support/processes.ts';
import { ChangeFeedFollower } from './change-feed-follower.ts';
import { KeyVerifier } from './key-verifier.ts';

/** Wraps a store so that, while hung, every read waits until `resume()`. */
function hangableStore(inner: Store): { store: Store; hang(): void; resume(): void } {
  let hung = false;
  let waiting: Array<() => void> = [];
  const store = new Proxy(inner, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        if (hung && property !== 'close') await new Promise<void>((resolve) => waiting.push(resolve));
        return (value as (...parameters: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    store,
    hang: () => (hung = true),
    resume: () => {
      hung = false;
      waiting.splice(0).forEach((resolve) => resolve());
      waiting = [];
    },
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('ChangeFeedFollower: a store that hangs', () => {
  let directory: ReturnType<typeof temporaryDirectory>;
  let inner: Store;

  beforeEach(async () => {
    directory = temporaryDirectory();
    inner = await openKeyStore(join(directory.path, 'k.db'));
  });
  afterEach(async () => {
    await inner.close();
    directory.remove();
  });

  it('is marked unreachable once a poll has run for probeTimeout, and reachable when the poll completes', async () => {
    const hangable = hangableStore(inner);
    const verifier = new KeyVerifier(hangable.store, { maxKeys: 10, maxUnknown: 10, staleFor: 60_000 });
    const changes: Array<{ reachable: boolean; code: unknown; at: number }> = [];
    const follower = new ChangeFeedFollower(hangable.store, verifier, {
      pollInterval: 20,
      probeTimeout: 300,
      onReachabilityChange: (reachable, error) => changes.push({ reachable, code: (error as { code?: unknown } | null)?.code, at: performance.now() }),
    });
    await follower.start();
    await delay(60);
    assert.equal(follower.state.reachable, true);
    const hungAt = performance.now();
    hangable.hang();
    while (follower.state.reachable && performance.now() - hungAt < 3000) await delay(10);
    assert.equal(follower.state.reachable, false, 'a hung poll marks the store unreachable');
    const seenAfter = changes[0]!.at - hungAt;
    assert.ok(seenAfter >= 250 && seenAfter < 300 + 20 + 100 + 150, `seen ${Math.round(seenAfter)} ms after the store hung: probeTimeout, plus at most a poll interval and a watchdog tick`);
    assert.equal(changes[0]!.code, 'POLL_TIMEOUT');
    assert.equal(verifier.storeReachable, false, 'the verifier is told too: remembered unknown keys get 503');
    hangable.resume();
    while (!follower.state.reachable && performance.now() - hungAt < 5000) await delay(10);
    assert.deepEqual(changes.map((change) => change.reachable), [false, true]);
    await follower.stop();
  });
});
