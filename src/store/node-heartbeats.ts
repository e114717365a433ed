/**
 * Gateway nodes' heartbeats: each node writes one small row about itself every
 * `health.heartbeatInterval` (from its store write thread, never on the request thread), so the
 * admin API of any node can list every node sharing the store and its health. A node that stops
 * writing keeps its row, which ages: readers judge it by `lastSeen` and its own `interval`.
 */

import { StoredValueError, storedText, storedTime } from './stored-values.ts';

/** One node's row, as it last wrote it. */
export interface NodeHeartbeat {
  /** Random per process start (`node_…`): a restarted process is a new node. */
  nodeId: string;
  hostName: string;
  pid: number;
  /** The Portcullis version it runs. */
  version: string;
  /** When the process started, ms since the epoch. */
  startedAt: number;
  /** When it wrote this row, ms since the epoch (its own clock). */
  lastSeen: number;
  /** How often it writes, ms: a row older than a few intervals belongs to a node gone missing. */
  interval: number;
  /** Its health parts as it saw them (a JSON object; the admin API's node health, without addresses or error texts). */
  health: Record<string, unknown>;
}

export interface NodeHeartbeatStore {
  /** Writes a node's row, replacing the one it wrote before. */
  writeNodeHeartbeat(heartbeat: NodeHeartbeat): Promise<void>;
  /** Every node's row, oldest start first (ties by id). */
  listNodeHeartbeats(): Promise<NodeHeartbeat[]>;
  /** Deletes the rows of nodes not seen since `before`; returns how many. */
  pruneNodeHeartbeats(before: number): Promise<number>;
}

/** A heartbeat as stored: times floored, texts without U+0000, health a JSON object (checked as both stores will hold it). */
export function storedHeartbeat(heartbeat: NodeHeartbeat): NodeHeartbeat {
  const { health } = heartbeat;
  if (typeof health !== 'object' || health === null || Array.isArray(health)) throw new StoredValueError('health must be a JSON object');
  // JSON.stringify escapes U+0000 and lone surrogates, which JSONB refuses all the same.
  if (/\\u0000|\\ud[89a-f]/i.test(JSON.stringify(health))) throw new StoredValueError('health may not hold U+0000 or lone surrogates');
  if (!Number.isSafeInteger(heartbeat.pid) || heartbeat.pid < 0 || heartbeat.pid > 2 ** 31 - 1) throw new StoredValueError(`pid must be a process id, got ${heartbeat.pid}`);
  return {
    nodeId: storedText(heartbeat.nodeId, 'nodeId'),
    hostName: storedText(heartbeat.hostName, 'hostName'),
    pid: heartbeat.pid,
    version: storedText(heartbeat.version, 'version'),
    startedAt: storedTime(heartbeat.startedAt, 'startedAt'),
    lastSeen: storedTime(heartbeat.lastSeen, 'lastSeen'),
    interval: Math.max(1, storedTime(heartbeat.interval, 'interval')),
    health,
  };
}
