/**
 * The overview's store reads on SQLite, timed with the covering usage indexes of migration 7
 * (`usage_minutes_counts`, `usage_denials_counts`) and with the plain minute indexes they
 * replaced, on one seeded database:
 * 1,000 keys and the last 24 hours of per-minute usage. Prints each query's plan
 * (EXPLAIN QUERY PLAN) and its time on a fresh connection (cold: nothing held, no statement
 * cache) and the median of the next runs (warm), then the whole 24-hour overview and the keys
 * page's per-step rollup.
 *
 *   node bench/overview-queries.ts
 *   BENCH_OVERVIEW_DENSE=1 node bench/overview-queries.ts   # every key in every minute (1.44 M rows)
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { KeyCatalogue } from '../src/admin/key-catalogue.ts';
import { buildOverview, SettledSteps } from '../src/admin/overview.ts';
import { UsageRollup, windowBounds } from '../src/admin/usage-rollup.ts';
import { mintKey } from '../src/keys/mint-key.ts';
import { CLI_ACTOR } from '../src/store/audit-log.ts';
import { openKeyStore } from '../src/store/open-key-store.ts';
import { sqliteUsageSql } from '../src/store/sqlite/sqlite-usage-store.ts';
import type { Store } from '../src/store/store.ts';
import type { UsageMinute } from '../src/store/usage-store.ts';
import { envNumber } from './bench-env.ts';

const KEYS = 1000;
const MINUTES = 1440;
/** As the dashboard's load test: the busiest tenth of the keys in every minute, the rest in every tenth. */
const BUSY = process.env.BENCH_OVERVIEW_DENSE === '1' ? KEYS : 100;
const RUNS = envNumber('BENCH_OVERVIEW_RUNS', 5);
const MIGRATION_7_INDEXES = ['usage_minutes_counts', 'usage_denials_counts'];

async function seed(path: string, now: number): Promise<number> {
  const store = await openKeyStore(path);
  await store.migrate();
  const ids: string[] = [];
  for (let index = 0; index < KEYS; index++) {
    const minted = mintKey('pcl');
    ids.push(minted.id);
    await store.createKey({ id: minted.id, digest: minted.digest, displayPrefix: minted.displayPrefix, name: `client-${index}`, tags: [], scopes: [], allowedCidrs: [], certFingerprint: null, rateLimit: null, quota: null, metadata: {}, expiresAt: null }, now - KEYS * 60_000, CLI_ACTOR);
  }
  const first = now - (now % 60_000) - MINUTES * 60_000;
  let rows = 0;
  for (let minute = 0; minute < MINUTES; minute++) {
    const batch: UsageMinute[] = [];
    for (let key = 0; key < KEYS; key++) {
      if (key >= BUSY && (minute + key) % 10 !== 0) continue;
      const denials: Record<string, number> = {};
      if ((key + minute) % 17 === 0) denials.rate_limited = 2;
      if ((key + minute) % 53 === 0) denials.scope_missing = 1;
      batch.push({ keyId: ids[key] as string, minute: first + minute * 60_000, requests: 1 + ((key * 7 + minute) % 50), bytesIn: 100, bytesOut: 1000, denials, addresses: [] });
    }
    rows += batch.length;
    await store.recordUsageMinutes(batch);
  }
  await store.close();
  return rows;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Cold (first call on a fresh connection) and warm (median of RUNS more) milliseconds. */
async function timeIt(path: string, run: (store: Store) => Promise<unknown>): Promise<{ cold: number; warm: number }> {
  const store = await openKeyStore(path);
  try {
    let started = performance.now();
    await run(store);
    const cold = performance.now() - started;
    const warm: number[] = [];
    for (let index = 0; index < RUNS; index++) {
      started = performance.now();
      await run(store);
      warm.push(performance.now() - started);
    }
    return { cold, warm: median(warm) };
  } finally {
    await store.close();
  }
}

function plans(path: string, from: number, to: number): string[] {
  const db = new Database(path, { readonly: true });
  const parameters = { from: BigInt(from), to: BigInt(to), step: 900_000n, limit: 10 };
  const lines: string[] = [];
  for (const name of ['steps', 'stepDenials', 'totals', 'totalsByDenied'] as const) {
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${sqliteUsageSql[name]}`).all(parameters) as Array<{ detail: string }>;
    lines.push(`  ${name}: ${plan.map((row) => row.detail).join(' | ')}`);
  }
  const keyCount = db.prepare(`EXPLAIN QUERY PLAN ${sqliteUsageSql.keyCount}`).all(from, to) as Array<{ detail: string }>;
  lines.push(`  keyCount: ${keyCount.map((row) => row.detail).join(' | ')}`);
  db.close();
  return lines;
}

async function measure(label: string, path: string, now: number): Promise<void> {
  const { from, to, step } = windowBounds('24h', now);
  process.stdout.write(`\n${label}\n${plans(path, from, to).join('\n')}\n`);
  const rows: Array<[string, (store: Store) => Promise<unknown>]> = [
    ['usageSteps (24 h by 15 min)', (store) => store.usageSteps(from, to, step)],
    ['usageTotals by requests, top 10', (store) => store.usageTotals(from, to, 10, 'requests')],
    ['usageTotals by denials, top 10', (store) => store.usageTotals(from, to, 10, 'denied')],
    ['usageKeyCount', (store) => store.usageKeyCount(from, to)],
    ['buildOverview 24h (all of the above + key records)', (store) => buildOverview({ catalogue: new KeyCatalogue(store, { lastSeq: 0 }), store, steps: new SettledSteps() }, '24h', now)],
    ['UsageRollup 24h (keys page sorted by requests: 96 usageTotals)', (store) => new UsageRollup(store, { budget: 60_000 }).window('24h', now)],
  ];
  for (const [name, run] of rows) {
    const { cold, warm } = await timeIt(path, run);
    process.stdout.write(`  ${name.padEnd(66)} cold ${cold.toFixed(0).padStart(5)} ms   warm ${warm.toFixed(0).padStart(5)} ms\n`);
  }
}

const directory = mkdtempSync(join(tmpdir(), 'portcullis-overview-bench-'));
try {
  const withIndexes = join(directory, 'with.db');
  const without = join(directory, 'without.db');
  const now = Date.now();
  const started = performance.now();
  const rows = await seed(withIndexes, now);
  process.stdout.write(`seeded ${KEYS} keys and ${rows} usage minutes in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  const db = new Database(withIndexes);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  copyFileSync(withIndexes, without);
  const stripped = new Database(without);
  // The minute indexes as they were before migration 7: keys and times only, no counts.
  for (const index of MIGRATION_7_INDEXES) stripped.exec(`DROP INDEX IF EXISTS ${index}`);
  stripped.exec('CREATE INDEX IF NOT EXISTS usage_minutes_by_minute ON usage_minutes (minute, key_id); CREATE INDEX IF NOT EXISTS usage_denials_by_minute ON usage_denials (minute)');
  stripped.close();
  await measure('the same statements with the minute indexes of before migration 7 (no counts in them)', without, now);
  await measure('with the covering indexes (migration 7)', withIndexes, now);
} finally {
  rmSync(directory, { recursive: true, force: true });
}
