/**
 * Keys as code: `keys export` writes every key's settings, `apply -f` makes a store match a
 * file (plan, create, update, --prune revoke; idempotent; one change set in the audit log),
 * and `keys import` brings in keys issued elsewhere, which then work through the gateway.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { digestKey } from '../../src/keys/key-digest.ts';
import { mintKey } from '../../src/keys/mint-key.ts';
import { startTestGateway, type TestGateway } from '../support/in-process-gateway.ts';
import { runCli, temporaryDirectory } from '../support/processes.ts';
import { startRecordingUpstream, type RecordingUpstream } from '../support/recording-upstream.ts';

interface KeyView extends Record<string, unknown> {
  id: string;
  name: string;
}

async function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(args);
}

async function json<T>(args: string[]): Promise<T> {
  const result = await cli([...args, '--json']);
  assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

async function statusWith(url: string, key: string): Promise<number> {
  const response = await request(`${url}/orders`, { headers: { authorization: `Bearer ${key}` } });
  await response.body.dump();
  return response.statusCode;
}

const FULL_FILE = (fingerprint: string) => `schemaVersion: 1
keys:
  - name: web-1
    tags: [frontend, eu]
    scopes: ['orders:read', 'catalog:*']
    allowedCidrs: [10.0.0.0/8, '2001:db8::/32']
    certFingerprint: ${fingerprint}
    rateLimit: 100/s burst 200
    quota: 10000/day
    expiresAt: '2031-06-30T00:00:00.000Z'
    metadata: { team: web, tier: 2, owners: [alice, bob] }
  - name: web-2
    tags: [frontend]
  - name: batch
    scopes: ['*']
    quota: 300000/month
`;

describe('apply -f: the store made to match a keys file', () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'a.db');
  const s = ['--store', store];
  const keysFile = join(directory.path, 'keys.yaml');
  after(() => directory.remove());

  before(async () => {
    assert.equal((await cli(['store', 'init', ...s])).code, 0);
    // A key made by hand before keys were code: the file will not name it.
    assert.equal((await cli(['keys', 'create', '--name', 'legacy', ...s])).code, 0);
    writeFileSync(keysFile, FULL_FILE('ab'.repeat(32)));
  });

  it('prints the plan, then applies it: each new key printed once; applying again changes nothing', async () => {
    const dry = await cli(['apply', '-f', keysFile, '--dry-run', ...s]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^Plan for .*keys\.yaml:\n {2}\+ create {2}\(new id\) {2}"web-1"\n {2}\+ create {2}\(new id\) {2}"web-2"\n {2}\+ create {2}\(new id\) {2}"batch"\n {2}! keep {4}key_\w+ {2}"legacy": not in the file \(--prune revokes it\)\nPlan: 3 to create, 0 to update, 0 to revoke, 0 unchanged\.\nDry run: nothing was changed\.\n$/);
    assert.equal((await json<KeyView[]>(['keys', 'list', ...s])).length, 1, 'the dry run created nothing');

    const applied = await cli(['apply', '-f', keysFile, ...s]);
    assert.equal(applied.code, 0, applied.stderr);
    const printed = [...applied.stdout.matchAll(/\n {2}(pcl_\w+)\n/g)].map((match) => match[1] as string);
    assert.equal(printed.length, 3, applied.stdout);
    assert.match(applied.stdout, /Store the keys above now: each is shown only this once/);
    assert.match(applied.stdout, /Applied \(change set apply_\w+\)\.\n$/);

    const again = await cli(['apply', '-f', keysFile, ...s]);
    assert.equal(again.code, 0);
    assert.equal(again.stdout, `No changes: the store matches ${keysFile} (3 keys).\n`);
    assert.doesNotMatch(again.stdout, /pcl_/, 'no key is printed twice');
  });

  it('updates the settings that differ, in one change set of the audit log', async () => {
    const exported = (await cli(['keys', 'export', ...s])).stdout;
    assert.doesNotMatch(exported, /pcl_|digest/, 'settings only, never a secret');
    const edited = exported.replace('- 100/s burst 200', '- 50/s').replace('rateLimit: 100/s burst 200', 'rateLimit: 50/s').replace(/(name: web-2\n(?:.*\n)*?\s+tags:\n\s+- frontend)/, '$1\n      - canary');
    const file = join(directory.path, 'edited.yaml');
    writeFileSync(file, edited);
    const plan = await json<{ plan: { update: Array<{ name: string; changes: Array<{ setting: string; from: unknown; to: unknown }> }> } }>(['apply', '-f', file, '--dry-run', ...s]);
    assert.deepEqual(plan.plan.update.map(({ name, changes }) => [name, changes]).sort(), [
      ['web-1', [{ setting: 'rateLimit', from: '100/s burst 200', to: '50/s' }]],
      ['web-2', [{ setting: 'tags', from: ['frontend'], to: ['frontend', 'canary'] }]],
    ]);
    const result = await json<{ changeSet: string; applied: boolean }>(['apply', '-f', file, ...s]);
    assert.equal(result.applied, true);
    const audit = await json<Array<{ action: string; details: { changeSet?: string } }>>(['audit', 'list', '--limit', '2', ...s]);
    assert.deepEqual(audit.map((entry) => [entry.action, entry.details.changeSet]), [['key.updated', result.changeSet], ['key.updated', result.changeSet]]);
    assert.equal((await cli(['apply', '-f', file, ...s])).stdout, `No changes: the store matches ${file} (4 keys).\n`, 'the export named legacy too');
  });

  it('--prune revokes the live keys the file no longer names; without it they are kept', async () => {
    const listed = await json<KeyView[]>(['keys', 'list', ...s]);
    const batch = listed.find((key) => key.name === 'batch') as KeyView;
    const legacy = listed.find((key) => key.name === 'legacy') as KeyView;
    const exported = await json<{ keys: Array<{ name: string }> }>(['keys', 'export', ...s]);
    const file = join(directory.path, 'fewer.json');
    writeFileSync(file, JSON.stringify({ schemaVersion: 1, keys: exported.keys.filter((key) => key.name !== 'batch' && key.name !== 'legacy') }));
    const kept = await json<{ applied: boolean; plan: { keep: KeyView[] } }>(['apply', '-f', file, ...s]);
    assert.equal(kept.applied, false);
    assert.deepEqual(kept.plan.keep.map((key) => key.id).sort(), [batch.id, legacy.id].sort());
    const pruned = await cli(['apply', '-f', file, '--prune', ...s]);
    assert.match(pruned.stdout, new RegExp(` {2}- revoke {2}${batch.id} {2}"batch": not in the file\n`));
    assert.match(pruned.stdout, /Plan: 0 to create, 0 to update, 2 to revoke, 2 unchanged\./);
    const shown = await json<{ status: string; revokedReason: string }>(['keys', 'show', batch.id, ...s]);
    assert.deepEqual([shown.status, shown.revokedReason], ['revoked', `not in ${file}`]);
    assert.equal((await cli(['apply', '-f', file, '--prune', ...s])).stdout, `No changes: the store matches ${file} (2 keys).\n`);
  });

  it('export → apply on a fresh store reproduces every setting, field by field', async () => {
    const fresh = join(directory.path, 'fresh.db');
    const source = join(directory.path, 'source.db');
    const file = join(directory.path, 'full.yaml');
    writeFileSync(file, FULL_FILE('cd'.repeat(32)));
    assert.equal((await cli(['store', 'init', '--store', source])).code, 0);
    assert.equal((await cli(['apply', '-f', file, '--store', source])).code, 0);
    const exported = join(directory.path, 'exported.yaml');
    writeFileSync(exported, (await cli(['keys', 'export', '--store', source])).stdout);
    assert.equal((await cli(['store', 'init', '--store', fresh])).code, 0);
    const applied = await cli(['apply', '-f', exported, '--store', fresh]);
    assert.equal(applied.code, 0, applied.stderr);
    // Everything but the secret (and what is derived from it) and the times of this store's own history.
    const ignored = new Set(['store', 'displayPrefix', 'createdAt', 'lastUsedAt', 'lastUsedAddress']);
    const comparable = (shown: Record<string, unknown>) => Object.fromEntries(Object.entries(shown).filter(([field]) => !ignored.has(field)));
    const originals = await json<KeyView[]>(['keys', 'list', '--store', source]);
    assert.equal(originals.length, 3);
    for (const original of originals) {
      const before = await json<Record<string, unknown>>(['keys', 'show', original.id, '--store', source]);
      const after = await json<Record<string, unknown>>(['keys', 'show', original.id, '--store', fresh]);
      assert.deepEqual(comparable(after), comparable(before), original.name);
    }
    const full = await json<Record<string, unknown>>(['keys', 'show', (originals.find((key) => key.name === 'web-1') as KeyView).id, '--store', fresh]);
    assert.deepEqual([full.tags, full.scopes, full.allowedCidrs, full.certFingerprint, full.rateLimit, full.quota, full.expiresAt, full.metadata], [
      ['frontend', 'eu'], ['orders:read', 'catalog:*'], ['10.0.0.0/8', '2001:db8::/32'], 'cd'.repeat(32), '100/s burst 200', '10000/day', '2031-06-30T00:00:00.000Z', { team: 'web', tier: 2, owners: ['alice', 'bob'] },
    ]);
  });

  it('refuses a file it cannot apply, changing nothing (exit 2 for the file, 1 for a conflict with the store)', async () => {
    const bad = join(directory.path, 'bad.yaml');
    writeFileSync(bad, 'schemaVersion: 1\nkeys:\n  - { name: x, rate: 5/s }\n');
    const invalid = await cli(['apply', '-f', bad, ...s]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /^portcullis: error: .*bad\.yaml: not a valid keys file:\n {2}- keys\[0\] \(x\)\.rate: no such setting/);
    const revoked = (await json<KeyView[]>(['keys', 'list', ...s])).find((key) => key.name === 'batch') as KeyView;
    writeFileSync(bad, `schemaVersion: 1\nkeys:\n  - { id: ${revoked.id}, name: batch }\n`);
    const conflict = await cli(['apply', '-f', bad, ...s]);
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /is revoked, and a revocation cannot be undone/);
  });
});

describe('keys import: keys issued elsewhere, in bulk, in one transaction', () => {
  const directory = temporaryDirectory();
  const store = join(directory.path, 'k.db');
  const s = ['--store', store];
  let upstream: RecordingUpstream;
  let gateway: TestGateway;
  before(async () => {
    assert.equal((await cli(['store', 'init', ...s])).code, 0);
    upstream = await startRecordingUpstream();
    gateway = await startTestGateway(upstream.url, store);
  });
  after(async () => {
    await gateway?.stop();
    await upstream?.close();
    directory.remove();
  });

  it('imports keys and digests; an imported key works through the gateway; importing again skips them', async () => {
    const [plain, hashed, withSettings] = [mintKey('pcl'), mintKey('pcl'), mintKey('pcl')];
    const file = join(directory.path, 'keys.txt');
    writeFileSync(file, `# issued by the old gateway\n${plain.key}\n\nsha256:${digestKey(hashed.key)}\n{"key": "${withSettings.key}", "name": "partner-acme", "tags": ["partner"], "scopes": ["orders:read"]}\n`);
    const imported = await json<{ read: number; created: number; alreadyStored: number; changeSet: string }>(['keys', 'import', file, '--tag', 'migrated', ...s]);
    assert.deepEqual([imported.read, imported.created, imported.alreadyStored], [3, 3, 0]);
    for (const key of [plain.key, hashed.key, withSettings.key]) assert.equal(await statusWith(gateway.url, key), 200);
    assert.equal(await statusWith(gateway.url, mintKey('pcl').key), 401, 'a key never imported is refused');
    const keys = await json<KeyView[]>(['keys', 'list', ...s]);
    assert.deepEqual(keys.map((key) => [key.name, key.tags]).sort(), [['imported', ['migrated']], ['imported', ['migrated']], ['partner-acme', ['partner']]]);
    assert.ok(keys.some((key) => key.displayPrefix === '(digest)'));
    const audit = await json<Array<{ details: { changeSet?: string } }>>(['audit', 'list', ...s]);
    assert.deepEqual([...new Set(audit.map((entry) => entry.details.changeSet))], [imported.changeSet]);
    const again = await cli(['keys', 'import', file, ...s]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^Imported 0 keys from .* \(change set import_\w+\); 3 already in the store \(skipped\)\.\n$/);
  });

  it('imports nothing when one line is wrong, naming the line (exit 2)', async () => {
    const file = join(directory.path, 'bad.txt');
    writeFileSync(file, `${mintKey('pcl').key}\nsk_live_notaportculliskey\n${'f'.repeat(64)}\n{"sha256": "${'e'.repeat(64)}", "tags": ["bad tag!"]}\n`);
    const before = (await json<KeyView[]>(['keys', 'list', ...s])).length;
    const result = await cli(['keys', 'import', file, ...s]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /bad\.txt: nothing was imported:\n {2}- line 2: not a key the gateway accepts .*keys\.acceptedPrefixes: pcl\)\n {2}- line 3: not a key .*; for digests, give --digests or write sha256:<hex>\n {2}- line 4: key\.tags: expected letters/);
    assert.equal((await json<KeyView[]>(['keys', 'list', ...s])).length, before);
    const digests = join(directory.path, 'digests.txt');
    writeFileSync(digests, `${'f'.repeat(64)}\n`);
    assert.equal((await json<{ created: number }>(['keys', 'import', digests, '--digests', ...s])).created, 1);
  });

  it('imports 20,000 digests in one transaction', async () => {
    const file = join(directory.path, 'bulk.txt');
    writeFileSync(file, Array.from({ length: 20_000 }, (_, index) => `sha256:${digestKey(`bulk-${index}`)}`).join('\n'));
    const result = await json<{ created: number; seconds: number }>(['keys', 'import', file, '--tag', 'bulk', ...s]);
    assert.equal(result.created, 20_000);
    const verified = await json<{ ok: boolean }>(['audit', 'verify', ...s]);
    assert.equal(verified.ok, true);
  });
});
