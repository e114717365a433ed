import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeParts, type FakeRequest } from '../../../test/support/fake-context.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import type { Operation } from '../../routes/operation.ts';
import { RouteTable } from '../../routes/route-table.ts';
import { createRouteMatchCheck } from './route-match-check.ts';
import { routeMatch } from './index.ts';
import type { ReportOnlySettings } from '../report-only.ts';

/** The settings of a pipeline with nothing in report mode. */
const ENFORCING: ReportOnlySettings = { reportOnly: { policies: new Set(), header: false } };

function operation(method: string, template: string): Operation {
  return { method, template, source: `test ${method} ${template}`, scopes: null, maxBodySize: null, rate: null, validation: null };
}

const OPERATIONS = [
  operation('GET', '/orders'),
  operation('POST', '/orders'),
  operation('GET', '/orders/{orderId}'),
  operation('DELETE', '/orders/{orderId}'),
  operation('GET', '/orders/summary'),
  operation('GET', '/orders/{orderId}/items/{itemId}'),
  operation('GET', '/files/{name}.json'),
];
const TABLE = RouteTable.build(OPERATIONS);

type Expected = { operation: string; pathParameters: string[] } | { code: 'route_not_found' | 'method_not_allowed' | 'path_not_canonical'; status: number; allow?: string };

const cases: Array<{ name: string; request: FakeRequest; expected: Expected }> = [
  { name: 'a literal path', request: { method: 'GET', url: '/orders' }, expected: { operation: 'GET /orders', pathParameters: [] } },
  { name: 'another method on the same path', request: { method: 'POST', url: '/orders' }, expected: { operation: 'POST /orders', pathParameters: [] } },
  { name: 'HEAD where only GET is declared', request: { method: 'HEAD', url: '/orders' }, expected: { operation: 'GET /orders', pathParameters: [] } },
  { name: 'the path without its query', request: { method: 'GET', url: '/orders?limit=5' }, expected: { operation: 'GET /orders', pathParameters: [] } },
  { name: 'a path parameter', request: { method: 'GET', url: '/orders/42' }, expected: { operation: 'GET /orders/{orderId}', pathParameters: ['42'] } },
  { name: 'a path parameter, still percent-encoded', request: { method: 'DELETE', url: '/orders/A%20B' }, expected: { operation: 'DELETE /orders/{orderId}', pathParameters: ['A%20B'] } },
  { name: 'a literal segment before a parameter', request: { method: 'GET', url: '/orders/summary' }, expected: { operation: 'GET /orders/summary', pathParameters: [] } },
  { name: 'a segment that differs from a literal only in case (routers disagree on it)', request: { method: 'GET', url: '/orders/Summary' }, expected: { code: 'path_not_canonical', status: 400 } },
  { name: 'a first segment that differs from a literal only in case', request: { method: 'GET', url: '/ORDERS' }, expected: { code: 'path_not_canonical', status: 400 } },
  { name: 'a segment no literal has in any case is a parameter', request: { method: 'GET', url: '/orders/Sum' }, expected: { operation: 'GET /orders/{orderId}', pathParameters: ['Sum'] } },
  { name: 'two parameters, in template order', request: { method: 'GET', url: '/orders/42/items/7' }, expected: { operation: 'GET /orders/{orderId}/items/{itemId}', pathParameters: ['42', '7'] } },
  { name: 'a parameter inside a segment', request: { method: 'GET', url: '/files/report.json' }, expected: { operation: 'GET /files/{name}.json', pathParameters: ['report'] } },
  { name: 'a path no route has', request: { method: 'GET', url: '/customers' }, expected: { code: 'route_not_found', status: 404 } },
  { name: 'a path longer than every template', request: { method: 'GET', url: '/orders/42/items' }, expected: { code: 'route_not_found', status: 404 } },
  { name: 'a segment the pattern does not match', request: { method: 'GET', url: '/files/report.xml' }, expected: { code: 'route_not_found', status: 404 } },
  { name: 'the root, with no route for it', request: { method: 'GET', url: '/' }, expected: { code: 'route_not_found', status: 404 } },
  { name: 'a method the route lacks', request: { method: 'PUT', url: '/orders' }, expected: { code: 'method_not_allowed', status: 405, allow: 'GET, HEAD, POST' } },
  { name: 'a method the templated route lacks', request: { method: 'POST', url: '/orders/42' }, expected: { code: 'method_not_allowed', status: 405, allow: 'GET, HEAD, DELETE' } },
  { name: 'DELETE on the literal route, which only has GET', request: { method: 'DELETE', url: '/orders/summary' }, expected: { code: 'method_not_allowed', status: 405, allow: 'GET, HEAD' } },
];

