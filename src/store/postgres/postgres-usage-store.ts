import type pg from 'pg';
import type { ApiUsageMinute, ApiUsageStep, UsageAddress, UsageMinute, UsagePoint, UsageRanking, UsageStep, UsageStore, UsageTotal, WebSocketMinute, WouldDenyMinute, WouldDenyTotal } from '../usage-store.ts';
import { inTransaction } from './postgres-event-log.ts';
import { storedApiUsageMinutes, storedBound, storedStep, storedUsageMinutes, storedWouldDenyMinutes } from '../stored-values.ts';

/**
 * Every statement of the usage tables. A batch is sent as arrays (`unnest`), one statement per
 * table, and rows are merged in key order so that two nodes flushing overlapping batches
 * lock the same rows in the same order and cannot deadlock. Sums are cast back to BIGINT
 * (PostgreSQL sums BIGINT as NUMERIC, which `pg` returns as a string).
 */
const postgresUsageSql = {
  upsertMinutes: `INSERT INTO usage_minutes AS m (key_id, minute, requests, bytes_in, bytes_out)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[]) ORDER BY 1, 2
    ON CONFLICT (key_id, minute) DO UPDATE SET requests = m.requests + excluded.requests,
      bytes_in = m.bytes_in + excluded.bytes_in, bytes_out = m.bytes_out + excluded.bytes_out`,
  upsertDenials: `INSERT INTO usage_denials AS d (key_id, minute, code, count)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[]) ORDER BY 1, 2, 3
    ON CONFLICT (key_id, minute, code) DO UPDATE SET count = d.count + excluded.count`,
  insertAddresses: `INSERT INTO usage_addresses (key_id, minute, address)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[]) ORDER BY 1, 2, 3 ON CONFLICT DO NOTHING`,
  series: `SELECT m.minute, m.requests, m.bytes_in AS "bytesIn", m.bytes_out AS "bytesOut",
      (SELECT count(*) FROM usage_addresses a WHERE a.key_id = m.key_id AND a.minute = m.minute) AS addresses
    FROM usage_minutes m WHERE m.key_id = $1 AND m.minute >= $2 AND m.minute < $3 ORDER BY m.minute`,
  seriesDenials: 'SELECT minute, code, count FROM usage_denials WHERE key_id = $1 AND minute >= $2 AND minute < $3',
  addresses: `SELECT address, max(minute) AS "lastSeen", count(*) AS minutes FROM usage_addresses
    WHERE key_id = $1 AND minute >= $2 AND minute < $3 GROUP BY address ORDER BY "lastSeen" DESC, address LIMIT $4`,
  totals: `SELECT m.key_id AS "keyId", sum(m.requests)::bigint AS requests, sum(m.bytes_in)::bigint AS "bytesIn",
      sum(m.bytes_out)::bigint AS "bytesOut",
      coalesce((SELECT sum(d.count) FROM usage_denials d WHERE d.key_id = m.key_id AND d.minute >= $1 AND d.minute < $2), 0)::bigint AS denied
    FROM usage_minutes m WHERE m.minute >= $1 AND m.minute < $2
    GROUP BY m.key_id ORDER BY requests DESC, "keyId" LIMIT $3`,
  // The most refused keys first (LIMIT), then only their minutes are read for the other sums.
  totalsByDenied: `WITH top AS (SELECT key_id, sum(count)::bigint AS denied FROM usage_denials WHERE minute >= $1 AND minute < $2
      GROUP BY key_id HAVING sum(count) > 0 ORDER BY denied DESC, key_id LIMIT $3)
    SELECT t.key_id AS "keyId", coalesce(sum(m.requests), 0)::bigint AS requests, coalesce(sum(m.bytes_in), 0)::bigint AS "bytesIn",
      coalesce(sum(m.bytes_out), 0)::bigint AS "bytesOut", t.denied
    FROM top t LEFT JOIN usage_minutes m ON m.key_id = t.key_id AND m.minute >= $1 AND m.minute < $2
    GROUP BY t.key_id, t.denied ORDER BY t.denied DESC, "keyId"`,
  // BIGINT / BIGINT truncates, and minute - from is never negative: the step a minute falls in.
  steps: `SELECT $1::bigint + (minute - $1::bigint) / $3::bigint * $3::bigint AS at, sum(requests)::bigint AS requests,
      sum(bytes_in)::bigint AS "bytesIn", sum(bytes_out)::bigint AS "bytesOut"
    FROM usage_minutes WHERE minute >= $1 AND minute < $2 GROUP BY 1 ORDER BY 1`,
  stepDenials: `SELECT $1::bigint + (minute - $1::bigint) / $3::bigint * $3::bigint AS at, code, sum(count)::bigint AS count
    FROM usage_denials WHERE minute >= $1 AND minute < $2 GROUP BY 1, 2`,
  keyCount: 'SELECT count(DISTINCT key_id)::bigint AS keys FROM usage_minutes WHERE minute >= $1 AND minute < $2',
  // One row per primary key in a batch (merged first): ON CONFLICT cannot touch a row twice.
  upsertWouldDenies: `INSERT INTO would_deny_minutes (minute, code, api, route, key_id, requests)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[]) ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (minute, code, api, route, key_id) DO UPDATE SET requests = would_deny_minutes.requests + excluded.requests`,
  wouldDenyTotals: `SELECT code, api, route, key_id AS "keyId", sum(requests)::bigint AS requests,
      min(minute) AS "firstMinute", max(minute) AS "lastMinute"
    FROM would_deny_minutes WHERE minute >= $1 AND minute < $2 GROUP BY code, api, route, key_id
    ORDER BY requests DESC, code, api, route, key_id LIMIT $3`,
  purgeWouldDenies: 'DELETE FROM would_deny_minutes WHERE minute < $1',
  // Opened counts add up across nodes and flushes; a peak is one node's, so flushes merge with greatest.
  upsertWebSockets: `INSERT INTO websocket_minutes AS w (key_id, minute, opened, peak)
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[]) ORDER BY 1, 2
    ON CONFLICT (key_id, minute) DO UPDATE SET opened = w.opened + excluded.opened, peak = greatest(w.peak, excluded.peak)`,
  webSocketSeries: 'SELECT minute, opened, peak FROM websocket_minutes WHERE key_id = $1 AND minute >= $2 AND minute < $3 ORDER BY minute',
  purgeWebSockets: 'DELETE FROM websocket_minutes WHERE minute < $1',
  upsertApiUsage: `INSERT INTO api_usage_minutes AS a (minute, api, outcome, requests)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[]) ORDER BY 1, 2, 3
    ON CONFLICT (minute, api, outcome) DO UPDATE SET requests = a.requests + excluded.requests`,
  apiUsageSteps: `SELECT api, $1::bigint + (minute - $1::bigint) / $3::bigint * $3::bigint AS at, outcome, sum(requests)::bigint AS requests
    FROM api_usage_minutes WHERE minute >= $1 AND minute < $2 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
  purgeApiUsage: 'DELETE FROM api_usage_minutes WHERE minute < $1',
  purgeMinutes: 'DELETE FROM usage_minutes WHERE minute < $1',
  purgeDenials: 'DELETE FROM usage_denials WHERE minute < $1',
  purgeAddresses: 'DELETE FROM usage_addresses WHERE minute < $1',
} as const;

type UsageSql = keyof typeof postgresUsageSql;

async function rowsOf<R extends pg.QueryResultRow>(db: pg.Pool | pg.PoolClient, name: UsageSql, values: unknown[]): Promise<pg.QueryResult<R>> {
  return db.query<R>({ name: `portcullis_usage_${name}`, text: postgresUsageSql[name], values });
}

/** Per-key, per-minute usage in PostgreSQL; a batch is one transaction. */
export class PostgresUsageStore implements UsageStore {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async recordUsageMinutes(given: UsageMinute[]): Promise<void> {
    if (given.length === 0) return;
    const batch = storedUsageMinutes(given);
    const minutes: [string[], number[], number[], number[], number[]] = [[], [], [], [], []];
    const denials: [string[], number[], string[], number[]] = [[], [], [], []];
    const addresses: [string[], number[], string[]] = [[], [], []];
    const sockets: [string[], number[], number[], number[]] = [[], [], [], []];
    // One row per (key, minute) in a statement: ON CONFLICT cannot touch a row twice.
    const merged = new Map<string, UsageMinute>();
    for (const usage of batch) {
      const id = `${usage.keyId}\u0000${usage.minute}`;
      const seen = merged.get(id);
      if (seen === undefined) {
        merged.set(id, { ...usage, denials: { ...usage.denials }, addresses: [...usage.addresses] });
        continue;
      }
      seen.requests += usage.requests;
      seen.websocketsOpened = (seen.websocketsOpened ?? 0) + (usage.websocketsOpened ?? 0);
      seen.websocketsPeak = Math.max(seen.websocketsPeak ?? 0, usage.websocketsPeak ?? 0);
      seen.bytesIn += usage.bytesIn;
      seen.bytesOut += usage.bytesOut;
      for (const [code, count] of Object.entries(usage.denials)) seen.denials[code] = (seen.denials[code] ?? 0) + count;
      seen.addresses.push(...usage.addresses);
    }
    for (const usage of merged.values()) {
      const [opened, peak] = [usage.websocketsOpened ?? 0, usage.websocketsPeak ?? 0];
      if (opened > 0 || peak > 0) {
        sockets[0].push(usage.keyId); sockets[1].push(usage.minute); sockets[2].push(opened); sockets[3].push(peak);
        // A minute that only says how many WebSockets stayed open has no requests to add.
        if (usage.requests === 0) continue;
      }
      minutes[0].push(usage.keyId); minutes[1].push(usage.minute); minutes[2].push(usage.requests); minutes[3].push(usage.bytesIn); minutes[4].push(usage.bytesOut);
      for (const [code, count] of Object.entries(usage.denials)) {
        denials[0].push(usage.keyId); denials[1].push(usage.minute); denials[2].push(code); denials[3].push(count);
      }
      for (const address of new Set(usage.addresses)) {
        addresses[0].push(usage.keyId); addresses[1].push(usage.minute); addresses[2].push(address);
      }
    }
    await inTransaction(this.#pool, async (client) => {
      if (minutes[0].length > 0) await rowsOf(client, 'upsertMinutes', minutes);
      if (sockets[0].length > 0) await rowsOf(client, 'upsertWebSockets', sockets);
      if (denials[0].length > 0) await rowsOf(client, 'upsertDenials', denials);
      if (addresses[0].length > 0) await rowsOf(client, 'insertAddresses', addresses);
    });
  }

  async usageSeries(keyId: string, fromTime: number, toTime: number): Promise<UsagePoint[]> {
    const [from, to] = [storedBound(fromTime, 'from'), storedBound(toTime, 'to')];
    const [series, denials] = await Promise.all([
      rowsOf<Omit<UsagePoint, 'denials'>>(this.#pool, 'series', [keyId, from, to]),
      rowsOf<{ minute: number; code: string; count: number }>(this.#pool, 'seriesDenials', [keyId, from, to]),
    ]);
    const points = series.rows.map((row): UsagePoint => ({ ...row, denials: {} }));
    const byMinute = new Map(points.map((point) => [point.minute, point]));
    for (const { minute, code, count } of denials.rows) {
      const point = byMinute.get(minute);
      if (point !== undefined) point.denials[code] = count;
    }
    return points;
  }

  async usageAddresses(keyId: string, from: number, to: number, limit: number): Promise<UsageAddress[]> {
    return (await rowsOf<UsageAddress>(this.#pool, 'addresses', [keyId, storedBound(from, 'from'), storedBound(to, 'to'), limit])).rows;
  }

  async usageTotals(from: number, to: number, limit: number, by: UsageRanking = 'requests'): Promise<UsageTotal[]> {
    return (await rowsOf<UsageTotal>(this.#pool, by === 'denied' ? 'totalsByDenied' : 'totals', [storedBound(from, 'from'), storedBound(to, 'to'), limit])).rows;
  }

  async usageSteps(fromTime: number, toTime: number, stepLength: number): Promise<UsageStep[]> {
    const bounds = [storedBound(fromTime, 'from'), storedBound(toTime, 'to'), storedStep(stepLength, 'step')];
    const [totals, denials] = await Promise.all([
      rowsOf<Omit<UsageStep, 'denials'>>(this.#pool, 'steps', bounds),
      rowsOf<{ at: number; code: string; count: number }>(this.#pool, 'stepDenials', bounds),
    ]);
    const steps = totals.rows.map((row): UsageStep => ({ ...row, denials: {} }));
    const byStart = new Map(steps.map((step) => [step.at, step]));
    for (const { at, code, count } of denials.rows) {
      const step = byStart.get(at);
      if (step !== undefined) step.denials[code] = count;
    }
    return steps;
  }

  async usageKeyCount(from: number, to: number): Promise<number> {
    return (await rowsOf<{ keys: number }>(this.#pool, 'keyCount', [storedBound(from, 'from'), storedBound(to, 'to')])).rows[0]?.keys ?? 0;
  }

  async recordWouldDenyMinutes(given: WouldDenyMinute[]): Promise<void> {
    if (given.length === 0) return;
    const merged = new Map<string, ReturnType<typeof storedWouldDenyMinutes>[number]>();
    for (const row of storedWouldDenyMinutes(given)) {
      const id = [row.minute, row.code, row.api, row.route, row.keyId].join('\u0000');
      const seen = merged.get(id);
      if (seen === undefined) merged.set(id, { ...row });
      else seen.requests += row.requests;
    }
    const rows = [...merged.values()];
    await rowsOf(this.#pool, 'upsertWouldDenies', [rows.map((row) => row.minute), rows.map((row) => row.code), rows.map((row) => row.api), rows.map((row) => row.route), rows.map((row) => row.keyId), rows.map((row) => row.requests)]);
  }

  async wouldDenyTotals(from: number, to: number, limit: number): Promise<WouldDenyTotal[]> {
    const { rows } = await rowsOf<Omit<WouldDenyTotal, 'keyId'> & { keyId: string }>(this.#pool, 'wouldDenyTotals', [storedBound(from, 'from'), storedBound(to, 'to'), limit]);
    return rows.map((row) => ({ ...row, keyId: row.keyId === '' ? null : row.keyId }));
  }

  async recordApiUsageMinutes(given: ApiUsageMinute[]): Promise<void> {
    if (given.length === 0) return;
    // One row per primary key in a statement: ON CONFLICT cannot touch a row twice.
    const merged = new Map<string, ApiUsageMinute>();
    for (const row of storedApiUsageMinutes(given)) {
      const id = `${row.minute}\u0000${row.api}\u0000${row.outcome}`;
      const seen = merged.get(id);
      if (seen === undefined) merged.set(id, row);
      else seen.requests += row.requests;
    }
    const rows = [...merged.values()];
    await rowsOf(this.#pool, 'upsertApiUsage', [rows.map((row) => row.minute), rows.map((row) => row.api), rows.map((row) => row.outcome), rows.map((row) => row.requests)]);
  }

  async apiUsageSteps(fromTime: number, toTime: number, stepLength: number): Promise<ApiUsageStep[]> {
    const bounds = [storedBound(fromTime, 'from'), storedBound(toTime, 'to'), storedStep(stepLength, 'step')];
    const steps: ApiUsageStep[] = [];
    for (const { api, at, outcome, requests } of (await rowsOf<{ api: string; at: number; outcome: string; requests: number }>(this.#pool, 'apiUsageSteps', bounds)).rows) {
      let step = steps.at(-1);
      if (step === undefined || step.api !== api || step.at !== at) steps.push((step = { api, at, outcomes: {} }));
      step.outcomes[outcome] = requests;
    }
    return steps;
  }

  async webSocketSeries(keyId: string, from: number, to: number): Promise<WebSocketMinute[]> {
    return (await rowsOf<WebSocketMinute>(this.#pool, 'webSocketSeries', [keyId, storedBound(from, 'from'), storedBound(to, 'to')])).rows;
  }

  async purgeUsageBefore(before: number): Promise<number> {
    const minute = storedBound(before, 'minute');
    return inTransaction(this.#pool, async (client) => {
      await rowsOf(client, 'purgeWouldDenies', [minute]);
      await rowsOf(client, 'purgeApiUsage', [minute]);
      await rowsOf(client, 'purgeWebSockets', [minute]);
      await rowsOf(client, 'purgeDenials', [minute]);
      await rowsOf(client, 'purgeAddresses', [minute]);
      return (await rowsOf(client, 'purgeMinutes', [minute])).rowCount ?? 0;
    });
  }
}
