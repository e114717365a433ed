import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LETTER_CASE_DIFFERS, RouteTable } from './route-table.ts';
import type { Operation } from './operation.ts';
import { grants, isValidKeyScope, requireAlso, satisfies } from './scopes.ts';

function operation(method: string, template: string): Operation {
  return { method, template, source: `${method} ${template}`, scopes: null, maxBodySize: null, rate: null, validation: null };
}

function build(...entries: Array<[string, string]>): RouteTable {
  return RouteTable.build(entries.map(([method, template]) => operation(method, template)));
}

function matchOf(table: RouteTable, path: string): { template: string | null; captures: string[] } {
  const captures: string[] = [];
  const routes = table.match(path, captures);
  return { template: routes === null || routes === LETTER_CASE_DIFFERS ? null : routes.template, captures };
}

describe('RouteTable', () => {
  const table = build(
    ['GET', '/'],
    ['GET', '/orders'],
    ['POST', '/orders'],
    ['GET', '/orders/search'],
    ['GET', '/orders/{orderId}'],
    ['GET', '/orders/{orderId}/items/{itemId}'],
    ['GET', '/orders/{orderId}.{format}'],
    ['GET', '/files/{name}/raw'],
    ['GET', '/files/latest/meta'],
  );

  it('matches literal, templated and mixed segments, capturing values in template order', () => {
    assert.deepEqual(matchOf(table, '/'), { template: '/', captures: [] });
    assert.deepEqual(matchOf(table, '/orders'), { template: '/orders', captures: [] });
    assert.deepEqual(matchOf(table, '/orders/42'), { template: '/orders/{orderId}', captures: ['42'] });
    assert.deepEqual(matchOf(table, '/orders/42/items/7'), { template: '/orders/{orderId}/items/{itemId}', captures: ['42', '7'] });
    assert.deepEqual(matchOf(table, '/orders/42.csv'), { template: '/orders/{orderId}.{format}', captures: ['42', 'csv'] });
    assert.deepEqual(matchOf(table, '/orders/caf%C3%A9'), { template: '/orders/{orderId}', captures: ['caf%C3%A9'] });
  });

  it('prefers concrete segments, and backs up to a templated one when the concrete branch leads nowhere', () => {
    assert.equal(matchOf(table, '/orders/search').template, '/orders/search');
    assert.deepEqual(matchOf(table, '/files/latest/raw'), { template: '/files/{name}/raw', captures: ['latest'] });
    assert.equal(matchOf(table, '/files/latest/meta').template, '/files/latest/meta');
  });

  it('matches exactly the path forwarded, and never guesses letter case: a segment that differs from a literal only in case matches nothing', () => {
    const cased = build(['GET', '/admin/{x}'], ['GET', '/items/export'], ['GET', '/items/{id}'], ['GET', '/files/{name}.JSON']);
    const cases: Array<[path: string, template: string | null, captures: string[]]> = [
      ['/admin/list', '/admin/{x}', ['list']],
      ['/admin/LIST', '/admin/{x}', ['LIST']],
      ['/items/export', '/items/export', []],
      ['/items/7', '/items/{id}', ['7']],
      ['/files/a.JSON', '/files/{name}.JSON', ['a']],
      ['/files/a.json', null, []],
    ];
    for (const [path, template, captures] of cases) assert.deepEqual(matchOf(cased, path), { template, captures }, path);
    for (const path of ['/ADMIN/list', '/Admin/x', '/items/Export', '/items/EXPORT', '/ITEMS/7']) assert.equal(cased.match(path, []), LETTER_CASE_DIFFERS, path);
    assert.equal(table.match('/ORDERS', []), LETTER_CASE_DIFFERS);
    assert.equal(table.match('/orders/Search', []), LETTER_CASE_DIFFERS, 'beside the literal /orders/search');
    assert.equal(matchOf(table, '/orders/Seek').template, '/orders/{orderId}', 'no literal of that spelling in any case: a parameter');
  });

  it('refuses, at build, literal segments at one place that differ only in case', () => {
    assert.throws(() => build(['GET', '/admin/{x}'], ['POST', '/Admin/list']), /"Admin" differs only in case from "admin"/);
    assert.throws(() => build(['GET', '/a/items'], ['GET', '/a/Items/{id}']), /differs only in case/);
    assert.doesNotThrow(() => build(['GET', '/a/items'], ['GET', '/b/Items']), 'in different places they are different paths to every router');
  });

  it('matches nothing else', () => {
    for (const path of ['/nothing', '/orders/42/items', '/orders/42/items/7/x', '/files/a']) assert.equal(matchOf(table, path).template, null, path);
  });

  it('answers HEAD with the GET operation and lists the methods for Allow', () => {
    const routes = table.match('/orders', []);
    assert.ok(routes !== null && routes !== LETTER_CASE_DIFFERS);
    assert.equal(routes.operations.get('HEAD')?.method, 'GET');
    assert.equal(routes.allow, 'GET, HEAD, POST');
  });

  it('refuses two operations that claim the same route, however their parameters are named', () => {
    assert.throws(() => build(['GET', '/orders/{id}'], ['GET', '/orders/{orderId}']), /is the same route as/);
    assert.doesNotThrow(() => build(['GET', '/orders/{id}'], ['DELETE', '/orders/{orderId}']));
  });

  it('refuses templates that differ only in case, whatever their methods: a case-insensitive upstream could not tell them apart', () => {
    const clashes: Array<Array<[string, string]>> = [
      [['GET', '/orders/{id}'], ['GET', '/Orders/{orderId}']],
      [['GET', '/admin'], ['POST', '/ADMIN']],
      [['GET', '/files/{name}.json'], ['GET', '/files/{name}.JSON']],
      [['GET', '/caf%C3%A9'], ['GET', '/CAF%C3%89']],
    ];
    for (const entries of clashes) assert.throws(() => build(...entries), /differs only in case/, JSON.stringify(entries));
    assert.throws(() => build(['GET', '/admin/{x}'], ['GET', '/Admin/list']), /differs only in case/, 'different shapes, but literals beside each other that differ only in case');
  });

  it('refuses templates that no canonical path can match', () => {
    for (const template of ['/orders/', '//orders', '/a/../b', '/a/./b', 'orders', '/a/{x}{y}', '/a%2Fb', '/a;b']) {
      assert.throws(() => build(['GET', template]), Error, template);
    }
  });

  it('matches a mixed segment in linear time, even on adversarial input', () => {
    const mixed = build(['GET', '/r/{a}.{b}.{c}']);
    const started = process.hrtime.bigint();
    assert.equal(matchOf(mixed, `/r/${'.'.repeat(20_000)}`).template, null);
    assert.equal(matchOf(mixed, '/r/x.y.z.w').template, '/r/{a}.{b}.{c}');
    // Generous bound: a catastrophic backtracking regex would take minutes here.
    assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
  });
});

