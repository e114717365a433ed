/**
 * The PostgreSQL backup procedure of README.md ("Backups"), step by step: pg_dump of the
 * store's schema, a revocation after it, the live schema set aside, pg_restore, `audit
 * verify`, and the README's query naming the key the restore made valid again.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { checkTestPostgres, runSql, testPostgresUrl, withSearchPath } from '../support/postgres.ts';
import { createKeyWithCli, runCli, temporaryDirectory } from '../support/processes.ts';
import { describeNeeding, type ServiceCheck } from '../support/required-service.ts';
import { runTool } from '../support/tools.ts';

async function checkPostgresTools(): Promise<ServiceCheck> {
  const postgres = await checkTestPostgres();
  if (postgres.unavailable !== null) return postgres;
  const tools = await Promise.all(['pg_dump', 'pg_restore'].map((tool) => runTool(tool, ['--version']).then((result) => (result.code === 0 ? null : tool), () => tool)));
  const missing = tools.filter((tool) => tool !== null);
  return { service: 'pg_dump and pg_restore', unavailable: missing.length === 0 ? null : `${missing.join(', ')} not found (apt-get install postgresql-client)` };
}

/** The README's query, for a store schema and the schema set aside. */
function reactivatedKeysSql(schema: string, replaced: string): string {
  return `SELECT k.id, k.name, r.revoked_at, r.revoked_reason, r.expires_at
    FROM ${schema}.api_keys k JOIN ${replaced}.api_keys r USING (id)
    WHERE k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > (extract(epoch FROM now()) * 1000)::bigint)
      AND (r.revoked_at IS NOT NULL OR r.expires_at <= (extract(epoch FROM now()) * 1000)::bigint)`;
}

describeNeeding(await checkPostgresTools(), 'the PostgreSQL backup procedure of README.md', () => {
  const directory = temporaryDirectory();
  const schema = `portcullis_backup_${process.pid}_${Date.now() % 100_000}`;
  const replaced = `${schema}_replaced`;
  const store = withSearchPath(testPostgresUrl, schema);

  before(() => runSql(testPostgresUrl, `CREATE SCHEMA ${schema}`));
  after(async () => {
    await runSql(testPostgresUrl, `DROP SCHEMA IF EXISTS ${schema} CASCADE; DROP SCHEMA IF EXISTS ${replaced} CASCADE`);
    directory.remove();
  });

  it('dumps, restores into place, verifies, and finds the key revoked after the dump', async () => {
    const kept = await createKeyWithCli(store, ['--tag', 'web']);
    const revoked = await createKeyWithCli(store, ['--tag', 'web']);
    const dump = join(directory.path, 'portcullis.dump');
    const dumped = await runTool('pg_dump', ['--format=custom', `--schema=${schema}`, `--file=${dump}`, testPostgresUrl]);
    assert.equal(dumped.code, 0, dumped.stderr);
    assert.equal((await runCli(['keys', 'revoke', revoked.id, '--reason', 'leaked', '--store', store])).code, 0);

    await runSql(testPostgresUrl, `ALTER SCHEMA ${schema} RENAME TO ${replaced}`);
    const restored = await runTool('pg_restore', [`--dbname=${testPostgresUrl}`, '--exit-on-error', dump]);
    assert.equal(restored.code, 0, restored.stderr);
    const verified = await runCli(['audit', 'verify', '--store', store]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /Audit log intact: 2 entries/);

    const { rows } = await runSql(testPostgresUrl, reactivatedKeysSql(schema, replaced));
    assert.deepEqual(rows.map((row: { id: string; revoked_reason: string }) => [row.id, row.revoked_reason]), [[revoked.id, 'leaked']]);
    // The restored store is the dump's: both keys active, and it takes new changes (the sequences came back too).
    const listed = JSON.parse((await runCli(['keys', 'list', '--store', store, '--json'])).stdout) as Array<{ id: string; status: string }>;
    assert.deepEqual(listed.map((key) => [key.id, key.status]).sort(), [[kept.id, 'active'], [revoked.id, 'active']].sort());
    assert.equal((await runCli(['keys', 'revoke', revoked.id, '--reason', 'again after restore', '--store', store])).code, 0);
    assert.equal((await runCli(['audit', 'verify', '--store', store])).code, 0);
  });
});
