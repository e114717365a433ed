import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fakeContext, fakeParts, type FakeRequest } from '../../../test/support/fake-context.ts';
import { temporaryDirectory } from '../../../test/support/processes.ts';
import { loadConfig } from '../../app/config.ts';
import { ConfigError } from '../../config/config-error.ts';
import { createRequestHeaderScanner } from '../../engine/request-header-scanner.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { dashSpelling } from '../../http/protected-headers.ts';
import type { RequestContext } from '../request-context.ts';
import type { HeadersSettings } from './headers-config.ts';
import { createRequestSanityCheck, type RequestSanityOptions } from './request-sanity-check.ts';
import { requestSanity } from './index.ts';

const ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, QUERY';
const scanHeaders = createRequestHeaderScanner([]);

/** A context as the engine leaves it before the first check: its headers through the real header pass. */
function scanned(request: FakeRequest): RequestContext {
  const context = fakeContext(request);
  scanHeaders(context.req.rawHeaders, context);
  return context;
}

type Expected = { code: string; status: number; detail?: RegExp; headers?: Denial['headers'] } | null;

function run(request: FakeRequest, options?: Partial<RequestSanityOptions>) {
  const check = createRequestSanityCheck({ underscores: 'drop', allowUnderscores: [], methodOverride: 'strip', configuredHeaders: ['authorization', 'x-api-key'], ...options });
  const context = scanned(request);
  return { outcome: check.run(context), context };
}

function assertOutcome(outcome: Denial | null, expected: Expected): void {
  if (expected === null) return assert.equal(outcome, null);
  assert.equal(outcome?.code, expected.code);
  assert.equal(outcome?.status, expected.status);
  if (expected.detail) assert.match(outcome.detail, expected.detail);
  if (expected.headers) assert.deepEqual(outcome.headers, expected.headers);
}

