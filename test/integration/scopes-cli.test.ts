import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { request } from 'undici';
import { startRecordingUpstream } from '../support/recording-upstream.ts';
import { createKeyWithCli, runCli, spawnGateway, temporaryDirectory } from '../support/processes.ts';

const ORDERS_API = resolve(import.meta.dirname, '..', 'fixtures', 'openapi', 'orders-api.yaml');

describe('scopes and --openapi from the command line', () => {
  it('keys create --scope stores validated scopes, shown by keys show', async () => {
    const directory = temporaryDirectory();
    try {
      const store = join(directory.path, 'keys.db');
      const { id } = await createKeyWithCli(store, ['--scope', 'orders:read', '--scope', 'orders:*', '--scope', 'orders:read']);
      const shown = await runCli(['keys', 'show', id, '--store', store, '--json']);
      assert.deepEqual((JSON.parse(shown.stdout) as { scopes: string[] }).scopes, ['orders:read', 'orders:*']);
      const text = await runCli(['keys', 'show', id, '--store', store]);
      assert.match(text.stdout, /scopes\s+orders:read, orders:\*/);
      for (const bad of ['has space', 'a*b', '*:x', '']) {
        const result = await runCli(['keys', 'create', '--store', store, '--name', 'x', '--scope', bad]);
        assert.equal(result.code, 2, bad);
        assert.match(result.stderr, /--scope: expected/);
      }
    } finally {
      directory.remove();
    }
  });

  it('serve --openapi with a broken document exits 2 before listening, naming the location', async () => {
    const directory = temporaryDirectory();
    try {
      const broken = join(directory.path, 'api.yaml');
      writeFileSync(broken, 'openapi: 3.1.0\npaths:\n  /orders:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema:\n              $ref: "#/components/schemas/Order"\n');
      const result = await runCli(['serve', '--listen', '127.0.0.1:0', '--store', join(directory.path, 'keys.db'), '--upstream', 'http://127.0.0.1:9', '--openapi', broken]);
      assert.equal(result.code, 2);
      assert.match(result.stderr, /openapi\.file: api\.yaml#\/paths\/~1orders\/post\/requestBody\/content\/application~1json\/schema\/\$ref: \$ref "#\/components\/schemas\/Order" points to nothing/);
      assert.doesNotMatch(result.stdout, /gateway listening/);
    } finally {
      directory.remove();
    }
  });

  it('serve --openapi enforces the document\'s routes and the key\'s scopes', async () => {
    const directory = temporaryDirectory();
    const upstream = await startRecordingUpstream();
    const store = join(directory.path, 'keys.db');
    const reader = await createKeyWithCli(store, ['--scope', 'orders:read']);
    const gateway = await spawnGateway(['--store', store, '--upstream', upstream.url, '--openapi', ORDERS_API]);
    try {
      const ok = await request(`${gateway.url}/orders/5`, { headers: { 'x-api-key': reader.key } });
      assert.equal(ok.statusCode, 200);
      await ok.body.dump();
      const forbidden = await request(`${gateway.url}/admin/stats`, { headers: { 'x-api-key': reader.key } });
      assert.equal(forbidden.statusCode, 403);
      assert.equal(((await forbidden.body.json()) as { code: string }).code, 'scope_missing');
      const unknown = await request(`${gateway.url}/unknown`, { headers: { 'x-api-key': reader.key } });
      assert.equal(unknown.statusCode, 404);
      await unknown.body.dump();
      assert.equal(upstream.requests.length, 1);
    } finally {
      await gateway.stop();
      await upstream.close();
      directory.remove();
    }
  });
});
