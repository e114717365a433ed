import type Database from 'better-sqlite3';
import type { UsageAddress, UsageMinute, UsagePoint, UsageStore, UsageTotal } from '../usage-store.ts';
import { exactRow, storedBound, storedUsageMinutes } from '../stored-values.ts';

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
      // Sums can outgrow 2^53: read as BigInt and checked (exactRow), never silently rounded.
      series: db.prepare<[string, number, number], Record<string, unknown>>(sql.series).safeIntegers(),
      seriesDenials: db.prepare<[string, number, number], Record<string, unknown>>(sql.seriesDenials).safeIntegers(),
      addresses: db.prepare<[string, number, number, number], Record<string, unknown>>(sql.addresses).safeIntegers(),
      totals: db.prepare<{ from: number; to: number; limit: number }, Record<string, unknown>>(sql.totals).safeIntegers(),
      purgeMinutes: db.prepare<[number]>(sql.purgeMinutes),
      purgeDenials: db.prepare<[number]>(sql.purgeDenials),
      purgeAddresses: db.prepare<[number]>(sql.purgeAddresses),
    };
  }

  async recordUsageMinutes(given: UsageMinute[]): Promise<void> {
    if (given.length === 0) return;
    const batch = storedUsageMinutes(given);
    const s = this.#statements;
    this.#db.transaction(() => {
      for (const usage of batch) {
        s.upsertMinute.run(usage.keyId, usage.minute, usage.requests, usage.bytesIn, usage.bytesOut);
        for (const [code, count] of Object.entries(usage.denials)) s.upsertDenial.run(usage.keyId, usage.minute, code, count);
        for (const address of usage.addresses) s.insertAddress.run(usage.keyId, usage.minute, address);
      }
    }).immediate();
  }

  async usageSeries(keyId: string, fromTime: number, toTime: number): Promise<UsagePoint[]> {
    const [from, to] = [storedBound(fromTime, 'from'), storedBound(toTime, 'to')];
    const points = this.#statements.series.all(keyId, from, to).map((row): UsagePoint => ({ ...exactRow<Omit<UsagePoint, 'denials'>>(row), denials: {} }));
    const byMinute = new Map(points.map((point) => [point.minute, point]));
    for (const row of this.#statements.seriesDenials.all(keyId, from, to)) {
      const { minute, code, count } = exactRow<{ minute: number; code: string; count: number }>(row);
      const point = byMinute.get(minute);
      if (point !== undefined) point.denials[code] = count;
    }
    return points;
  }

  async usageAddresses(keyId: string, from: number, to: number, limit: number): Promise<UsageAddress[]> {
    return this.#statements.addresses.all(keyId, storedBound(from, 'from'), storedBound(to, 'to'), limit).map((row) => exactRow<UsageAddress>(row));
  }

  async usageTotals(from: number, to: number, limit: number): Promise<UsageTotal[]> {
    return this.#statements.totals.all({ from: storedBound(from, 'from'), to: storedBound(to, 'to'), limit }).map((row) => exactRow<UsageTotal>(row));
  }

  async purgeUsageBefore(before: number): Promise<number> {
    const minute = storedBound(before, 'minute');
    const s = this.#statements;
    return this.#db.transaction(() => {
      s.purgeDenials.run(minute);
      s.purgeAddresses.run(minute);
      return s.purgeMinutes.run(minute).changes;
    }).immediate();
  }
}
