import type Database from 'better-sqlite3';
import type { NodeHeartbeat, NodeHeartbeatStore } from '../node-heartbeats.ts';
import { storedHeartbeat } from '../node-heartbeats.ts';
import { storedTime } from '../stored-values.ts';

const sqliteNodeHeartbeatSql = {
  upsert: `INSERT INTO node_heartbeats (node_id, host_name, pid, version, started_at, last_seen, interval_ms, health)
    VALUES (@nodeId, @hostName, @pid, @version, @startedAt, @lastSeen, @interval, @health)
    ON CONFLICT (node_id) DO UPDATE SET host_name = excluded.host_name, pid = excluded.pid, version = excluded.version,
      started_at = excluded.started_at, last_seen = excluded.last_seen, interval_ms = excluded.interval_ms, health = excluded.health`,
  list: `SELECT node_id AS nodeId, host_name AS hostName, pid, version, started_at AS startedAt, last_seen AS lastSeen,
      interval_ms AS interval, health FROM node_heartbeats ORDER BY started_at, node_id`,
  prune: 'DELETE FROM node_heartbeats WHERE last_seen < ?',
} as const;

type HeartbeatRow = Omit<NodeHeartbeat, 'health'> & { health: string };

/** Nodes' heartbeats in SQLite: one row per node, replaced at each beat. */
export class SqliteNodeHeartbeats implements NodeHeartbeatStore {
  readonly #statements;

  constructor(db: Database.Database) {
    const sql = sqliteNodeHeartbeatSql;
    this.#statements = {
      upsert: db.prepare<Omit<NodeHeartbeat, 'health'> & { health: string }>(sql.upsert),
      list: db.prepare<[], HeartbeatRow>(sql.list),
      prune: db.prepare<[number]>(sql.prune),
    };
  }

  async writeNodeHeartbeat(given: NodeHeartbeat): Promise<void> {
    const heartbeat = storedHeartbeat(given);
    this.#statements.upsert.run({ ...heartbeat, health: JSON.stringify(heartbeat.health) });
  }

  async listNodeHeartbeats(): Promise<NodeHeartbeat[]> {
    return this.#statements.list.all().map((row) => ({ ...row, health: JSON.parse(row.health) as Record<string, unknown> }));
  }

  async pruneNodeHeartbeats(before: number): Promise<number> {
    return this.#statements.prune.run(storedTime(before, 'before')).changes;
  }
}
