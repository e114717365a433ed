import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeHeartbeat } from '../store/node-heartbeats.ts';
import { listNodes } from './node-health.ts';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const self = { identity: { nodeId: 'node_self', hostName: 'gw-a', pid: 10, version: '1.0.0', startedAt: NOW - 60_000 }, health: () => ({ status: 'ok' }) };

function row(nodeId: string, lastSeen: number, interval: number): NodeHeartbeat {
  return { nodeId, hostName: `host-of-${nodeId}`, pid: 20, version: '1.0.0', startedAt: NOW - 3_600_000, lastSeen, interval, health: { status: 'degraded' } };
}

describe('listNodes', () => {
  it('lists this node first with its live health, then the others from their rows', async () => {
    const store = { listNodeHeartbeats: async () => [row('node_self', NOW - 999_999, 5000), row('node_b', NOW - 1000, 5000)] };
    const nodes = await listNodes(store, self, NOW);
    assert.deepEqual(nodes.map((node) => [node.id, node.self, node.state, node.health]), [
      ['node_self', true, 'live', { status: 'ok' }],
      ['node_b', false, 'live', { status: 'degraded' }],
    ]);
    assert.equal(nodes[0]!.lastSeen, new Date(NOW).toISOString());
    assert.equal(nodes[1]!.lastSeen, new Date(NOW - 1000).toISOString());
    assert.equal(nodes[1]!.hostName, 'host-of-node_b');
  });

  it('judges each node missing by its own interval: after 3 of them without a beat', async () => {
    const store = {
      listNodeHeartbeats: async () => [
        row('node_fast_edge', NOW - 3000, 1000),
        row('node_fast_gone', NOW - 3001, 1000),
        row('node_slow', NOW - 20_000, 10_000),
      ],
    };
    const states = Object.fromEntries((await listNodes(store, self, NOW)).map((node) => [node.id, node.state]));
    assert.deepEqual(states, { node_self: 'live', node_fast_edge: 'live', node_fast_gone: 'missing', node_slow: 'live' });
  });

  it('lists this node even before its first row is written', async () => {
    assert.deepEqual((await listNodes({ listNodeHeartbeats: async () => [] }, self, NOW)).map((node) => node.id), ['node_self']);
  });
});
