/**
 * The APIs a key belongs to, from the command line: `keys create --api` (checked against the
 * config's `apis` when it has them), `keys show`, `keys export` and `apply -f`, which carry
 * them as the key's other settings.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, temporaryDirectory } from '../support/processes.ts';

describe('keys create --api and the keys file', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const store = join(directory.path, 'keys.db');
  const s = ['--store', store];

  it('stores the APIs, shows them, and leaves a key without --api on every API', async () => {
    const created = await runCli(['keys', 'create', ...s, '--name', 'web-1', '--api', 'orders', '--api', 'billing', '--api', 'orders', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const { id, apis } = JSON.parse(created.stdout) as { id: string; apis: string[] };
    assert.deepEqual(apis, ['orders', 'billing'], 'in order, each once');
    assert.match((await runCli(['keys', 'show', id, ...s])).stdout, /apis\s+orders, billing/);
    const everywhere = JSON.parse((await runCli(['keys', 'create', ...s, '--name', 'web-2', '--json'])).stdout) as { id: string; apis: string[] };
    assert.deepEqual(everywhere.apis, []);
    assert.match((await runCli(['keys', 'show', everywhere.id, ...s])).stdout, /apis\s+all/);
  });

  it('refuses an API name that is not one (exit 2, naming the flag)', async () => {
    for (const bad of ['Orders', 'orders api', '-orders', '']) {
      const result = await runCli(['keys', 'create', ...s, '--name', 'x', '--api', bad]);
      assert.equal(result.code, 2, bad);
      assert.match(result.stderr, /--api: expected an API name/);
    }
  });

  it('refuses an API the config does not list, when the config lists its APIs', async () => {
    const config = join(directory.path, 'portcullis.yaml');
    writeFileSync(config, `store: ${store}\napis:\n  - { name: orders, hosts: [orders.example.test], upstream: { url: "http://127.0.0.1:9" } }\n  - { name: billing, pathPrefix: /billing, upstream: { url: "http://127.0.0.1:9" } }\n`);
    const unknown = await runCli(['keys', 'create', '--config', config, '--name', 'x', '--api', 'reports']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--api: expected one of the APIs of the config \(orders, billing\), found "reports"/);
    const known = await runCli(['keys', 'create', '--config', config, '--name', 'y', '--api', 'billing', '--json']);
    assert.equal(known.code, 0, known.stderr);
    assert.deepEqual((JSON.parse(known.stdout) as { apis: string[] }).apis, ['billing']);
  });

  it('exports the APIs, and apply -f changes them like any other setting', async () => {
    const exported = JSON.parse((await runCli(['keys', 'export', ...s, '--json'])).stdout) as { keys: Array<{ id: string; name: string; apis?: string[] }> };
    const web1 = exported.keys.find((key) => key.name === 'web-1');
    assert.deepEqual(web1?.apis, ['orders', 'billing']);
    assert.equal(exported.keys.find((key) => key.name === 'web-2')?.apis, undefined, 'every API: left out');
    const file = join(directory.path, 'keys.yaml');
    writeFileSync(file, `schemaVersion: 1\nkeys:\n  - id: ${web1?.id}\n    name: web-1\n    apis: [orders]\n`);
    const applied = await runCli(['apply', '-f', file, ...s, '--json']);
    assert.equal(applied.code, 0, applied.stderr);
    const shown = JSON.parse((await runCli(['keys', 'show', web1?.id as string, ...s, '--json'])).stdout) as { apis: string[] };
    assert.deepEqual(shown.apis, ['orders']);
    writeFileSync(file, `schemaVersion: 1\nkeys:\n  - id: ${web1?.id}\n    name: web-1\n    apis: [Orders]\n`);
    const refused = await runCli(['apply', '-f', file, ...s]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /apis/);
  });
});
