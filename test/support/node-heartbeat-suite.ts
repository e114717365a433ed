/**
 * The behaviour every store's node heartbeats must have, run unchanged against SQLite and
 * PostgreSQL. Only the `NodeHeartbeatStore` interface is used.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeHeartbeat, NodeHeartbeatStore } from '../../src/store/node-heartbeats.ts';
import { StoredValueError } from '../../src/store/stored-values.ts';
import { freshStorePerTest, type MakeFreshStore } from './fresh-store.ts';

const T0 = Date.parse('2026-03-01T10:00:00Z');

function beat(nodeId: string, overrides: Partial<NodeHeartbeat> = {}): NodeHeartbeat {
  return {
    nodeId, hostName: 'gw-1.example', pid: 4242, version: '1.2.3', startedAt: T0, lastSeen: T0 + 1000, interval: 5000,
    health: { status: 'ok', ready: true, parts: { store: 'ok', changeFeed: 'ok', redis: 'not-used' }, changeFeed: { position: 7, lagSeconds: 0.02 } },
    ...overrides,
  };
}

export function runNodeHeartbeatSuite(label: string, makeStore: MakeFreshStore<NodeHeartbeatStore & { migrate(): Promise<void> }>): void {
  describe(`NodeHeartbeatStore: ${label}`, () => {
    let store: NodeHeartbeatStore;
    freshStorePerTest(makeStore, (fresh) => (store = fresh));

    it('starts with no nodes, and reads back each node\'s row as written (health as a JSON object)', async () => {
      assert.deepEqual(await store.listNodeHeartbeats(), []);
      await store.writeNodeHeartbeat(beat('node_a'));
      assert.deepEqual(await store.listNodeHeartbeats(), [beat('node_a')]);
    });

    it('replaces a node\'s row at each beat, and lists every node oldest start first', async () => {
      await store.writeNodeHeartbeat(beat('node_b', { startedAt: T0 + 50, lastSeen: T0 + 60 }));
      await store.writeNodeHeartbeat(beat('node_a'));
      await store.writeNodeHeartbeat(beat('node_a', { lastSeen: T0 + 6000, pid: 17, health: { status: 'degraded', reasons: ['Redis unreachable'] } }));
      const nodes = await store.listNodeHeartbeats();
      assert.deepEqual(nodes.map((node) => [node.nodeId, node.lastSeen]), [['node_a', T0 + 6000], ['node_b', T0 + 60]]);
      assert.equal(nodes[0]!.pid, 17);
      assert.deepEqual(nodes[0]!.health, { status: 'degraded', reasons: ['Redis unreachable'] });
    });

    it('prunes the rows of nodes not seen since a time, and only those', async () => {
      await store.writeNodeHeartbeat(beat('node_gone', { lastSeen: T0 }));
      await store.writeNodeHeartbeat(beat('node_edge', { lastSeen: T0 + 10_000 }));
      await store.writeNodeHeartbeat(beat('node_live', { lastSeen: T0 + 20_000 }));
      assert.equal(await store.pruneNodeHeartbeats(T0 + 10_000), 1);
      assert.deepEqual((await store.listNodeHeartbeats()).map((node) => node.nodeId).sort(), ['node_edge', 'node_live']);
      assert.equal(await store.pruneNodeHeartbeats(T0 + 10_000), 0);
    });

    it('floors times to the millisecond and refuses what a store could not hold alike', async () => {
      await store.writeNodeHeartbeat(beat('node_a', { lastSeen: T0 + 1000.9 }));
      assert.equal((await store.listNodeHeartbeats())[0]!.lastSeen, T0 + 1000);
      await assert.rejects(store.writeNodeHeartbeat(beat('node_\u0000')), StoredValueError);
      await assert.rejects(store.writeNodeHeartbeat(beat('node_b', { health: { note: 'a\u0000b' } })), StoredValueError);
      await assert.rejects(store.writeNodeHeartbeat(beat('node_b', { health: [] as unknown as Record<string, unknown> })), StoredValueError);
      assert.deepEqual((await store.listNodeHeartbeats()).map((node) => node.nodeId), ['node_a']);
    });
  });
}
