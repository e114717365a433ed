/**
 * The change feed thread (change-feed-thread.ts): the follower's reads of a SQLite store, and
 * the key cache's reads on a miss, on a worker thread with a read-only connection of its own.
 * Changes arrive through it in order; the misses of one turn go in one message; a thread that
 * dies or hangs makes the feed unreachable and fails its key reads (fail closed) and is
 * replaced; a log that went back (a restore in place) still drops the caches; shutdown ends
 * the thread.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { CLI_ACTOR } from '../audit-log.ts';
import { changeFeedReadsOf } from '../change-feed-reads.ts';
import type { NewKey } from '../key-store.ts';
import { openKeyStore } from '../open-key-store.ts';
import { backupSqliteStore, restoreSqliteStore } from '../sqlite/sqlite-backup.ts';
import type { Store } from '../store.ts';
import { ChangeFeedFollower } from '../../verify/change-feed-follower.ts';
import { KeyVerifier } from '../../verify/key-verifier.ts';
import { mintedKeyRow } from '../../../test/support/key-rows.ts';
import { digestKey } from '../../keys/key-digest.ts';
import { generateKey } from '../../keys/key-format.ts';
import { temporaryDirectory } from '../../../test/support/processes.ts';
import { ChangeFeedThread } from './change-feed-thread.ts';

const FAULTY_WORKER = new URL('../../../test/support/faulty-change-feed-worker.ts', import.meta.url);
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function newKey(): NewKey {
  return mintedKeyRow().row;
}

function noCrash(error: Error): void {
  assert.fail(`the thread stopped: ${error.stack}`);
}

async function eventually(condition: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await condition())) {
    if (performance.now() > deadline) assert.fail(`not within ${ms} ms: ${what}`);
    await delay(10);
  }
}

describe('ChangeFeedThread', () => {
  let directory: ReturnType<typeof temporaryDirectory>;
  let path: string;
  let store: Store;
  let thread: ChangeFeedThread | undefined;

  beforeEach(async () => {
    directory = temporaryDirectory();
    path = join(directory.path, 'keys.db');
    store = await openKeyStore(path);
  });
  afterEach(async () => {
    await thread?.close();
    thread = undefined;
    await store.close();
    directory.remove();
  });

  it('reads what the store itself reads: the events in order and the records they name', async () => {
    const [first, second] = [newKey(), newKey()];
    await store.createKey(first, 1, CLI_ACTOR);
    await store.createKey(second, 2, CLI_ACTOR);
    await store.revokeKey(first.id, 'gone', 3, CLI_ACTOR);
    thread = new ChangeFeedThread(path, { onCrash: noCrash });
    assert.equal(await thread.latestEventSeq(), 3);
    const read = await thread.changesSince(0, 500);
    assert.deepEqual(read, await changeFeedReadsOf(store).changesSince(0, 500));
    assert.deepEqual(read.events.map((event) => [event.seq, event.kind]), [[1, 'created'], [2, 'created'], [3, 'revoked']]);
    assert.deepEqual(read.records.map((record) => [record.id, record.revokedReason]), [[first.id, 'gone'], [second.id, null]]);
    assert.deepEqual((await thread.changesSince(1, 1)).events.map((event) => event.seq), [2], 'from a position, at most the limit');
    assert.deepEqual(await thread.changesSince(3, 500), { events: [], records: [] });
  });

  it('reads the most recently used keys as the store does (the key cache warm-up)', async () => {
    const [older, newer, revoked] = [newKey(), newKey(), newKey()];
    for (const key of [older, newer, revoked]) await store.createKey(key, 1, CLI_ACTOR);
    await store.recordUsage([{ keyId: older.id, lastUsedAt: 10, lastUsedAddress: '192.0.2.1' }, { keyId: newer.id, lastUsedAt: 20, lastUsedAddress: '192.0.2.2' }, { keyId: revoked.id, lastUsedAt: 30, lastUsedAddress: '192.0.2.3' }]);
    await store.revokeKey(revoked.id, null, 2, CLI_ACTOR);
    thread = new ChangeFeedThread(path, { onCrash: noCrash });
    const read = await thread.recentlyUsedKeys(10);
    assert.deepEqual(read, await store.recentlyUsedKeys(10));
    assert.deepEqual(read.map((record) => record.id), [newer.id, older.id]);
  });

  it('reads key records as the store does: by digest, by id and by client certificate', async () => {
    const bound = { ...newKey(), certFingerprint: 'ab'.repeat(32) };
    const plain = newKey();
    await store.createKey(bound, 1, CLI_ACTOR);
    await store.createKey(plain, 2, CLI_ACTOR);
    await store.revokeKey(plain.id, 'revoked before the read', 3, CLI_ACTOR);
    thread = new ChangeFeedThread(path, { onCrash: noCrash });
    assert.deepEqual(await thread.getKeyByDigest(bound.digest), await store.getKeyByDigest(bound.digest));
    assert.equal((await thread.getKeyByDigest(plain.digest))?.revokedReason, 'revoked before the read', 'the record as it is now');
    assert.equal(await thread.getKeyByDigest(digestKey(generateKey('pcl'))), null, 'no key has this digest');
    assert.deepEqual(await thread.getKeyById(plain.id), await store.getKeyById(plain.id));
    assert.equal(await thread.getKeyById('key_unknown'), null);
    assert.deepEqual((await thread.getKeysByCertFingerprint(bound.certFingerprint)).map((record) => record.id), [bound.id]);
    assert.deepEqual(await thread.getKeysByCertFingerprint('cd'.repeat(32)), []);
  });

  it('sends the key cache\'s misses of one turn in one message, and answers each its own record', async () => {
    const keys = [newKey(), newKey(), newKey()];
    for (const key of keys) await store.createKey(key, 1, CLI_ACTOR);
    thread = new ChangeFeedThread(path, { onCrash: noCrash, script: FAULTY_WORKER });
    assert.equal(await thread.latestEventSeq(), 3, 'the thread is up');
    writeFileSync(`${path}.log`, '');
    const unknown = digestKey(generateKey('pcl'));
    // Asked in one turn, in an order unlike the store's, one of them twice and one unknown.
    const asked = [keys[2]!.digest, unknown, keys[0]!.digest, keys[2]!.digest, keys[1]!.digest];
    const answers = await Promise.all(asked.map((digest) => thread!.getKeyByDigest(digest)));
    assert.deepEqual(answers.map((record) => record?.id ?? null), [keys[2]!.id, null, keys[0]!.id, keys[2]!.id, keys[1]!.id]);
    assert.equal(readFileSync(`${path}.log`, 'utf8'), 'getKeysByDigest 5\n', 'one message for the five');
    // Asked in separate turns: a message each.
    await thread.getKeyByDigest(keys[0]!.digest);
    await thread.getKeyByDigest(keys[1]!.digest);
    assert.equal(readFileSync(`${path}.log`, 'utf8'), 'getKeysByDigest 5\ngetKeysByDigest 1\ngetKeysByDigest 1\n');
  });

  it('fails every lookup of a batch whose answer is short or names another digest, never using it', async () => {
    const [first, second] = [newKey(), newKey()];
    for (const key of [first, second]) await store.createKey(key, 1, CLI_ACTOR);
    thread = new ChangeFeedThread(path, { onCrash: noCrash, script: FAULTY_WORKER });
    const verifier = new KeyVerifier(thread, { maxKeys: 10, maxUnknown: 10 });
    for (const [fault, message] of [['reverse', /another digest's record/], ['truncate', /answered 1 of 2 key lookups/]] as const) {
      writeFileSync(`${path}.${fault}`, '');
      try {
        const reads = [verifier.lookup(first.digest), verifier.lookup(second.digest)];
        for (const read of reads) await assert.rejects(Promise.resolve(read), message, fault);
      } finally {
        rmSync(`${path}.${fault}`);
      }
    }
    assert.equal(verifier.stats.knownKeys, 0, 'nothing cached from a wrong answer');
    const [a, b] = await Promise.all([verifier.lookup(first.digest), verifier.lookup(second.digest)]);
    assert.deepEqual([a?.record.id, b?.record.id], [first.id, second.id], 'a right answer is used');
  });

  it('a key read while the thread is down fails (the key check answers 503), never "no such key"', async () => {
    const key = newKey();
    await store.createKey(key, 1, CLI_ACTOR);
    const crashes: Error[] = [];
    thread = new ChangeFeedThread(path, { onCrash: (error) => crashes.push(error), script: FAULTY_WORKER });
    const verifier = new KeyVerifier(thread, { maxKeys: 10, maxUnknown: 10 });
    writeFileSync(`${path}.crash`, '');
    try {
      const unknown = digestKey(generateKey('pcl'));
      const reads = [verifier.lookup(key.digest), verifier.lookup(unknown)];
      for (const read of reads) await assert.rejects(Promise.resolve(read), /stopped before answering|restarting/);
      assert.equal(crashes.length, 1);
      await assert.rejects(Promise.resolve(verifier.lookup(unknown)), /restarting|stopped before answering/, 'while it restarts');
      assert.deepEqual(verifier.stats, { hits: 0, misses: 3, knownKeys: 0, unknownDigests: 0 }, 'a failed read caches nothing, not even "unknown"');
    } finally {
      rmSync(`${path}.crash`);
    }
    await eventually(async () => (await Promise.resolve(verifier.lookup(key.digest)).catch(() => null)) !== null, 5000, 'a restarted thread reads the key');
    assert.equal(verifier.stats.knownKeys, 1);
  });

  it('carries changes to a follower, which applies them on this thread', async () => {
    const key = newKey();
    await store.createKey(key, 1, CLI_ACTOR);
    thread = new ChangeFeedThread(path, { onCrash: noCrash });
    const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10, staleFor: 60_000 });
    const follower = new ChangeFeedFollower(thread, verifier, { pollInterval: 20 });
    const heard: number[] = [];
    follower.subscribe((events) => heard.push(...events.map((event) => event.seq)));
    try {
      await follower.start();
      assert.equal(follower.lastSeq, 1);
      assert.ok(verifier.freshUntil > Date.now(), 'a read through the thread counts as contact');
      assert.equal((await verifier.lookup(key.digest))?.record.revokedAt, null);
      await store.revokeKey(key.id, 'through the thread', 2, CLI_ACTOR);
      const other = newKey();
      await store.createKey(other, 3, CLI_ACTOR);
      await eventually(() => follower.lastSeq === 3, 3000, 'the follower reached seq 3');
      assert.deepEqual(heard, [2, 3], 'events arrive once each, in order');
      const cached = verifier.lookup(key.digest);
      assert.ok(!(cached instanceof Promise), 'the change was applied to the cache');
      assert.equal(cached?.record.revokedReason, 'through the thread');
    } finally {
      await follower.stop();
    }
  });

  it('a thread that dies makes the feed unreachable (fail closed), is reported and restarted, and the feed catches up', async () => {
    const key = newKey();
    await store.createKey(key, 1, CLI_ACTOR);
    const crashes: Error[] = [];
    thread = new ChangeFeedThread(path, { onCrash: (error) => crashes.push(error), script: FAULTY_WORKER });
    let clock = 1_000_000;
    const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10, staleFor: 60_000 });
    const follower = new ChangeFeedFollower(thread, verifier, { pollInterval: 3_600_000, now: () => clock });
    await follower.start();
    await verifier.lookup(key.digest);
    writeFileSync(`${path}.crash`, '');
    clock += 1000;
    await assert.rejects(follower.pollOnce(), /stopped before answering/);
    assert.equal(crashes.length, 1);
    assert.match(crashes[0]!.message, /crashed on purpose/);
    assert.equal(follower.state.reachable, false);
    assert.equal(verifier.storeReachable, false, 'unknown keys get 503');
    assert.equal(verifier.freshUntil, 1_000_000 + 60_000, 'a read that did not reach the store extends no trust');
    clock += 1000;
    await assert.rejects(follower.pollOnce(), 'while it restarts, or dies again, polls still fail');
    assert.equal(verifier.freshUntil, 1_060_000);
    await store.revokeKey(key.id, 'while the thread was down', 2, CLI_ACTOR);
    rmSync(`${path}.crash`);
    clock += 1000;
    await eventually(() => follower.pollOnce().then(() => true, () => false), 5000, 'a restarted thread answers');
    assert.equal(follower.state.reachable, true);
    assert.equal(verifier.freshUntil, clock + 60_000);
    assert.equal(follower.lastSeq, 2);
    const cached = verifier.lookup(key.digest);
    assert.ok(!(cached instanceof Promise));
    assert.equal(cached?.record.revokedReason, 'while the thread was down');
    await follower.stop();
  });

  it('a thread that hangs: the feed is unreachable after probeTimeout, the thread is replaced after stallTimeout, and polling goes on', async () => {
    const crashes: Error[] = [];
    thread = new ChangeFeedThread(path, { onCrash: (error) => crashes.push(error), script: FAULTY_WORKER, stallTimeout: 1000 });
    const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10, staleFor: 60_000 });
    const reachability: boolean[] = [];
    const follower = new ChangeFeedFollower(thread, verifier, { pollInterval: 20, probeTimeout: 200, retryInterval: 20, onReachabilityChange: (reachable) => reachability.push(reachable) });
    try {
      await follower.start();
      writeFileSync(`${path}.hang`, '');
      const hungAt = performance.now();
      await eventually(() => !follower.state.reachable, 2000, 'a hung read marks the store unreachable');
      assert.ok(performance.now() - hungAt < 1000, 'by the follower\'s probe, before the thread is replaced');
      assert.equal(verifier.storeReachable, false);
      await eventually(() => crashes.length > 0, 3000, 'the stuck thread is reported');
      assert.match(crashes[0]!.message, /did not answer \w+ within 1000 ms/);
      rmSync(`${path}.hang`);
      await eventually(() => follower.state.reachable, 5000, 'a new thread answers and the feed is reachable again');
      await store.createKey(newKey(), 5, CLI_ACTOR);
      await eventually(() => follower.lastSeq === 1, 3000, 'changes flow again');
      assert.deepEqual(reachability, [false, true]);
    } finally {
      rmSync(`${path}.hang`, { force: true });
      await follower.stop();
    }
  });

  it('a log restored in place behind the follower\'s position still drops the caches', async () => {
    const key = newKey();
    await store.createKey(key, 1, CLI_ACTOR);
    const backup = join(directory.path, 'backup.db');
    await backupSqliteStore(path, backup);
    await store.createKey(newKey(), 2, CLI_ACTOR);
    await store.createKey(newKey(), 3, CLI_ACTOR);
    thread = new ChangeFeedThread(path, { onCrash: noCrash });
    const verifier = new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 });
    const resets: Array<[number, number]> = [];
    const follower = new ChangeFeedFollower(thread, verifier, { pollInterval: 3_600_000, onLogReset: (from, to) => resets.push([from, to]) });
    await follower.start();
    assert.equal(follower.lastSeq, 3);
    await verifier.lookup(key.digest);
    assert.equal(verifier.stats.knownKeys, 1);
    await restoreSqliteStore(backup, path, { force: true });
    await follower.pollOnce();
    assert.deepEqual(resets, [[3, 1]]);
    assert.equal(verifier.stats.knownKeys, 0, 'nothing cached from the replaced log is trusted');
    await follower.stop();
  });

  it('fails reads while the store file is missing, and reads once it is there', async () => {
    const later = join(directory.path, 'later.db');
    thread = new ChangeFeedThread(later, { onCrash: noCrash });
    await assert.rejects(thread.latestEventSeq(), /unable to open|does not exist|no such file/i);
    const made = await openKeyStore(later);
    try {
      await made.createKey(newKey(), 1, CLI_ACTOR);
      assert.equal(await thread.latestEventSeq(), 1);
    } finally {
      await made.close();
    }
  });

  it('is closed by close: reads fail after it, and it never holds the process open', async () => {
    thread = new ChangeFeedThread(path, { onCrash: noCrash });
    assert.equal(await thread.latestEventSeq(), 0);
    await thread.close();
    await assert.rejects(thread.latestEventSeq(), /closed/);
  });
});

describe('ChangeFeedThread: process exit', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  /** Runs `body` in a fresh process with a follower reading through the thread; returns how it ended. */
  function runChild(body: string): { status: number | null; signal: string | null; stderr: string; ms: number } {
    const here = new URL('.', import.meta.url);
    const script = `
      import { openKeyStore } from ${JSON.stringify(new URL('../open-key-store.ts', here).href)};
      import { ChangeFeedThread } from ${JSON.stringify(new URL('./change-feed-thread.ts', here).href)};
      import { ChangeFeedFollower } from ${JSON.stringify(new URL('../../verify/change-feed-follower.ts', here).href)};
      import { KeyVerifier } from ${JSON.stringify(new URL('../../verify/key-verifier.ts', here).href)};
      const path = ${JSON.stringify(join(directory.path, `exit-${Math.random().toString(36).slice(2)}.db`))};
      const store = await openKeyStore(path);
      const thread = new ChangeFeedThread(path, { onCrash: (error) => { console.error(error); process.exitCode = 3; } });
      const follower = new ChangeFeedFollower(thread, new KeyVerifier(store, { maxKeys: 10, maxUnknown: 10 }), { pollInterval: 5 });
      await follower.start();
      await new Promise((resolve) => setTimeout(resolve, 200));
      ${body}
      await store.close();
    `;
    // A file, not --eval: the worker would inherit an --input-type flag and refuse to start.
    const file = join(directory.path, `child-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(file, script);
    const startedAt = performance.now();
    const child = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 15_000 });
    return { status: child.status, signal: child.signal, stderr: child.stderr, ms: performance.now() - startedAt };
  }

  it('ends cleanly on shutdown: the follower stops, the thread closes, the process exits by itself', () => {
    const ended = runChild('await follower.stop(); await thread.close();');
    assert.deepEqual([ended.status, ended.signal], [0, null], ended.stderr);
    assert.ok(ended.ms < 10_000, `exited after ${Math.round(ended.ms)} ms`);
  });

  it('does not keep a process alive that forgot to close it (an idle thread is not waited for)', () => {
    const ended = runChild('await follower.stop();');
    assert.deepEqual([ended.status, ended.signal], [0, null], ended.stderr);
    assert.ok(ended.ms < 10_000, `exited after ${Math.round(ended.ms)} ms`);
  });
});
