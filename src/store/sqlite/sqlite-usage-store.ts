import type Database from 'better-sqlite3';
import type { ApiUsageMinute, ApiUsageStep, UsageAddress, UsageMinute, UsagePoint, UsageRanking, UsageStep, UsageStore, UsageTotal, WebSocketMinute, WouldDenyMinute, WouldDenyTotal } from '../usage-store.ts';
import { exactRow, storedApiUsageMinutes, storedBound, storedStep, storedUsageMinutes, storedWouldDenyMinutes } from '../stored-values.ts';

/**
 * Every key with usage, found by skipping through the primary key (key_id, minute) one key at
 * a time. Reads per key over a long window start here: each key's minutes are then one range
 * of the primary key, read in order, where the minute index would need its rows sorted by key.
 */
const USED_KEYS = `WITH RECURSIVE used(key_id) AS (SELECT min(key_id) FROM usage_minutes
    UNION ALL SELECT (SELECT min(key_id) FROM usage_minutes WHERE key_id > used.key_id) FROM used WHERE used.key_id IS NOT NULL)`;

/**
 * Up to this long, a window's totals read its minutes of every key from the covering indexes (a
 * 15-minute step of 1,000 keys: about 3 ms, against 6 ms for the skip through every key); past
 * it, the skip through each key's own range reads less (a day: about 60 ms, against 150 ms).
 */
