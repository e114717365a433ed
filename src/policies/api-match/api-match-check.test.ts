import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeParts } from '../../../test/support/fake-context.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { REPEATED_HEADER } from '../../http/raw-headers.ts';
import type { ApiDefinition } from '../policy.ts';
import { createApiMatchCheck } from './api-match-check.ts';
import { apiMatch } from './index.ts';

function api(index: number, name: string, match: Partial<Pick<ApiDefinition, 'hosts' | 'pathPrefix' | 'stripPrefix'>>): ApiDefinition {
  return { name, index, hosts: match.hosts ?? [], pathPrefix: match.pathPrefix ?? '', stripPrefix: match.stripPrefix ?? false, routes: null };
}

const APIS = [
  api(0, 'orders', { hosts: ['orders.example.com'] }),
  api(1, 'billing', { pathPrefix: '/billing', stripPrefix: true }),
  api(2, 'reports', { pathPrefix: '/reports' }),
];

describe('api-match check', () => {
  const check = createApiMatchCheck(APIS);

  it('puts the API matched by host on the context, the path unchanged', () => {
    const context = fakeContext({ url: '/items?x=1', headers: ['Host', 'Orders.Example.com:443'] });
    assert.equal(check?.run(context), null);
    assert.equal(context.api?.name, 'orders');
    assert.equal(context.path, '/items');
    assert.equal(context.upstreamPath, '/items?x=1');
  });

  it('strips the prefix of an API with stripPrefix from the path matched and the path forwarded', () => {
    const context = fakeContext({ url: '/billing/invoices/7?full=1', headers: ['Host', 'api.test'] });
    assert.equal(check?.run(context), null);
    assert.equal(context.api?.name, 'billing');
    assert.equal(context.path, '/invoices/7');
    assert.equal(context.upstreamPath, '/invoices/7?full=1');
  });

  it('forwards the prefix itself as / once stripped', () => {
    const context = fakeContext({ url: '/billing', headers: ['Host', 'api.test'] });
    assert.equal(check?.run(context), null);
    assert.equal(context.upstreamPath, '/');
  });

  it('keeps the prefix of an API without stripPrefix', () => {
    const context = fakeContext({ url: '/reports/2026', headers: ['Host', 'api.test'] });
    assert.equal(check?.run(context), null);
    assert.equal(context.api?.name, 'reports');
    assert.equal(context.upstreamPath, '/reports/2026');
  });

  it('refuses a request no API matches: 404 api_not_found', () => {
    const context = fakeContext({ url: '/items', headers: ['Host', 'api.test'] });
    const outcome = check?.run(context) as Denial;
    assert.equal(outcome.code, 'api_not_found');
    assert.equal(outcome.status, 404);
    assert.equal(context.api, null);
  });

  it('never matches a host it was not given as the one Host (a repeated Host is no host)', () => {
    const context = fakeContext({ url: '/items' }, { host: REPEATED_HEADER });
    assert.equal((check?.run(context) as Denial).code, 'api_not_found');
  });

  it('matches the canonical path stage 1 left on the context, not req.url', () => {
    const context = fakeContext({ url: '/orders/../billing/x', headers: ['Host', 'api.test'] }, { path: '/reports/x', upstreamPath: '/reports/x' });
    assert.equal(check?.run(context), null);
    assert.equal(context.api?.name, 'reports');
  });
});

describe('api-match policy', () => {
  it('makes no check without APIs, or with one API that matches everything', () => {
    assert.equal(apiMatch.stage, 5);
    assert.equal(apiMatch.create({}, fakeParts()), null);
    assert.equal(apiMatch.create({}, fakeParts({ apis: [api(0, 'default', {})] })), null);
  });

  it('makes one for a single API that matches only some requests', () => {
    const check = apiMatch.create({}, fakeParts({ apis: [api(0, 'only', { hosts: ['only.example.com'] })] }));
    assert.equal((check?.run(fakeContext({ headers: ['Host', 'other.example.com'] })) as Denial).code, 'api_not_found');
  });
});
