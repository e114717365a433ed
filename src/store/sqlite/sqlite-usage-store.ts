import type Database from 'better-sqlite3';
import type { UsageAddress, UsageMinute, UsagePoint, UsageStore, UsageTotal } from '../usage-store.ts';

/** Every statement of the usage tables, compiled once. Exported for the query-plan test. */
export const sqliteUsageSql = {
  upsertMinute: `INSERT INTO usage_minutes (key_id, minute, requests, bytes_in, bytes_out) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (key_id, minute) DO UPDATE SET requests = requests + excluded.requests,
      bytes_in = bytes_in + excluded.bytes_in, bytes_out = bytes_out + excluded.bytes_out`,
  upsertDenial: `INSERT INTO usage_denials (key_id, minute, code, count) VALUES (?, ?, ?, ?)
    ON CONFLICT (key_id, minute, code) DO UPDATE SET count = count + excluded.count`,
  insertAddress: 'INSERT INTO usage_addresses (key_id, minute, address) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  series: `SELECT m.minute, m.requests, m.bytes_in AS bytesIn, m.bytes_out AS bytesOut,
      (SELECT count(*) FROM usage_addresses a WHERE a.key_id = m.key_id AND a.minute = m.minute) AS addresses
    FROM usage_minutes m WHERE m.key_id = ? AND m.minute >= ? AND m.minute < ? ORDER BY m.minute`,
  seriesDenials: 'SELECT minute, code, count FROM usage_denials WHERE key_id = ? AND minute >= ? AND minute < ?',
  addresses: `SELECT address, max(minute) AS lastSeen, count(*) AS minutes FROM usage_addresses
    WHERE key_id = ? AND minute >= ? AND minute < ? GROUP BY address ORDER BY lastSeen DESC, address LIMIT ?`,
  totals: `SELECT m.key_id AS keyId, sum(m.requests) AS requests, sum(m.bytes_in) AS bytesIn, sum(m.bytes_out) AS bytesOut,
      coalesce((SELECT sum(d.count) FROM usage_denials d WHERE d.key_id = m.key_id AND d.minute >= @from AND d.minute < @to), 0) AS denied
    FROM usage_minutes m WHERE m.minute >= @from AND m.minute < @to
    GROUP BY m.key_id ORDER BY requests DESC, keyId LIMIT @limit`,
  purgeMinutes: 'DELETE FROM usage_minutes WHERE minute < ?',
  purgeDenials: 'DELETE FROM usage_denials WHERE minute < ?',
  purgeAddresses: 'DELETE FROM usage_addresses WHERE minute < ?',
} as const;

/** Per-key, per-minute usage in SQLite; a batch is one IMMEDIATE transaction. */
export class SqliteUsageStore implements UsageStore {
  readonly #db: Database.Database;
  readonly #statements;

  constructor(db: Database.Database) {
    this.#db = db;
    const sql = sqliteUsageSql;
    this.#statements = {
      upsertMinute: db.prepare<[string, number, number, number, number]>(sql.upsertMinute),
      upsertDenial: db.prepare<[string, number, string, number]>(sql.upsertDenial),
      insertAddress: db.prepare<[string, number, string]>(sql.insertAddress),
      series: db.prepare<[string, number, number], Omit<UsagePoint, 'denials'>>(sql.series),
      seriesDenials: db.prepare<[string, number, number], { minute: number; code: string; count: number }>(sql.seriesDenials),
      addresses: db.prepare<[string, number, number, number], UsageAddress>(sql.addresses),
      totals: db.prepare<{ from: number; to: number; limit: number }, UsageTotal>(sql.totals),
      purgeMinutes: db.prepare<[number]>(sql.purgeMinutes),
      purgeDenials: db.prepare<[number]>(sql.purgeDenials),
      purgeAddresses: db.prepare<[number]>(sql.purgeAddresses),
    };
  }

  async recordUsageMinutes(batch: UsageMinute[]): Promise<void> {
    if (batch.length === 0) return;
    const s = this.#statements;
    this.#db.transaction(() => {
      for (const usage of batch) {
        s.upsertMinute.run(usage.keyId, usage.minute, usage.requests, usage.bytesIn, usage.bytesOut);
        for (const [code, count] of Object.entries(usage.denials)) s.upsertDenial.run(usage.keyId, usage.minute, code, count);
        for (const address of usage.addresses) s.insertAddress.run(usage.keyId, usage.minute, address);
      }
    }).immediate();
  }

  async usageSeries(keyId: string, from: number, to: number): Promise<UsagePoint[]> {
    const points = this.#statements.series.all(keyId, from, to).map((row): UsagePoint => ({ ...row, denials: {} }));
    const byMinute = new Map(points.map((point) => [point.minute, point]));
    for (const { minute, code, count } of this.#statements.seriesDenials.all(keyId, from, to)) {
      const point = byMinute.get(minute);
      if (point !== undefined) point.denials[code] = count;
    }
    return points;
  }

  async usageAddresses(keyId: string, from: number, to: number, limit: number): Promise<UsageAddress[]> {
    return this.#statements.addresses.all(keyId, from, to, limit);
  }

  async usageTotals(from: number, to: number, limit: number): Promise<UsageTotal[]> {
    return this.#statements.totals.all({ from, to, limit });
  }

  async purgeUsageBefore(minute: number): Promise<number> {
    const s = this.#statements;
    return this.#db.transaction(() => {
      s.purgeDenials.run(minute);
      s.purgeAddresses.run(minute);
      return s.purgeMinutes.run(minute).changes;
    }).immediate();
  }
}
