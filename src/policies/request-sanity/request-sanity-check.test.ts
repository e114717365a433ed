import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeParts, type FakeRequest } from '../../../test/support/fake-context.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { createRequestSanityCheck } from './request-sanity-check.ts';
import { requestSanity } from './index.ts';

const ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, QUERY';

const cases: Array<{ name: string; request: FakeRequest; expected: { code: string; status: number; headers?: Denial['headers'] } | null }> = [
  { name: 'a GET of a path', request: { method: 'GET', url: '/orders?limit=10' }, expected: null },
  { name: 'the root path', request: { method: 'GET', url: '/' }, expected: null },
  ...['HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY'].map((method) => ({ name: `${method}, a forwarded method`, request: { method, url: '/orders' }, expected: null })),
  { name: 'CONNECT (a tunnel)', request: { method: 'CONNECT', url: '/orders' }, expected: { code: 'method_not_allowed', status: 405, headers: [['allow', ALLOW]] } },
  { name: 'TRACE (cross-site tracing)', request: { method: 'TRACE', url: '/orders' }, expected: { code: 'method_not_allowed', status: 405, headers: [['allow', ALLOW]] } },
  { name: 'a method Node knows but the gateway does not forward', request: { method: 'PROPFIND', url: '/orders' }, expected: { code: 'method_not_allowed', status: 405, headers: [['allow', ALLOW]] } },
  { name: 'an absolute-form target naming another host', request: { method: 'GET', url: 'http://internal.example/admin' }, expected: { code: 'request_invalid', status: 400 } },
  { name: 'a scheme-relative target (//host/…)', request: { method: 'GET', url: '//internal.example/admin' }, expected: { code: 'request_invalid', status: 400 } },
  { name: 'the asterisk form (OPTIONS *)', request: { method: 'OPTIONS', url: '*' }, expected: { code: 'request_invalid', status: 400 } },
  { name: 'an empty target', request: { method: 'GET', url: '' }, expected: { code: 'request_invalid', status: 400 } },
  { name: 'a refused method before a refused target', request: { method: 'TRACE', url: 'http://x/' }, expected: { code: 'method_not_allowed', status: 405, headers: [['allow', ALLOW]] } },
];

describe('request-sanity check', () => {
  const check = createRequestSanityCheck();
  for (const { name, request, expected } of cases) {
    it(`${expected === null ? 'passes' : `refuses (${expected.code})`}: ${name}`, () => {
      const outcome = check.run(fakeContext(request)) as Denial | null;
      if (expected === null) return assert.equal(outcome, null);
      assert.equal(outcome?.code, expected.code);
      assert.equal(outcome?.status, expected.status);
      assert.deepEqual(outcome?.headers, expected.headers);
    });
  }

  it('says what a refused target must look like, without echoing it', () => {
    const outcome = check.run(fakeContext({ url: 'http://evil.example/<script>' })) as Denial;
    assert.equal(outcome.detail, 'The request target must be a path starting with "/" (origin form).');
  });

  it('leaves the context as it found it', () => {
    const context = fakeContext({ method: 'POST', url: '/orders?x=1' });
    check.run(context);
    assert.equal(context.upstreamPath, '/orders?x=1');
    assert.equal(context.path, '/orders');
    assert.equal(context.responseHeaders, null);
  });
});

describe('request-sanity policy', () => {
  it('is always in the pipeline, at stage 1, without options', () => {
    assert.equal(requestSanity.stage, 1);
    assert.equal(requestSanity.config, null);
    assert.equal(requestSanity.create({}, fakeParts())?.name, 'request-sanity');
  });
});
