import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeHeartbeat } from '../store/node-heartbeats.ts';
import { describeThisNode, NodeHeartbeatWriter } from './node-heartbeat.ts';

function recordingStore(options: { fail?: boolean; delay?: number } = {}) {
  const written: NodeHeartbeat[] = [];
  const pruned: number[] = [];
  const writes = { now: 0, most: 0 };
  return {
    written,
    pruned,
    writes,
    async writeNodeHeartbeat(heartbeat: NodeHeartbeat) {
      writes.most = Math.max(writes.most, ++writes.now);
      try {
        if (options.delay) await new Promise((resolve) => setTimeout(resolve, options.delay));
        if (options.fail) throw new Error('store out of reach');
        written.push(heartbeat);
      } finally {
        writes.now--;
      }
    },
    async pruneNodeHeartbeats(before: number) {
      pruned.push(before);
      return 0;
    },
  };
}

describe('NodeHeartbeatWriter', () => {
  const identity = describeThisNode(1000);

  it('names this process: a random id per start, its host, pid and version', () => {
    assert.match(identity.nodeId, /^node_[0-9a-f]{16}$/);
    assert.notEqual(describeThisNode().nodeId, identity.nodeId);
    assert.equal(identity.pid, process.pid);
    assert.match(identity.version, /^\d+\.\d+\.\d+/);
    assert.equal(identity.startedAt, 1000);
  });

  it('writes its identity, the time, its interval and its health at each beat; prunes nodes gone for an hour at the first', async () => {
    const store = recordingStore();
    let calls = 0;
    const writer = new NodeHeartbeatWriter(store, { identity, interval: 5000, health: () => ({ status: 'ok', beat: ++calls }), onError: (error) => assert.fail(String(error)) });
    const before = Date.now();
    await writer.beat();
    await writer.beat();
    assert.equal(store.written.length, 2);
    assert.deepEqual({ ...store.written[1]!, lastSeen: 0 }, { ...identity, lastSeen: 0, interval: 5000, health: { status: 'ok', beat: 2 } });
    assert.ok(store.written[0]!.lastSeen >= before && store.written[0]!.lastSeen <= Date.now());
    assert.equal(store.pruned.length, 1, 'prunes at the first beat only (then once per 60)');
    assert.ok(Math.abs(store.pruned[0]! - (before - 3_600_000)) < 1000);
  });

  it('beats on its interval once started, never two writes at once, and stops', async () => {
    const store = recordingStore({ delay: 30 });
    let state = 'starting';
    const writer = new NodeHeartbeatWriter(store, { identity, interval: 60_000, health: () => ({ state }), onError: (error) => assert.fail(String(error)) });
    const first = writer.beat();
    state = 'serving';
    const asked = [writer.beat(), writer.beat()];
    assert.ok(asked.every((promise) => promise === first), 'a beat asked for while one is written waits for that one');
    await first;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(store.written.map((beat) => beat.health), [{ state: 'starting' }, { state: 'serving' }], 'then one more follows, with the state as of then');
    store.written.length = 0;
    const ticking = new NodeHeartbeatWriter(store, { identity, interval: 20, health: () => ({}), onError: (error) => assert.fail(String(error)) });
    ticking.start();
    await new Promise((resolve) => setTimeout(resolve, 200));
    await ticking.stop();
    const count = store.written.length;
    assert.ok(count >= 3, `beats written: ${count}`);
    assert.equal(store.writes.most, 1, 'never two writes at once');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(store.written.length, count, 'no beat after stop');
  });

  it('reports a failed beat and tries again at the next', async () => {
    const errors: unknown[] = [];
    const writer = new NodeHeartbeatWriter(recordingStore({ fail: true }), { identity, interval: 5000, health: () => ({}), onError: (error) => errors.push(error) });
    await writer.beat();
    await writer.beat();
    assert.equal(errors.length, 2);
    assert.match(String(errors[0]), /out of reach/);
  });
});