describe('scopes', () => {
  it('grants exact scopes, prefix wildcards and "*"', () => {
    assert.ok(grants('orders:read', 'orders:read'));
    assert.ok(grants('orders:*', 'orders:read'));
    assert.ok(grants('orders:*', 'orders:items:write'));
    assert.ok(grants('*', 'admin'));
    assert.ok(!grants('orders:*', 'orders'));
    assert.ok(!grants('orders:*', 'ordersx:read'));
    assert.ok(!grants('orders:read', 'orders:write'));
    assert.ok(!grants('orders', 'orders:read'));
  });

  it('meets a requirement when any alternative is fully granted', () => {
    assert.ok(satisfies(['orders:*'], [['orders:read', 'orders:write']]));
    assert.ok(!satisfies(['orders:read'], [['orders:read', 'orders:write']]));
    assert.ok(satisfies(['admin'], [['orders:write'], ['admin']]));
    assert.ok(!satisfies([], [['a']]));
    assert.deepEqual(requireAlso([['a'], ['b']], ['c']), [['a', 'c'], ['b', 'c']]);
    assert.deepEqual(requireAlso(null, ['c']), [['c']]);
    assert.equal(requireAlso(null, []), null);
  });

  it('validates key scopes: wildcards only as "*" or a final ":*"', () => {
    for (const scope of ['orders:read', 'orders:*', '*', 'https://api.example.com/read', 'a.b-c_d']) assert.ok(isValidKeyScope(scope), scope);
    for (const scope of ['', 'has space', 'a"b', 'a\\b', 'ord*', 'orders*', ':*', '*:read', 'x'.repeat(129)]) assert.ok(!isValidKeyScope(scope), scope);
  });
});
