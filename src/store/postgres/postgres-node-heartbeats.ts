import type pg from 'pg';
import type { NodeHeartbeat, NodeHeartbeatStore } from '../node-heartbeats.ts';
import { storedHeartbeat } from '../node-heartbeats.ts';
import { storedTime } from '../stored-values.ts';

const postgresNodeHeartbeatSql = {
  upsert: `INSERT INTO node_heartbeats (node_id, host_name, pid, version, started_at, last_seen, interval_ms, health)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
    ON CONFLICT (node_id) DO UPDATE SET host_name = excluded.host_name, pid = excluded.pid, version = excluded.version,
      started_at = excluded.started_at, last_seen = excluded.last_seen, interval_ms = excluded.interval_ms, health = excluded.health`,
  list: `SELECT node_id AS "nodeId", host_name AS "hostName", pid, version, started_at AS "startedAt", last_seen AS "lastSeen",
      interval_ms AS interval, health FROM node_heartbeats ORDER BY started_at, node_id`,
  prune: 'DELETE FROM node_heartbeats WHERE last_seen < $1',
} as const;

/** Nodes' heartbeats in PostgreSQL: one row per node, replaced at each beat (one statement, no transaction). */
export class PostgresNodeHeartbeats implements NodeHeartbeatStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async writeNodeHeartbeat(given: NodeHeartbeat): Promise<void> {
    const beat = storedHeartbeat(given);
    await this.#pool.query({
      name: 'portcullis_nodes_upsert',
      text: postgresNodeHeartbeatSql.upsert,
      values: [beat.nodeId, beat.hostName, beat.pid, beat.version, beat.startedAt, beat.lastSeen, beat.interval, JSON.stringify(beat.health)],
    });
  }

  async listNodeHeartbeats(): Promise<NodeHeartbeat[]> {
    return (await this.#pool.query<NodeHeartbeat>({ name: 'portcullis_nodes_list', text: postgresNodeHeartbeatSql.list })).rows;
  }

  async pruneNodeHeartbeats(before: number): Promise<number> {
    return (await this.#pool.query({ name: 'portcullis_nodes_prune', text: postgresNodeHeartbeatSql.prune, values: [storedTime(before, 'before')] })).rowCount ?? 0;
  }
}
