import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { temporaryDirectory } from '../../../test/support/processes.ts';
import { openSqliteKeyStore } from './sqlite-key-store.ts';
import { sqliteUsageSql } from './sqlite-usage-store.ts';

/** The plan's steps, one line each. */
function planOf(db: Database.Database, sql: string, parameters: Record<string, unknown>): string[] {
  return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(parameters) as Array<{ detail: string }>).map((step) => step.detail);
}

describe('SQLite usage reads across every key (the overview)', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const bounds = { from: 0n, to: 86_400_000n, step: 900_000n, limit: 10 };

  async function database(): Promise<Database.Database> {
    const path = join(directory.path, 'plans.db');
    await (await openSqliteKeyStore(path)).close();
    return new Database(path, { readonly: true });
  }

  it('sums the window\'s minutes from the covering indexes alone, in index order: the only sort is of the per-minute sums', async () => {
    const db = await database();
    try {
      for (const [sql, index] of [[sqliteUsageSql.steps, 'usage_minutes_counts'], [sqliteUsageSql.stepDenials, 'usage_denials_counts']] as const) {
        const plan = planOf(db, sql, bounds);
        const read = plan.findIndex((step) => step.startsWith(`SEARCH usage_`) && step.includes(`USING COVERING INDEX ${index} (minute>? AND minute<?)`));
        assert.ok(read >= 0, `reads ${index}: ${plan.join(' | ')}`);
        const sorts = plan.flatMap((step, position) => (step.includes('TEMP B-TREE') ? [position] : []));
        // One sort, after the subquery is read back: of at most one row per minute (and code), not of every row.
        assert.equal(sorts.length, 1, plan.join(' | '));
        const outer = plan.findIndex((step) => step.startsWith('SCAN (subquery'));
        assert.ok(outer > read && sorts[0]! > outer, plan.join(' | '));
      }
    } finally {
      db.close();
    }
  });

  it('totals a short window from the covering indexes, without a search of the tables per key', async () => {
    const db = await database();
    try {
      const plan = planOf(db, sqliteUsageSql.totalsShort, { from: 0, to: 900_000, limit: 10 });
      assert.ok(plan.some((step) => step.includes('USING COVERING INDEX usage_minutes_counts (minute>? AND minute<?)')), plan.join(' | '));
      assert.ok(plan.some((step) => step.includes('USING COVERING INDEX usage_denials_counts (minute>? AND minute<?)')), plan.join(' | '));
      assert.ok(!plan.some((step) => /^(SCAN|SEARCH) (usage_minutes|usage_denials|m|d)\b(?! USING COVERING)/.test(step)), plan.join(' | '));
    } finally {
      db.close();
    }
  });
});