describe('request-sanity check: method and target', () => {
  const cases: Array<{ name: string; request: FakeRequest; expected: Expected }> = [
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
  for (const { name, request, expected } of cases) {
    it(`${expected === null ? 'passes' : `refuses (${expected.code})`}: ${name}`, () => assertOutcome(run(request).outcome, expected));
  }

  it('says what a refused target must look like, without echoing it', () => {
    assert.equal(run({ url: 'http://evil.example/<script>' }).outcome?.detail, 'The request target must be a path starting with "/" (origin form).');
  });

  it('leaves the context as it found it', () => {
    const { context } = run({ method: 'POST', url: '/orders?x=1', headers: ['Host', 'api.example', 'Accept', '*/*'] });
    assert.equal(context.upstreamPath, '/orders?x=1');
    assert.equal(context.path, '/orders');
    assert.equal(context.method, 'POST');
    assert.deepEqual(context.upstreamHeaders, ['Accept', '*/*']);
    assert.equal(context.responseHeaders, null);
  });
});

describe('request-sanity check: Host (RFC 9112 §3.2)', () => {
  const invalidHost = { code: 'request_invalid', status: 400, detail: /Host header must be/ };
  const cases: Array<{ name: string; headers: string[]; expected: Expected }> = [
    { name: 'a host name', headers: ['Host', 'api.example'], expected: null },
    { name: 'a host name and port', headers: ['Host', 'api.example:8443'], expected: null },
    { name: 'an IPv6 literal and port', headers: ['Host', '[::1]:8080'], expected: null },
    { name: 'no Host (HTTP/1.0; Node refuses HTTP/1.1 without one)', headers: [], expected: null },
    { name: 'a list of hosts', headers: ['Host', 'api.example,evil.example'], expected: invalidHost },
    { name: 'user info', headers: ['Host', 'user@evil.example'], expected: invalidHost },
    { name: 'a space', headers: ['Host', 'api.example evil.example'], expected: invalidHost },
    { name: 'an empty Host', headers: ['Host', ''], expected: invalidHost },
    { name: 'a bad port', headers: ['Host', 'api.example:99999'], expected: invalidHost },
    { name: 'two Host headers', headers: ['Host', 'api.example', 'Host', 'evil.example'], expected: { code: 'request_invalid', status: 400, detail: /more than one Host/ } },
  ];
  for (const { name, headers, expected } of cases) {
    it(`${expected === null ? 'passes' : 'refuses'}: ${name}`, () => assertOutcome(run({ headers }).outcome, expected));
  }
});

describe('request-sanity check: Connection naming an end-to-end header', () => {
  const refused = { code: 'request_invalid', status: 400, detail: /Connection header names a header/ };
  const protectedNames = ['Content-Length', 'content-type', 'Content-Encoding', 'Transfer-Encoding', 'Host', 'Expect', 'Authorization', 'X-API-Key', 'X-Request-Id', 'X-Forwarded-For', 'x-forwarded-host', 'X-Forwarded-Prefix', 'Forwarded', 'X-Real-IP', 'X-Portcullis-Key-Id', 'X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override', 'X-Client-IP'];
  for (const name of protectedNames) {
    it(`refuses Connection: ${name}`, () => assertOutcome(run({ headers: ['Connection', `keep-alive, ${name}`] }, { configuredHeaders: ['authorization', 'x-api-key', 'x-client-ip'] }).outcome, refused));
  }
  for (const value of ['close', 'keep-alive', 'Upgrade', 'TE', 'X-Hop, x-trace']) {
    it(`passes Connection: ${value}, dropping what it names`, () => {
      const { outcome, context } = run({ headers: ['Connection', value, 'X-Hop', '1', 'X-Trace', '2', 'Accept', '*/*'] });
      assert.equal(outcome, null);
      assert.deepEqual(context.upstreamHeaders, value.startsWith('X-Hop') ? ['Accept', '*/*'] : ['X-Hop', '1', 'X-Trace', '2', 'Accept', '*/*']);
    });
  }
  it('refuses a key header only when it is one: a header other parts do not read may be hop-by-hop', () => {
    assert.equal(run({ headers: ['Connection', 'x-custom-key'] }).outcome, null);
    assertOutcome(run({ headers: ['Connection', 'x-custom-key'] }, { configuredHeaders: ['x-custom-key'] }).outcome, refused);
  });
});

describe('request-sanity check: header names with "_" or "."', () => {
  const ambiguous = { code: 'header_ambiguous', status: 400 };
  const cases: Array<{ name: string; headers: string[]; options?: Partial<RequestSanityOptions>; expected: Expected; upstream?: string[] }> = [
    { name: 'by default, an alias of a key header is dropped', headers: ['X_API_Key', 'pcl_x', 'Accept', '*/*'], expected: null, upstream: ['Accept', '*/*'] },
    { name: 'by default, aliases of identity and forwarding headers are dropped', headers: ['x.portcullis.key.id', 'admin', 'X_Forwarded_For', '1.2.3.4', 'x_request_id', 'r'], expected: null, upstream: [] },
    { name: 'by default, any other name with "_" is dropped too', headers: ['X_Trace', '1', 'Accept', '*/*'], expected: null, upstream: ['Accept', '*/*'] },
    { name: 'refuse: a name with "_"', headers: ['X_Trace', '1'], options: { underscores: 'refuse' }, expected: { ...ambiguous, detail: /contains "_" or "."/ } },
    { name: 'refuse: a name with "."', headers: ['x.api.key', 'k'], options: { underscores: 'refuse' }, expected: ambiguous },
    { name: 'refuse: a request without one passes', headers: ['X-Trace', '1'], options: { underscores: 'refuse' }, expected: null, upstream: ['X-Trace', '1'] },
    { name: 'an allowed name is forwarded as sent', headers: ['X_Tenant', 'acme', 'Accept', '*/*'], options: { allowUnderscores: ['x_tenant'] }, expected: null, upstream: ['Accept', '*/*', 'X_Tenant', 'acme'] },
    { name: 'an allowed name is forwarded when others are refused', headers: ['x_tenant', 'acme'], options: { underscores: 'refuse', allowUnderscores: ['x_tenant'] }, expected: null, upstream: ['x_tenant', 'acme'] },
    { name: 'refuse: an allowed name beside one that is not', headers: ['x_tenant', 'acme', 'x_other', '1'], options: { underscores: 'refuse', allowUnderscores: ['x_tenant'] }, expected: ambiguous },
    { name: 'an allowed name beside its dash spelling', headers: ['X_Tenant', 'acme', 'X-Tenant', 'other'], options: { allowUnderscores: ['x_tenant'] }, expected: { ...ambiguous, detail: /two spellings/ } },
    { name: 'an allowed name beside its dot spelling', headers: ['X_Tenant', 'acme', 'x.tenant', 'other'], options: { allowUnderscores: ['x_tenant'] }, expected: ambiguous },
    { name: 'an allowed name twice, in two cases, is one header', headers: ['X_Tenant', 'a', 'x_tenant', 'b'], options: { allowUnderscores: ['x_tenant'] }, expected: null, upstream: ['X_Tenant', 'a', 'x_tenant', 'b'] },
    { name: 'an allowed name that Connection names stays hop-by-hop', headers: ['Connection', 'x_tenant', 'x_tenant', 'acme'], options: { allowUnderscores: ['x_tenant'] }, expected: null, upstream: [] },
  ];
  for (const { name, headers, options, expected, upstream } of cases) {
    it(`${expected === null ? 'passes' : `refuses (${expected.code})`}: ${name}`, () => {
      const { outcome, context } = run({ headers }, options);
      assertOutcome(outcome, expected);
      if (upstream) assert.deepEqual(context.upstreamHeaders, upstream);
    });
  }

  it('never forwards a name with "_" or "." that is not allowed, whatever the headers', () => {
    const name = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.oneof(name, fc.constantFrom('X_Tenant', 'x-tenant', 'Connection')), fc.stringMatching(/^[ -~]{0,8}$/)), { maxLength: 8 }), (lines) => {
        const { outcome, context } = run({ headers: lines.flat() }, { allowUnderscores: ['x_tenant'] });
        if (outcome !== null) return;
        for (let index = 0; index < context.upstreamHeaders.length; index += 2) {
          const forwarded = context.upstreamHeaders[index] as string;
          if (/[_.]/.test(forwarded)) assert.equal(dashSpelling(forwarded), 'x-tenant');
        }
      }),
    );
  });
});

