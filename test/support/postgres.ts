/**
 * PostgreSQL for tests: the shared server (127.0.0.1:5432, trust auth, user postgres,
 * database test; override with PORTCULLIS_TEST_POSTGRES_URL) and one fresh schema per test,
 * so runs and tests never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ServiceCheck } from './required-service.ts';

export const testPostgresUrl = process.env.PORTCULLIS_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Whether the shared server answers; never throws. */
export async function checkTestPostgres(url = testPostgresUrl): Promise<ServiceCheck> {
  const service = `PostgreSQL at ${new URL(url).host}`;
  // Generous: on a loaded machine the server can take seconds to accept; one that is not there refuses at once.
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return { service, unavailable: null };
  } catch (error) {
    return { service, unavailable: `cannot connect (${error instanceof Error ? error.message : String(error)})` };
  } finally {
    await client.end().catch(() => {});
  }
}

/** `url` with its connections' search_path set to `schema` (through the `options` parameter). */
export function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('options', `-c search_path=${schema}`);
  return parsed.href;
}

/** Runs one statement on its own connection. */
export async function runSql(url: string, text: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => {});
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

export interface TestSchema {
  schema: string;
  /** The database URL with this schema as its search_path. */
  url: string;
  drop(): Promise<void>;
}

/** Creates `portcullis_test_<random>` in the test database; `drop()` removes it and everything in it. */
export async function createTestSchema(baseUrl = testPostgresUrl): Promise<TestSchema> {
  const schema = `portcullis_test_${randomBytes(6).toString('hex')}`;
  await runSql(baseUrl, `CREATE SCHEMA ${schema}`);
  return {
    schema,
    url: withSearchPath(baseUrl, schema),
    drop: async () => {
      await runSql(baseUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}
