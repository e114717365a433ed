import type pg from 'pg';
import { latestSchemaVersion, migrations, schemaMigrationsTable } from '../migrations/index.ts';
import { currentSchemaOf } from './postgres-connection.ts';

/**
 * Serialises migration runs on one schema: a transaction-level advisory lock keyed on a fixed
 * tag and the schema's name (the ledger table may not exist yet, so it cannot be locked).
 */
const lockMigrationsSql = "SELECT pg_advisory_xact_lock(hashtext('portcullis.migrations'), hashtext(current_schema()))";

/** Runs `work` in a transaction that holds the migrations lock. */
async function underMigrationLock(client: pg.PoolClient, work: () => Promise<void>): Promise<void> {
  await client.query(`BEGIN; ${lockMigrationsSql}`);
  try {
    await work();
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

async function readSchemaVersion(client: pg.PoolClient): Promise<number> {
  const { rows } = await client.query<{ version: number }>('SELECT coalesce(max(version), 0)::bigint AS version FROM schema_migrations');
  return rows[0]?.version ?? 0;
}

/**
 * Applies pending migrations with the same semantics as the SQLite store: each migration in
 * its own transaction that re-reads the ledger under a lock, so several nodes starting at
 * once apply each migration exactly once (PostgreSQL's DDL is transactional, so a failed
 * migration leaves nothing behind). Refuses a schema written by a newer Portcullis.
 */
export async function applyPostgresMigrations(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  let failure: unknown;
  try {
    await currentSchemaOf(client);
    let found = 0;
    await underMigrationLock(client, async () => {
      await client.query(schemaMigrationsTable.postgres);
      found = await readSchemaVersion(client);
    });
    if (found > latestSchemaVersion) {
      throw new Error(
        `PostgreSQL schema has schema version ${found}, newer than this Portcullis supports ` +
          `(${latestSchemaVersion}); upgrade Portcullis to open it.`,
      );
    }
    for (const migration of migrations) {
      if (migration.version <= found) continue;
      await underMigrationLock(client, async () => {
        const applied = await client.query('SELECT 1 FROM schema_migrations WHERE version = $1', [migration.version]);
        if (applied.rowCount !== 0) return;
        await client.query(migration.postgres);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, Date.now()]);
      });
    }
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    // After a failure the connection is discarded rather than reused: it may be mid-transaction or broken.
    client.release(failure === undefined ? undefined : failure instanceof Error ? failure : new Error(String(failure)));
  }
}
