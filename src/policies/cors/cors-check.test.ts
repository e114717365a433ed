import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeParts, type FakeRequest } from '../../../test/support/fake-context.ts';
import { ANSWERED, type RequestContext } from '../request-context.ts';
import { createCorsCheck } from './cors-check.ts';
import { compileCorsPolicy, type CorsOptions } from './cors-policy.ts';
import { cors } from './index.ts';

const OPTIONS: CorsOptions = {
  allowedOrigins: ['https://app.example.com', 'https://*.example.org'],
  allowedMethods: ['GET', 'POST'],
  allowedHeaders: ['authorization', 'content-type'],
  exposedHeaders: ['x-request-id', 'ratelimit'],
  allowCredentials: true,
  maxAge: 600_000,
};
const APP = 'https://app.example.com';
const PREFLIGHT_VARY = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
const ALLOWED_PREFLIGHT = (origin: string) => [
  'vary', PREFLIGHT_VARY,
  'access-control-allow-origin', origin,
  'access-control-allow-methods', 'GET, POST',
  'access-control-max-age', '600',
  'access-control-allow-headers', 'authorization, content-type',
  'access-control-allow-credentials', 'true',
];

function preflight(origin: string, method: string, requestedHeaders?: string): FakeRequest {
  const headers = ['Origin', origin, 'Access-Control-Request-Method', method];
  if (requestedHeaders !== undefined) headers.push('Access-Control-Request-Headers', requestedHeaders);
  return { method: 'OPTIONS', url: '/orders', headers };
}

describe('cors check: preflights', () => {
  const check = createCorsCheck(compileCorsPolicy(OPTIONS));
  const cases: Array<{ name: string; request: FakeRequest; head: string[] }> = [
    { name: 'an allowed origin, method and headers', request: preflight(APP, 'POST', 'Content-Type, Authorization'), head: ALLOWED_PREFLIGHT(APP) },
    { name: 'an origin under a wildcard, no requested headers', request: preflight('https://shop.eu.example.org', 'GET'), head: ALLOWED_PREFLIGHT('https://shop.eu.example.org') },
    { name: 'an origin not allowed', request: preflight('https://evil.example', 'GET'), head: ['vary', PREFLIGHT_VARY] },
    { name: 'an origin that only ends like an allowed one', request: preflight('https://app.example.com.evil.example', 'GET'), head: ['vary', PREFLIGHT_VARY] },
    { name: 'the wildcard\'s own domain', request: preflight('https://example.org', 'GET'), head: ['vary', PREFLIGHT_VARY] },
    { name: 'a method not allowed', request: preflight(APP, 'DELETE'), head: ['vary', PREFLIGHT_VARY] },
    { name: 'a header not allowed', request: preflight(APP, 'POST', 'content-type, x-debug'), head: ['vary', PREFLIGHT_VARY] },
  ];
  for (const { name, request, head } of cases) {
    it(`answers 204 ${head.length > 2 ? 'with' : 'without'} CORS headers: ${name}`, () => {
      const context = fakeContext(request);
      assert.equal(check.run(context), ANSWERED);
      assert.equal(context.res.statusCode, 204);
      assert.deepEqual(context.res.head, head);
      assert.equal(context.res.ended, true);
      assert.equal(context.req.readableFlowing, true, 'any body is drained, not left in the socket');
      assert.equal(context.res.headers['content-length'], undefined, 'no Content-Length on a 204 (RFC 9110 §8.6)');
    });
  }

  it('sends no Access-Control-Allow-Headers when no header is allowed, nor credentials when off', () => {
    const bare = createCorsCheck(compileCorsPolicy({ ...OPTIONS, allowedHeaders: [], allowCredentials: false }));
    const context = fakeContext(preflight(APP, 'GET'));
    assert.equal(bare.run(context), ANSWERED);
    assert.deepEqual(context.res.head, ['vary', PREFLIGHT_VARY, 'access-control-allow-origin', APP, 'access-control-allow-methods', 'GET, POST', 'access-control-max-age', '600']);
  });

  it('passes an OPTIONS request that is not a preflight (no Access-Control-Request-Method) on', () => {
    const context = fakeContext({ method: 'OPTIONS', url: '/orders', headers: ['Origin', APP] });
    assert.equal(check.run(context), null);
    assert.equal(context.res.head, null);
    assert.equal(context.res.ended, false);
    assert.equal(context.res.headers['access-control-allow-origin'], APP);
  });
});