describe('request-sanity check: method override headers', () => {
  const cases: Array<{ name: string; method: string; headers: string[]; honour: boolean; expected: Expected; method_?: string; forwarded?: boolean }> = [
    { name: 'stripped by default', method: 'POST', headers: ['X-HTTP-Method-Override', 'DELETE'], honour: false, expected: null, method_: 'POST', forwarded: false },
    { name: 'stripped by default, even when they disagree', method: 'GET', headers: ['X-HTTP-Method', 'DELETE', 'X-Method-Override', 'PUT'], honour: false, expected: null, method_: 'GET', forwarded: false },
    { name: 'honoured on POST: judged as that method, and forwarded', method: 'POST', headers: ['X-HTTP-Method-Override', 'DELETE'], honour: true, expected: null, method_: 'DELETE', forwarded: true },
    { name: 'honoured in lower case, as frameworks upper-case it', method: 'POST', headers: ['x-method-override', 'patch'], honour: true, expected: null, method_: 'PATCH', forwarded: true },
    { name: 'several headers naming one method', method: 'POST', headers: ['X-HTTP-Method', 'PUT', 'X-HTTP-Method-Override', 'PUT'], honour: true, expected: null, method_: 'PUT', forwarded: true },
    { name: 'headers naming different methods', method: 'POST', headers: ['X-HTTP-Method', 'PUT', 'X-HTTP-Method-Override', 'DELETE'], honour: true, expected: { code: 'request_invalid', status: 400, detail: /different methods/ } },
    { name: 'an override on GET (some frameworks apply it on any method)', method: 'GET', headers: ['X-HTTP-Method-Override', 'DELETE'], honour: true, expected: { code: 'request_invalid', status: 400, detail: /only on POST/ } },
    { name: 'an override naming a method the gateway does not forward', method: 'POST', headers: ['X-HTTP-Method-Override', 'TRACE'], honour: true, expected: { code: 'method_not_allowed', status: 405, headers: [['allow', ALLOW]] } },
    { name: 'an override naming no method', method: 'POST', headers: ['X-HTTP-Method-Override', 'DELETE, GET'], honour: true, expected: { code: 'method_not_allowed', status: 405 } },
    { name: 'an alias of an override header, dropped with the other "_" names', method: 'POST', headers: ['X_HTTP_Method_Override', 'DELETE'], honour: true, expected: null, method_: 'POST', forwarded: false },
  ];
  for (const { name, method, headers, honour, expected, method_, forwarded } of cases) {
    it(`${expected === null ? 'passes' : `refuses (${expected.code})`}: ${name}`, () => {
      const { outcome, context } = run({ method, headers }, { methodOverride: honour ? 'honour' : 'strip' });
      assertOutcome(outcome, expected);
      if (method_ !== undefined) assert.equal(context.method, method_);
      if (forwarded !== undefined) assert.deepEqual(context.upstreamHeaders, forwarded ? headers : []);
      assert.equal(context.req.method, method, 'the upstream is sent the request line as it came');
    });
  }
});

