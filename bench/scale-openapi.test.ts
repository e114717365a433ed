import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../src/app/config.ts';
import { loadRoutes } from '../src/app/routes.ts';
import type { PathRoutes } from '../src/routes/route-table.ts';
import { scaleDescription, scaleRequestTargets } from './scale-openapi.ts';

const directory = mkdtempSync(join(tmpdir(), 'portcullis-scale-openapi-'));
after(() => rmSync(directory, { recursive: true, force: true }));

type Paths = Record<string, Record<string, unknown>>;
const METHODS = new Set(['get', 'put']);

function operationCount(description: object): number {
  const paths = (description as { paths: Paths }).paths;
  return Object.values(paths).reduce((sum, item) => sum + Object.keys(item).filter((name) => METHODS.has(name)).length, 0);
}

test('scaleDescription has exactly the operations asked for, with unique operation ids', () => {
  for (const operations of [1, 2, 10, 11, 10_000]) {
    const description = scaleDescription(operations);
    assert.equal(operationCount(description), operations, `${operations} operations`);
    const ids = Object.values((description as { paths: Paths }).paths).flatMap((item) => Object.entries(item).filter(([name]) => METHODS.has(name)).map(([, operation]) => (operation as { operationId: string }).operationId));
    assert.equal(new Set(ids).size, operations);
  }
  assert.throws(() => scaleDescription(0), RangeError);
  assert.throws(() => scaleDescription(2.5), RangeError);
});

test('scaleRequestTargets spreads over the GET operations, first and last included, and stays in range', () => {
  assert.deepEqual(scaleRequestTargets(10, 100).map((target) => target.split('?')[0]), ['/resources0/1', '/resources1/2', '/resources2/3', '/resources3/4', '/resources4/5']);
  const spread = scaleRequestTargets(10_000, 5);
  assert.deepEqual(spread.map((target) => target.split('?')[0]), ['/resources0/1', '/resources1250/1251', '/resources2500/2501', '/resources3749/3750', '/resources4999/5000']);
  assert.equal(scaleRequestTargets(10_000, 1).length, 1);
  for (const target of scaleRequestTargets(10_000, 100)) {
    const url = new URL(target, 'http://x');
    const index = Number(/^\/resources(\d+)\//.exec(url.pathname)![1]);
    const limit = Number(url.searchParams.get('limit'));
    assert.ok(limit >= 1 && limit <= 100 + index, `${target}: limit within the operation's maximum`);
    assert.equal(url.searchParams.get('state'), 'active');
  }
});

test('the gateway loads the description, and every request target routes to its GET operation', () => {
  const file = join(directory, 'scale-11.json');
  writeFileSync(file, JSON.stringify(scaleDescription(11)));
  const routes = loadRoutes(loadConfig({ env: { PORTCULLIS_OPENAPI_FILE: file }, cwd: directory }));
  assert.ok(routes !== null);
  assert.equal(routes.operations.length, 11);
  for (const target of scaleRequestTargets(11, 100)) {
    const get = (routes.table.match(target.split('?')[0]!, []) as PathRoutes | null)?.operations.get('GET');
    assert.ok(get !== undefined, `${target} routes to a GET`);
    assert.ok(get.validation?.validateParameters != null, `${target}: its parameters are validated`);
  }
  assert.equal(routes.table.match('/resources6/1', []), null, 'no path past the last');
});
