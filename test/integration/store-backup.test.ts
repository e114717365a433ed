/**
 * `portcullis store backup` and `store restore` against a gateway process that is serving:
 * a backup taken under load (requests, usage flushes every 20 ms, keys created meanwhile) is a
 * consistent store whose audit chain verifies; restoring it into a fresh path gives a store
 * `audit verify` accepts; restoring it over the live store names the key revoked after the
 * backup, refuses without --force, and with it the running gateway follows the restored store.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { CLI_ACTOR } from '../../src/store/audit-log.ts';
import { openKeyStore } from '../../src/store/open-key-store.ts';
import type { StoreSummary } from '../../src/store/sqlite/sqlite-backup.ts';
import type { RestoreReport } from '../../src/store/restore-report.ts';
import { callWithKey, waitFor } from '../support/gateway-probes.ts';
import { createKeyInStore } from '../support/in-process-gateway.ts';
import { keyRow } from '../support/key-rows.ts';
import { runCli, spawnGateway, temporaryDirectory, type GatewayProcess } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';

interface RestoreJson {
  backup: StoreSummary;
  replaced: StoreSummary | null;
  report: RestoreReport | null;
  restored: StoreSummary | null;
}

/** Clients sending requests back to back, and a writer creating a key every few ms, until stopped. */
function startLoad(url: string, keys: string[], storePath: string) {
  let running = true;
  const statuses = new Map<number, number>();
  async function client(key: string): Promise<void> {
    while (running) {
      const response = await request(`${url}/load`, { headers: { authorization: `Bearer ${key}` } });
      await response.body.dump();
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
    }
  }
  async function writer(): Promise<number> {
    const store = await openKeyStore(storePath);
    let created = 0;
    try {
      while (running) {
        await store.createKey(keyRow(`key_load${String(created).padStart(5, '0')}`, { name: 'made under load ✓' }), Date.now() + Math.random(), CLI_ACTOR);
        created++;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      await store.close();
    }
    return created;
  }
  const done = Promise.all([...keys.flatMap((key) => [client(key), client(key)]), writer()]);
  return {
    statuses,
    async stop(): Promise<number> {
      running = false;
      const results = await done;
      return results.at(-1) as number;
    },
  };
}

describe('store backup and restore while a gateway serves', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'data', 'portcullis.db');
  const backupPath = join(directory.path, 'backup.db');
  const freshPath = join(directory.path, 'fresh', 'portcullis.db');
  let upstream: RecordingUpstream;
  let gateway: GatewayProcess;
  let kept: { id: string; key: string };
  let revoked: { id: string; key: string };
  let backup: StoreSummary;

  before(async () => {
    kept = await createKeyInStore(storePath);
    revoked = await createKeyInStore(storePath);
    upstream = await startRecordingUpstream();
    gateway = await spawnGateway(['--store', storePath, '--upstream', upstream.url], {
      env: { PORTCULLIS_USAGE_FLUSH_INTERVAL: '20ms', PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '20ms' },
    });
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('takes a consistent backup under load, without disturbing the traffic', async () => {
    const load = startLoad(gateway.url, [kept.key, revoked.key], storePath);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const result = await runCli(['store', 'backup', backupPath, '--store', storePath, '--json']);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const created = await load.stop();
    assert.equal(result.code, 0, result.stderr);
    backup = (JSON.parse(result.stdout) as { backup: StoreSummary }).backup;
    assert.deepEqual([...load.statuses.keys()], [200], `every request answered 200: ${JSON.stringify([...load.statuses])}`);
    assert.ok(created > 10, `keys were being created during the backup (${created})`);
    assert.equal(backup.audit?.ok, true, JSON.stringify(backup.audit));
    // Consistent: every key in it has its created event and its audit entry, and nothing more.
    assert.ok(backup.keys > 2 && backup.keys < 2 + created, `a state from the middle of the load (${backup.keys} keys)`);
    assert.deepEqual([backup.latestEventSeq, backup.auditHead.seq], [backup.keys, backup.keys]);
  });

  it('restores into a fresh path that audit verify accepts', async () => {
    const restored = await runCli(['store', 'restore', backupPath, '--store', freshPath, '--json']);
    assert.equal(restored.code, 0, restored.stderr);
    const outcome = JSON.parse(restored.stdout) as RestoreJson;
    assert.deepEqual([outcome.replaced, outcome.report], [null, null]);
    assert.deepEqual([outcome.restored?.keys, outcome.restored?.latestEventSeq, outcome.restored?.auditHead], [backup.keys, backup.latestEventSeq, backup.auditHead]);
    const verified = await runCli(['audit', 'verify', '--store', freshPath, '--expect-head', backup.auditHead.hash]);
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, new RegExp(`Audit log intact: ${backup.auditHead.seq} entries`));
  });

  it('names a key revoked after the backup, and replaces the live store only with --force', async () => {
    assert.equal((await runCli(['keys', 'revoke', revoked.id, '--reason', 'laptop stolen', '--store', storePath])).code, 0);
    await waitFor(async () => (await callWithKey(`${gateway.url}/r`, revoked.key)).code === 'key_revoked', 2000, 'revocation applied');

    const refused = await runCli(['store', 'restore', backupPath, '--store', storePath]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stdout, /WARNING: 1 key refused now would be VALID AGAIN after the restore/);
    assert.match(refused.stdout, new RegExp(`${revoked.id} .*revoked .*\\(laptop stolen\\)`));
    assert.match(refused.stdout, new RegExp(`portcullis keys revoke ${revoked.id} --reason 'again after restore: laptop stolen'`));
    assert.match(refused.stderr, /--force/);
    assert.equal((await callWithKey(`${gateway.url}/r`, revoked.key)).code, 'key_revoked', 'nothing was changed');

    const forced = await runCli(['store', 'restore', backupPath, '--store', storePath, '--force', '--json']);
    assert.equal(forced.code, 0, forced.stderr);
    const outcome = JSON.parse(forced.stdout) as RestoreJson;
    assert.deepEqual(outcome.report?.reactivated.map((key) => [key.id, key.now, key.revokedReason]), [[revoked.id, 'revoked', 'laptop stolen']]);
    assert.equal(outcome.report?.sameHistory, true);
    assert.ok((outcome.report?.keysRemoved ?? 0) > 0, 'keys created after the backup are gone');
    assert.match(JSON.stringify(outcome), /restart/i, 'the restore says to restart the gateways');
    // Restarted as the restore says, the gateway serves the restored store, and the key works
    // again: exactly what the warning said.
    await gateway.stop();
    gateway = await spawnGateway(['--store', storePath, '--upstream', upstream.url], { env: { PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '20ms' } });
    assert.equal((await callWithKey(`${gateway.url}/r`, revoked.key)).status, 200);
    assert.equal((await runCli(['audit', 'verify', '--store', storePath])).code, 0);

    assert.equal((await runCli(['keys', 'revoke', revoked.id, '--reason', 'again after restore: laptop stolen', '--store', storePath])).code, 0);
    await waitFor(async () => (await callWithKey(`${gateway.url}/r`, revoked.key)).code === 'key_revoked', 2000, 'revoked again');
    assert.equal((await callWithKey(`${gateway.url}/r`, kept.key)).status, 200);
  });

  it('a gateway left running notices an in-place restore by itself', async () => {
    const before = await createKeyInStore(storePath);
    const backupNow = join(directory.path, 'backup-2.db');
    assert.equal((await runCli(['store', 'backup', backupNow, '--store', storePath])).code, 0);
    const later = await createKeyInStore(storePath);
    assert.equal((await callWithKey(`${gateway.url}/r`, later.key)).status, 200);
    assert.equal((await runCli(['store', 'restore', backupNow, '--store', storePath, '--force'])).code, 0);
    // The key created after the backup no longer exists in the store: the gateway must stop accepting it.
    await waitFor(async () => (await callWithKey(`${gateway.url}/r`, later.key)).code === 'key_invalid', 2000, 'gateway follows the restored store');
    assert.equal((await callWithKey(`${gateway.url}/r`, before.key)).status, 200);
  });

  it('sends a PostgreSQL store to pg_dump, with exit 2', async () => {
    const result = await runCli(['store', 'backup', join(directory.path, 'x.db'), '--store', 'postgres://portcullis@127.0.0.1:1/nowhere']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /pg_dump/);
  });
});
