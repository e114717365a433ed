import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'undici';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { createKeyWithCli, runCli, temporaryDirectory } from '../support/processes.ts';

async function statusWith(url: string, key: string): Promise<{ status: number; code?: string }> {
  const response = await request(url, { headers: { authorization: `Bearer ${key}` } });
  if (response.statusCode === 200) {
    await response.body.dump();
    return { status: 200 };
  }
  const problem = (await response.body.json()) as { code: string };
  return { status: response.statusCode, code: problem.code };
}

/** Polls until `predicate` holds; returns the elapsed milliseconds, or throws after `limit`. */
async function waitFor(predicate: () => Promise<boolean>, limit: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limit) {
    if (await predicate()) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`condition not met within ${limit} ms`);
}

describe('key lifecycle across processes (CLI ⇄ running gateway)', () => {
  const directory = temporaryDirectory();
  const storePath = join(directory.path, 'keys.db');
  let upstream: RecordingUpstream;
  let gateway: TestGateway;

  before(async () => {
    upstream = await startRecordingUpstream();
    // The default poll interval, as a user runs it.
    gateway = await startTestGateway(upstream.url, storePath, { env: { PORTCULLIS_CHANGE_FEED_POLL_INTERVAL: '50ms' } });
  });
  after(async () => {
    await gateway.stop();
    await upstream.close();
    directory.remove();
  });

  it('a key revoked by the CLI in another process is refused within 1 s', async () => {
    const { id, key } = await createKeyWithCli(storePath);
    assert.equal((await statusWith(`${gateway.url}/r`, key)).status, 200, 'works before revocation (and is now cached)');
    const revoked = await runCli(['keys', 'revoke', id, '--store', storePath, '--reason', 'instance compromised']);
    assert.equal(revoked.code, 0, revoked.stderr);
    const elapsed = await waitFor(async () => (await statusWith(`${gateway.url}/r`, key)).code === 'key_revoked', 1000);
    process.stdout.write(`# revocation reached the gateway ${elapsed.toFixed(1)} ms after the CLI exited\n`);
    assert.ok(elapsed < 1000);
    const shown = JSON.parse((await runCli(['keys', 'show', id, '--store', storePath, '--json'])).stdout) as { status: string; revokedReason: string };
    assert.equal(shown.status, 'revoked');
    assert.equal(shown.revokedReason, 'instance compromised');
  });

  it('revoking by tag bans every key of that tag and leaves others alone', async () => {
    const web1 = await createKeyWithCli(storePath, ['--tag', 'frontend']);
    const web2 = await createKeyWithCli(storePath, ['--tag', 'frontend']);
    const batch = await createKeyWithCli(storePath, ['--tag', 'batch']);
    for (const { key } of [web1, web2, batch]) assert.equal((await statusWith(`${gateway.url}/t`, key)).status, 200);
    const result = await runCli(['keys', 'revoke', '--tag', 'frontend', '--store', storePath, '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual((JSON.parse(result.stdout) as Array<{ id: string }>).map((record) => record.id).sort(), [web1.id, web2.id].sort());
    await waitFor(async () => (await statusWith(`${gateway.url}/t`, web1.key)).code === 'key_revoked' && (await statusWith(`${gateway.url}/t`, web2.key)).code === 'key_revoked', 1000);
    assert.equal((await statusWith(`${gateway.url}/t`, batch.key)).status, 200);
  });

  it('a rotated key and its replacement both work during the grace period, then only the replacement', async () => {
    const { id, key: oldKey } = await createKeyWithCli(storePath, ['--tag', 'rotating']);
    assert.equal((await statusWith(`${gateway.url}/g`, oldKey)).status, 200);
    const rotated = await runCli(['keys', 'rotate', id, '--grace', '2s', '--store', storePath, '--json']);
    assert.equal(rotated.code, 0, rotated.stderr);
    const replacement = JSON.parse(rotated.stdout) as { id: string; key: string; tags: string[]; replaces: string };
    assert.equal(replacement.replaces, id);
    assert.deepEqual(replacement.tags, ['rotating'], 'the new key inherits the settings');
    assert.equal((await statusWith(`${gateway.url}/g`, replacement.key)).status, 200);
    // Give the feed time to apply the rotation, then check the old key is still inside its grace.
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await statusWith(`${gateway.url}/g`, oldKey)).status, 200, 'the old key works during the grace period');
    await waitFor(async () => (await statusWith(`${gateway.url}/g`, oldKey)).code === 'key_expired', 4000);
    assert.equal((await statusWith(`${gateway.url}/g`, replacement.key)).status, 200);
    assert.equal(upstream.requests.at(-1)!.headers['x-portcullis-key-id'], replacement.id);
  });

  it('a key created with --expires-in stops working when it expires', async () => {
    const created = await runCli(['keys', 'create', '--store', storePath, '--json', '--name', 'short-lived', '--expires-in', '3s']);
    assert.equal(created.code, 0, created.stderr);
    const { key, expiresAt } = JSON.parse(created.stdout) as { key: string; expiresAt: string };
    const expiry = Date.parse(expiresAt);
    assert.ok(Math.abs(expiry - (Date.now() + 3000)) < 3000, `expiresAt ${expiresAt} is about 3 s from now`);
    // On a loaded machine the CLI itself may take seconds: only a request clearly before expiry must pass.
    const sentAt = Date.now();
    const before = await statusWith(`${gateway.url}/x`, key);
    if (sentAt < expiry - 500) assert.equal(before.status, 200);
    await waitFor(async () => (await statusWith(`${gateway.url}/x`, key)).code === 'key_expired', 8000);
  });

  it('a key is printed once: list and show never contain it', async () => {
    const { id, key } = await createKeyWithCli(storePath, ['--tag', 'secretcheck']);
    const listed = await runCli(['keys', 'list', '--store', storePath, '--json']);
    const shown = await runCli(['keys', 'show', id, '--store', storePath]);
    for (const output of [listed.stdout, shown.stdout]) {
      assert.ok(!output.includes(key));
      assert.ok(!output.includes(key.slice(4, 20)), 'not even a long fragment of the secret');
    }
    assert.ok(listed.stdout.includes(id));
  });

  it('last-used time and address are recorded in batches and shown by the CLI', async () => {
    const { id, key } = await createKeyWithCli(storePath);
    assert.equal((await statusWith(`${gateway.url}/u`, key)).status, 200);
    // Flush now rather than waiting for the interval (SIGTERM also flushes).
    await gateway.gateway.flushUsage();
    const shown = JSON.parse((await runCli(['keys', 'show', id, '--store', storePath, '--json'])).stdout) as { lastUsedAt: string | null; lastUsedAddress: string | null };
    assert.notEqual(shown.lastUsedAt, null);
    assert.equal(shown.lastUsedAddress, '127.0.0.1');
  });
});

describe('CLI usage errors', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());

  it('exits 2 with a message naming the flag', async () => {
    const store = join(directory.path, 'k.db');
    const cases: Array<[string[], RegExp]> = [
      [['keys', 'create', '--store', store], /--name/],
      [['keys', 'create', '--name', 'x', '--expires-in', 'soon', '--store', store], /--expires-in: expected a duration/],
      [['keys', 'create', '--name', 'x', '--tag', 'bad tag!', '--store', store], /--tag/],
      [['keys', 'revoke', '--store', store], /exactly one of a key id or --tag/],
      [['keys', 'rotate', 'key_x', '--grace', 'long', '--store', store], /--grace/],
      [['keys', 'list', '--limit', '0', '--store', store], /--limit/],
      [['serve', '--listen', 'nowhere', '--store', store], /listen \(from --listen\): expected HOST:PORT/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(' ')} → ${result.code}: ${result.stderr}`);
      assert.match(result.stderr, message);
    }
  });

  it('exits 1 for an unknown key id', async () => {
    const result = await runCli(['keys', 'show', 'key_doesnotexist', '--store', join(directory.path, 'k.db')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /No key with id/);
  });
});