describe('cors check: other requests', () => {
  const check = createCorsCheck(compileCorsPolicy(OPTIONS));
  const cases: Array<{ name: string; request: FakeRequest; headers: Record<string, string> }> = [
    {
      name: 'an allowed origin gets its CORS headers',
      request: { method: 'POST', headers: ['Origin', APP] },
      headers: { vary: 'Origin', 'access-control-allow-origin': APP, 'access-control-allow-credentials': 'true', 'access-control-expose-headers': 'x-request-id, ratelimit' },
    },
    { name: 'an origin not allowed gets none', request: { method: 'GET', headers: ['Origin', 'https://evil.example'] }, headers: { vary: 'Origin' } },
    { name: 'a request without Origin gets none', request: { method: 'GET' }, headers: { vary: 'Origin' } },
  ];
  for (const { name, request, headers } of cases) {
    it(`passes on, with Vary: Origin: ${name}`, () => {
      const context = fakeContext(request);
      assert.equal(check.run(context), null);
      assert.deepEqual(context.res.headers, headers);
      assert.equal(context.res.ended, false);
    });
  }

  it('answers * to any origin when every origin is allowed, without credentials', () => {
    const anyOrigin = createCorsCheck(compileCorsPolicy({ ...OPTIONS, allowedOrigins: ['*'], allowCredentials: false, exposedHeaders: [] }));
    const context = fakeContext({ headers: ['Origin', 'https://anyone.example'] });
    assert.equal(anyOrigin.run(context), null);
    assert.deepEqual(context.res.headers, { vary: 'Origin', 'access-control-allow-origin': '*' });
  });
});

describe('cors check: the upstream\'s response', () => {
  const check = createCorsCheck(compileCorsPolicy(OPTIONS));
  const answered = (): RequestContext => {
    const context = fakeContext({ headers: ['Origin', APP] });
    check.run(context);
    return context;
  };

  it('drops the upstream\'s Access-Control-* headers, whatever their case, and keeps the rest in order', () => {
    const upstream = ['Content-Type', 'application/json', 'Access-Control-Allow-Origin', '*', 'access-control-allow-credentials', 'true', 'ACCESS-CONTROL-EXPOSE-HEADERS', 'x-secret', 'X-Trace', '1'];
    assert.deepEqual(check.onUpstreamResponse?.(answered(), upstream, 200), ['Content-Type', 'application/json', 'X-Trace', '1']);
  });

  it('keeps the upstream\'s Vary and repeats the gateway\'s next to it', () => {
    const upstream = ['Vary', 'Accept-Encoding', 'Access-Control-Allow-Origin', 'https://other.example', 'Content-Length', '2'];
    assert.deepEqual(check.onUpstreamResponse?.(answered(), upstream, 200), ['Vary', 'Accept-Encoding', 'Content-Length', '2', 'vary', 'Origin']);
  });
});

describe('cors policy', () => {
  const config = (allowedOrigins: string[]) => ({ cors: { ...OPTIONS, allowedOrigins } });

  it('is off without allowed origins', () => {
    assert.equal(cors.stage, 5);
    assert.equal(cors.create(config([]), fakeParts()), null);
  });

  it('is on with an origin, answering preflights as configured', () => {
    const check = cors.create(config([APP]), fakeParts());
    assert.equal(check?.name, 'cors');
    const context = fakeContext(preflight(APP, 'GET'));
    assert.equal(check?.run(context), ANSWERED);
    assert.deepEqual(context.res.head, ALLOWED_PREFLIGHT(APP));
  });
});