describe('route-match check', () => {
  const check = createRouteMatchCheck(TABLE);
  for (const { name, request, expected } of cases) {
    it(`${'code' in expected ? `refuses (${expected.status})` : 'matches'}: ${name}`, () => {
      const context = fakeContext(request);
      const outcome = check.run(context) as Denial | null;
      if ('operation' in expected) {
        assert.equal(outcome, null);
        assert.equal(`${context.operation?.method} ${context.operation?.template}`, expected.operation);
        assert.equal(context.operation, OPERATIONS.find((candidate) => `${candidate.method} ${candidate.template}` === expected.operation), 'the compiled operation itself');
        assert.deepEqual(context.pathParameters, expected.pathParameters);
        return;
      }
      assert.equal(outcome?.code, expected.code);
      assert.equal(outcome?.status, expected.status);
      assert.deepEqual(outcome?.headers, expected.allow === undefined ? undefined : [['allow', expected.allow]]);
      assert.equal(context.operation, null);
      assert.equal(context.pathParameters, null);
    });
  }

  it('matches the canonical path on the context, not req.url', () => {
    const context = fakeContext({ method: 'GET', url: '/orders//42' }, { path: '/orders/42' });
    assert.equal(check.run(context), null);
    assert.deepEqual(context.pathParameters, ['42']);
  });

  it('matches the method the request is judged by (a method override stage 1 honoured), not req.method', () => {
    const overridden = fakeContext({ method: 'POST', url: '/orders/42' }, { method: 'DELETE' });
    assert.equal(check.run(overridden), null);
    assert.equal(overridden.operation?.method, 'DELETE');
    const refused = check.run(fakeContext({ method: 'POST', url: '/orders' }, { method: 'PUT' })) as Denial | null;
    assert.equal(refused?.code, 'method_not_allowed', 'POST /orders exists, PUT does not');
  });

  it('explains a refused method', () => {
    assert.equal((check.run(fakeContext({ method: 'PATCH', url: '/orders' })) as Denial).detail, 'The route does not accept this method.');
    assert.equal((check.run(fakeContext({ method: 'GET', url: '/nope' })) as Denial).detail, 'No route of this API matches the path.');
  });
});

describe('route-match policy', () => {
  it('is off without routes', () => {
    assert.equal(routeMatch.stage, 5);
    assert.equal(routeMatch.create(ENFORCING, fakeParts({ routes: null })), null);
  });

  it('is on with routes, matching against their table', () => {
    const check = routeMatch.create(ENFORCING, fakeParts({ routes: { table: TABLE, operations: OPERATIONS } }));
    assert.equal(check?.name, 'route-match');
    assert.equal((check?.run(fakeContext({ url: '/customers' })) as Denial | null)?.code, 'route_not_found');
    const context = fakeContext({ url: '/orders/9' });
    assert.equal(check?.run(context), null);
    assert.deepEqual(context.pathParameters, ['9']);
  });
});

describe('route-match policy in report mode', () => {
  const reporting: ReportOnlySettings = { reportOnly: { policies: new Set(['route-match']), header: false } };

  it('reports an unknown route and a method the route lacks, never a letter-case refusal', () => {
    const check = routeMatch.create(reporting, fakeParts({ routes: { table: TABLE, operations: OPERATIONS } }));
    const context = fakeContext({ url: '/customers' });
    const unknown = check?.run(context) as Denial;
    assert.equal(unknown.code, 'route_not_found');
    assert.equal(check?.reports?.(unknown, context), true);
    assert.equal(context.operation, null, 'no operation: later checks see an unmatched request');
    const refusedMethod = check?.run(fakeContext({ method: 'PATCH', url: '/orders' })) as Denial;
    assert.equal(refusedMethod.code, 'method_not_allowed');
    assert.equal(check?.reports?.(refusedMethod, context), true);
    const letterCase = check?.run(fakeContext({ url: '/Orders' })) as Denial;
    assert.equal(letterCase.code, 'path_not_canonical');
    assert.equal(check?.reports?.(letterCase, context), false);
  });

  it('has nothing to report when enforcing', () => {
    assert.equal(routeMatch.create(ENFORCING, fakeParts({ routes: { table: TABLE, operations: OPERATIONS } }))?.reports, undefined);
  });
});

describe('route-match policy with several APIs', () => {
  const other = RouteTable.build([operation('GET', '/invoices/{id}')]);
  const apis = [
    { name: 'orders', index: 0, hosts: [], pathPrefix: '/orders', stripPrefix: false, routes: { table: TABLE, operations: OPERATIONS } },
    { name: 'billing', index: 1, hosts: [], pathPrefix: '/billing', stripPrefix: true, routes: { table: other, operations: [] } },
    { name: 'open', index: 2, hosts: [], pathPrefix: '/open', stripPrefix: false, routes: null },
  ];
  const check = routeMatch.create(ENFORCING, fakeParts({ routes: apis[0]?.routes ?? null, apis }));

  it('matches against the table of the API the request matched', () => {
    const billing = fakeContext({ url: '/invoices/9' }, { api: apis[1] ?? null });
    assert.equal(check?.run(billing), null);
    assert.equal(billing.operation?.template, '/invoices/{id}');
    const orders = fakeContext({ url: '/invoices/9' }, { api: apis[0] ?? null });
    assert.equal((check?.run(orders) as Denial).code, 'route_not_found', 'orders has no /invoices');
  });

  it('forwards every route of an API without routes', () => {
    assert.equal(check?.run(fakeContext({ url: '/anything' }, { api: apis[2] ?? null })), null);
  });

  it('is off when no API has routes', () => {
    assert.equal(routeMatch.create(ENFORCING, fakeParts({ apis: apis.map((each) => ({ ...each, routes: null })) })), null);
  });
});