describe('request-sanity policy', () => {
  const directory = temporaryDirectory();
  after(() => directory.remove());
  const config = (headers: Partial<HeadersSettings['headers']> = {}) => ({
    headers: { underscores: 'drop' as const, allowUnderscores: [], methodOverride: 'strip' as const, ...headers },
    keys: { headers: ['authorization', 'x-custom-key'] },
    network: { clientAddressHeader: 'x-client-ip' },
  });

  it('is always in the pipeline, at stage 1, reading the key headers and the client-address header', () => {
    assert.equal(requestSanity.stage, 1);
    const check = requestSanity.create(config(), fakeParts());
    assert.equal(check?.name, 'request-sanity');
    for (const name of ['x-custom-key', 'x-client-ip']) assert.equal((check?.run(scanned({ headers: ['Connection', name] })) as Denial | null)?.code, 'request_invalid', name);
    assert.equal(check?.run(scanned({ headers: ['Connection', 'x-api-key'] })), null, 'X-API-Key is not a key header here');
    const honouring = requestSanity.create(config({ methodOverride: 'honour', underscores: 'refuse' }), fakeParts());
    const context = scanned({ method: 'POST', headers: ['X-HTTP-Method', 'DELETE'] });
    assert.equal(honouring?.run(context), null);
    assert.equal(context.method, 'DELETE');
    assert.equal((honouring?.run(scanned({ headers: ['a_b', '1'] })) as Denial | null)?.code, 'header_ambiguous');
  });

  it('has safe defaults: drop names with "_" or ".", strip method overrides', () => {
    const loaded = loadConfig({ env: {}, cwd: directory.path });
    assert.deepEqual(loaded.headers, { underscores: 'drop', allowUnderscores: [], methodOverride: 'strip' });
  });

  it('reads the allow-list in lower case', () => {
    const loaded = loadConfig({ env: { PORTCULLIS_HEADERS_ALLOW_UNDERSCORES: 'X_Tenant,x.Region' }, cwd: directory.path });
    assert.deepEqual(loaded.headers.allowUnderscores, ['x_tenant', 'x.region']);
  });

  const refusedNames: Array<{ name: string; env?: Record<string, string> }> = [
    { name: 'x_api_key' },
    { name: 'X.API.Key' },
    { name: 'X_Forwarded_For' },
    { name: 'x_forwarded_prefix' },
    { name: 'x.portcullis.key.id' },
    { name: 'x_request_id' },
    { name: 'x_real_ip' },
    { name: 'content_length' },
    { name: 'transfer_encoding' },
    { name: 'x_http_method_override' },
    { name: 'keep_alive' },
    { name: 'x_custom_key', env: { PORTCULLIS_KEYS_HEADERS: 'authorization,X-Custom-Key' } },
    { name: 'x_client_ip', env: { PORTCULLIS_NETWORK_CLIENT_ADDRESS_HEADER: 'x-client-ip' } },
  ];
  for (const { name, env } of refusedNames) {
    it(`refuses to start with ${name} allowed, naming the field`, () => {
      let problems: string[] = [];
      try {
        loadConfig({ env: { PORTCULLIS_HEADERS_ALLOW_UNDERSCORES: name, ...env }, cwd: directory.path });
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error));
        problems = error.problems;
      }
      assert.equal(problems.length, 1, `expected a ConfigError for ${name}`);
      assert.match(problems[0] as string, new RegExp(`^headers\\.allowUnderscores \\(from PORTCULLIS_HEADERS_ALLOW_UNDERSCORES\\): "${name.toLowerCase().replaceAll('.', '\\.')}" reads as ${dashSpelling(name)}`));
    });
  }

  it('refuses an allowed name without "_" or ".", which needs no allowing', () => {
    assert.throws(() => loadConfig({ env: { PORTCULLIS_HEADERS_ALLOW_UNDERSCORES: 'x-tenant' }, cwd: directory.path }), (error) => error instanceof ConfigError && /headers\.allowUnderscores/.test(error.message));
  });
});