const SHORT_WINDOW = 2 * 3_600_000;

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
  // The keys come from USED_KEYS, so each key's minutes are one range of the primary key.
  totals: `${USED_KEYS},
    top AS (SELECT key_id, requests FROM (SELECT key_id,
        (SELECT sum(m.requests) FROM usage_minutes m WHERE m.key_id = used.key_id AND m.minute >= @from AND m.minute < @to) AS requests
      FROM used WHERE key_id IS NOT NULL) WHERE requests IS NOT NULL ORDER BY requests DESC, key_id LIMIT @limit)
    SELECT t.key_id AS keyId, t.requests AS requests, sum(m.bytes_in) AS bytesIn, sum(m.bytes_out) AS bytesOut,
      coalesce((SELECT sum(d.count) FROM usage_denials d WHERE d.key_id = t.key_id AND d.minute >= @from AND d.minute < @to), 0) AS denied
    FROM top t CROSS JOIN usage_minutes m ON m.key_id = t.key_id AND m.minute >= @from AND m.minute < @to
    GROUP BY t.key_id ORDER BY t.requests DESC, keyId`,
  // The most refused keys first (LIMIT), then only their minutes are read for the other sums.
  totalsByDenied: `WITH top AS (SELECT key_id, sum(count) AS denied FROM usage_denials WHERE minute >= @from AND minute < @to
      GROUP BY key_id HAVING sum(count) > 0 ORDER BY denied DESC, key_id LIMIT @limit)
    SELECT t.key_id AS keyId, coalesce(sum(m.requests), 0) AS requests, coalesce(sum(m.bytes_in), 0) AS bytesIn,
      coalesce(sum(m.bytes_out), 0) AS bytesOut, t.denied AS denied
    FROM top t LEFT JOIN usage_minutes m ON m.key_id = t.key_id AND m.minute >= @from AND m.minute < @to
    GROUP BY t.key_id ORDER BY t.denied DESC, keyId`,
  // A short window's totals (one step of the keys page's rollup): its few minutes of every key
  // are one range of each covering index (usage_minutes_counts, usage_denials_counts: both hold
  // the key id too), read once each, where the skip through every key above would cost searches
  // per key. Past SHORT_WINDOW the skip reads less (see usageTotals).
  totalsShort: `WITH top AS (SELECT key_id, sum(requests) AS requests, sum(bytes_in) AS bytesIn, sum(bytes_out) AS bytesOut
        FROM usage_minutes WHERE minute >= @from AND minute < @to GROUP BY key_id ORDER BY requests DESC, key_id LIMIT @limit),
      refused AS (SELECT key_id, sum(count) AS denied FROM usage_denials WHERE minute >= @from AND minute < @to GROUP BY key_id)
    SELECT t.key_id AS keyId, t.requests AS requests, t.bytesIn AS bytesIn, t.bytesOut AS bytesOut, coalesce(r.denied, 0) AS denied
    FROM top t LEFT JOIN refused r ON r.key_id = t.key_id ORDER BY t.requests DESC, keyId`,
  // Summed per minute first, from the covering indexes alone and in their order (no sort of
  // every row), then the minutes (at most one per minute of the window) per step.
  // @from and @step are bound as BigInt: better-sqlite3 binds a number as REAL, and a step's start needs integer division.
  steps: `SELECT @from + (minute - @from) / @step * @step AS at, sum(requests) AS requests, sum(bytesIn) AS bytesIn, sum(bytesOut) AS bytesOut
    FROM (SELECT minute, sum(requests) AS requests, sum(bytes_in) AS bytesIn, sum(bytes_out) AS bytesOut
      FROM usage_minutes WHERE minute >= @from AND minute < @to GROUP BY minute)
    GROUP BY at ORDER BY at`,
  stepDenials: `SELECT @from + (minute - @from) / @step * @step AS at, code, sum(count) AS count
    FROM (SELECT minute, code, sum(count) AS count FROM usage_denials
      WHERE minute >= @from AND minute < @to GROUP BY minute, code)
    GROUP BY at, code`,
  keyCount: `${USED_KEYS}
    SELECT count(*) AS keys FROM used WHERE EXISTS (SELECT 1 FROM usage_minutes m WHERE m.key_id = used.key_id AND m.minute >= ? AND m.minute < ?)`,
  upsertWouldDeny: `INSERT INTO would_deny_minutes (minute, code, api, route, key_id, requests) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (minute, code, api, route, key_id) DO UPDATE SET requests = requests + excluded.requests`,
  wouldDenyTotals: `SELECT code, api, route, key_id AS keyId, sum(requests) AS requests, min(minute) AS firstMinute, max(minute) AS lastMinute
    FROM would_deny_minutes WHERE minute >= ? AND minute < ? GROUP BY code, api, route, key_id
    ORDER BY requests DESC, code, api, route, key_id LIMIT ?`,
  purgeWouldDenies: 'DELETE FROM would_deny_minutes WHERE minute < ?',
  // Opened counts add up across nodes and flushes; a peak is one node's, so flushes merge with max.
  upsertWebSocket: `INSERT INTO websocket_minutes (key_id, minute, opened, peak) VALUES (?, ?, ?, ?)
    ON CONFLICT (key_id, minute) DO UPDATE SET opened = opened + excluded.opened, peak = max(peak, excluded.peak)`,
  webSocketSeries: 'SELECT minute, opened, peak FROM websocket_minutes WHERE key_id = ? AND minute >= ? AND minute < ? ORDER BY minute',
  purgeWebSockets: 'DELETE FROM websocket_minutes WHERE minute < ?',
  upsertApiUsage: `INSERT INTO api_usage_minutes (minute, api, outcome, requests) VALUES (?, ?, ?, ?)
    ON CONFLICT (minute, api, outcome) DO UPDATE SET requests = requests + excluded.requests`,
  // @from and @step bound as BigInt, as for `steps`.
  apiUsageSteps: `SELECT api, @from + (minute - @from) / @step * @step AS at, outcome, sum(requests) AS requests
    FROM api_usage_minutes WHERE minute >= @from AND minute < @to GROUP BY api, at, outcome ORDER BY api, at, outcome`,
  purgeApiUsage: 'DELETE FROM api_usage_minutes WHERE minute < ?',
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
      totalsShort: db.prepare<{ from: number; to: number; limit: number }, Record<string, unknown>>(sql.totalsShort).safeIntegers(),
      totalsByDenied: db.prepare<{ from: number; to: number; limit: number }, Record<string, unknown>>(sql.totalsByDenied).safeIntegers(),
      steps: db.prepare<{ from: bigint; to: bigint; step: bigint }, Record<string, unknown>>(sql.steps).safeIntegers(),
      stepDenials: db.prepare<{ from: bigint; to: bigint; step: bigint }, Record<string, unknown>>(sql.stepDenials).safeIntegers(),
      keyCount: db.prepare<[number, number], Record<string, unknown>>(sql.keyCount).safeIntegers(),
      upsertWouldDeny: db.prepare<[number, string, string, string, string, number]>(sql.upsertWouldDeny),
      wouldDenyTotals: db.prepare<[number, number, number], Record<string, unknown>>(sql.wouldDenyTotals).safeIntegers(),
      purgeWouldDenies: db.prepare<[number]>(sql.purgeWouldDenies),
      upsertWebSocket: db.prepare<[string, number, number, number]>(sql.upsertWebSocket),
      webSocketSeries: db.prepare<[string, number, number], Record<string, unknown>>(sql.webSocketSeries).safeIntegers(),
      purgeWebSockets: db.prepare<[number]>(sql.purgeWebSockets),
      upsertApiUsage: db.prepare<[number, string, string, number]>(sql.upsertApiUsage),
      apiUsageSteps: db.prepare<{ from: bigint; to: bigint; step: bigint }, Record<string, unknown>>(sql.apiUsageSteps).safeIntegers(),
      purgeApiUsage: db.prepare<[number]>(sql.purgeApiUsage),
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
        const [opened, peak] = [usage.websocketsOpened ?? 0, usage.websocketsPeak ?? 0];
        const sockets = opened > 0 || peak > 0;
        if (sockets) s.upsertWebSocket.run(usage.keyId, usage.minute, opened, peak);
        // A minute that only says how many WebSockets stayed open has no requests to add.
        if (sockets && usage.requests === 0) continue;
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

  async usageTotals(from: number, to: number, limit: number, by: UsageRanking = 'requests'): Promise<UsageTotal[]> {
    const short = to - from <= SHORT_WINDOW;
    const statement = by === 'denied' ? this.#statements.totalsByDenied : short ? this.#statements.totalsShort : this.#statements.totals;
    return statement.all({ from: storedBound(from, 'from'), to: storedBound(to, 'to'), limit }).map((row) => exactRow<UsageTotal>(row));
  }

  async usageSteps(fromTime: number, toTime: number, stepLength: number): Promise<UsageStep[]> {
    const bounds = { from: BigInt(storedBound(fromTime, 'from')), to: BigInt(storedBound(toTime, 'to')), step: BigInt(storedStep(stepLength, 'step')) };
    const steps = this.#statements.steps.all(bounds).map((row): UsageStep => ({ ...exactRow<Omit<UsageStep, 'denials'>>(row), denials: {} }));
    const byStart = new Map(steps.map((step) => [step.at, step]));
    for (const row of this.#statements.stepDenials.all(bounds)) {
      const { at, code, count } = exactRow<{ at: number; code: string; count: number }>(row);
      const step = byStart.get(at);
      if (step !== undefined) step.denials[code] = count;
    }
    return steps;
  }

  async usageKeyCount(from: number, to: number): Promise<number> {
    const row = this.#statements.keyCount.get(storedBound(from, 'from'), storedBound(to, 'to'));
    return row === undefined ? 0 : exactRow<{ keys: number }>(row).keys;
  }

  async recordWouldDenyMinutes(given: WouldDenyMinute[]): Promise<void> {
    if (given.length === 0) return;
    const batch = storedWouldDenyMinutes(given);
    const upsert = this.#statements.upsertWouldDeny;
    this.#db.transaction(() => {
      for (const row of batch) upsert.run(row.minute, row.code, row.api, row.route, row.keyId, row.requests);
    }).immediate();
  }

  async wouldDenyTotals(from: number, to: number, limit: number): Promise<WouldDenyTotal[]> {
    return this.#statements.wouldDenyTotals.all(storedBound(from, 'from'), storedBound(to, 'to'), limit).map((row) => {
      const total = exactRow<Omit<WouldDenyTotal, 'keyId'> & { keyId: string }>(row);
      return { ...total, keyId: total.keyId === '' ? null : total.keyId };
    });
  }

  async recordApiUsageMinutes(given: ApiUsageMinute[]): Promise<void> {
    if (given.length === 0) return;
    const batch = storedApiUsageMinutes(given);
    const upsert = this.#statements.upsertApiUsage;
    this.#db.transaction(() => {
      for (const row of batch) upsert.run(row.minute, row.api, row.outcome, row.requests);
    }).immediate();
  }

  async apiUsageSteps(fromTime: number, toTime: number, stepLength: number): Promise<ApiUsageStep[]> {
    const bounds = { from: BigInt(storedBound(fromTime, 'from')), to: BigInt(storedBound(toTime, 'to')), step: BigInt(storedStep(stepLength, 'step')) };
    const steps: ApiUsageStep[] = [];
    for (const row of this.#statements.apiUsageSteps.all(bounds)) {
      const { api, at, outcome, requests } = exactRow<{ api: string; at: number; outcome: string; requests: number }>(row);
      let step = steps.at(-1);
      if (step === undefined || step.api !== api || step.at !== at) steps.push((step = { api, at, outcomes: {} }));
      step.outcomes[outcome] = requests;
    }
    return steps;
  }

  async webSocketSeries(keyId: string, from: number, to: number): Promise<WebSocketMinute[]> {
    return this.#statements.webSocketSeries.all(keyId, storedBound(from, 'from'), storedBound(to, 'to')).map((row) => exactRow<WebSocketMinute>(row));
  }

  async purgeUsageBefore(before: number): Promise<number> {
    const minute = storedBound(before, 'minute');
    const s = this.#statements;
    return this.#db.transaction(() => {
      s.purgeWouldDenies.run(minute);
      s.purgeApiUsage.run(minute);
      s.purgeWebSockets.run(minute);
      s.purgeDenials.run(minute);
      s.purgeAddresses.run(minute);
      return s.purgeMinutes.run(minute).changes;
    }).immediate();
  }
}
