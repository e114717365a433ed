import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ApiMatcher, hostNameOf, isHostPattern, NO_API, stripPathPrefix, type ApiMatchRule } from './api-matcher.ts';

/** Names by index, so a failure reads as the API's name. */
const APIS: Array<ApiMatchRule & { name: string }> = [
  { name: 'orders-host', hosts: ['orders.example.com'], pathPrefix: '' },
  { name: 'orders-host-v2', hosts: ['orders.example.com'], pathPrefix: '/v2' },
  { name: 'wildcard', hosts: ['*.example.com'], pathPrefix: '' },
  { name: 'deep-wildcard', hosts: ['*.eu.example.com'], pathPrefix: '' },
  { name: 'billing-prefix', hosts: [], pathPrefix: '/billing' },
  { name: 'billing-admin-prefix', hosts: [], pathPrefix: '/billing/admin' },
  { name: 'exact-with-prefix', hosts: ['shop.test'], pathPrefix: '/cart' },
  { name: 'ipv6', hosts: [], pathPrefix: '/v6' },
];
const matcher = new ApiMatcher(APIS);
const named = (index: number) => (index === NO_API ? 'no API' : (APIS[index] as { name: string }).name);

const cases: Array<{ name: string; host: string | undefined; path: string; expected: string }> = [
  { name: 'an exact host', host: 'orders.example.com', path: '/items', expected: 'orders-host' },
  { name: 'an exact host, in another letter case', host: 'ORDERS.Example.COM', path: '/items', expected: 'orders-host' },
  { name: 'an exact host with a port', host: 'orders.example.com:8443', path: '/items', expected: 'orders-host' },
  { name: 'an exact host with a trailing dot (the same DNS name)', host: 'orders.example.com.', path: '/items', expected: 'orders-host' },
  { name: 'an exact host and a longer prefix of the same host', host: 'orders.example.com', path: '/v2/items', expected: 'orders-host-v2' },
  { name: 'an exact host and the prefix itself', host: 'orders.example.com', path: '/v2', expected: 'orders-host-v2' },
  { name: 'a prefix only on a segment boundary', host: 'orders.example.com', path: '/v2x/items', expected: 'orders-host' },
  { name: 'an exact host beats a wildcard that also matches', host: 'orders.example.com', path: '/', expected: 'orders-host' },
  { name: 'a wildcard host', host: 'users.example.com', path: '/', expected: 'wildcard' },
  { name: 'a wildcard host, several labels deep', host: 'a.b.example.com', path: '/', expected: 'wildcard' },
  { name: 'the longer wildcard first', host: 'paris.eu.example.com', path: '/', expected: 'deep-wildcard' },
  { name: 'a wildcard never matches its bare domain', host: 'example.com', path: '/x', expected: 'no API' },
  { name: 'a wildcard is a suffix on a label boundary', host: 'badexample.com', path: '/x', expected: 'no API' },
  { name: 'a host beats a prefix-only API', host: 'users.example.com', path: '/billing/1', expected: 'wildcard' },
  { name: 'a prefix-only API for any other host', host: 'api.other.test', path: '/billing/1', expected: 'billing-prefix' },
  { name: 'the longest prefix', host: 'api.other.test', path: '/billing/admin/users', expected: 'billing-admin-prefix' },
  { name: 'a prefix is case-sensitive', host: 'api.other.test', path: '/Billing/1', expected: 'no API' },
  { name: 'no Host header: host-less APIs only', host: undefined, path: '/billing', expected: 'billing-prefix' },
  { name: 'no Host header and no host-less prefix', host: undefined, path: '/items', expected: 'no API' },
  { name: 'a host whose own prefix misses falls through to host-less APIs', host: 'shop.test', path: '/billing/1', expected: 'billing-prefix' },
  { name: 'a host with its prefix', host: 'shop.test', path: '/cart/1', expected: 'exact-with-prefix' },
  { name: 'an IPv6 literal host (no host rule names it)', host: '[2001:db8::1]:8080', path: '/v6/x', expected: 'ipv6' },
  { name: 'nothing matches: no API', host: 'api.other.test', path: '/items', expected: 'no API' },
];

describe('ApiMatcher', () => {
  for (const { name, host, path, expected } of cases) {
    it(`${expected}: ${name}`, () => assert.equal(named(matcher.match(host, path)), expected));
  }

  it('takes the first of two APIs only when the config allowed equal matches (order by prefix length, then position)', () => {
    const both = new ApiMatcher([{ hosts: [], pathPrefix: '/a' }, { hosts: [], pathPrefix: '/a/b' }, { hosts: [], pathPrefix: '' }]);
    assert.equal(both.match('x', '/a/b/c'), 1);
    assert.equal(both.match('x', '/a/c'), 0);
    assert.equal(both.match('x', '/c'), 2);
  });

  it('never takes a prefix that is only the start of a segment, among many prefixes and wildcards', () => {
    const rules: ApiMatchRule[] = [{ hosts: [], pathPrefix: '/b' }, { hosts: [], pathPrefix: '/billing' }, { hosts: [], pathPrefix: '/billing/v2' }];
    for (let index = 0; index < 100; index++) rules.push({ hosts: [`*.t${index}.example.com`], pathPrefix: index % 2 === 0 ? '' : `/p${index}` });
    const many = new ApiMatcher(rules);
    assert.equal(many.match('x', '/billing/v2x'), 1);
    assert.equal(many.match('x', '/billing/v2/x'), 2);
    assert.equal(many.match('x', '/b/x'), 0);
    assert.equal(many.match('x', '/bill'), NO_API);
    assert.equal(many.match('a.t42.example.com', '/anything'), 3 + 42);
    assert.equal(many.match('a.t43.example.com', '/p43/x'), 3 + 43);
    assert.equal(many.match('a.t43.example.com', '/p42/x'), NO_API, 'the prefix of another wildcard is not this one\'s');
    assert.equal(many.match('a.t43.example.com', '/billing'), 1, 'no prefix of its host matches: host-less APIs');
  });

  it('with no API at all, matches nothing', () => {
    assert.equal(new ApiMatcher([]).match('a.example', '/'), NO_API);
  });
});

describe('host patterns and names', () => {
  const patterns: Array<[string, boolean]> = [
    ['api.example.com', true], ['*.example.com', true], ['localhost', true], ['10.0.0.1', true],
    ['*.com', false], ['*', false], ['a*.example.com', false], ['*.*.example.com', false], ['api.example.com:443', false],
    ['api.example.com.', false], ['-api.example.com', false], ['api..example.com', false], ['[::1]', false], ['', false], ['api_1.example.com', false],
  ];
  for (const [pattern, valid] of patterns) it(`${valid ? 'accepts' : 'refuses'} ${JSON.stringify(pattern)}`, () => assert.equal(isHostPattern(pattern), valid));

  it('reads a Host value as its name: lower case, no port, no trailing dot', () => {
    assert.equal(hostNameOf('API.Example.com:8443'), 'api.example.com');
    assert.equal(hostNameOf('api.example.com.'), 'api.example.com');
    assert.equal(hostNameOf('[2001:DB8::1]:80'), '[2001:db8::1]');
    assert.equal(hostNameOf('localhost'), 'localhost');
  });

  it('never throws, whatever the Host and path', () => {
    fc.assert(fc.property(fc.option(fc.string(), { nil: undefined }), fc.string(), (host, path) => {
      const index = matcher.match(host, path);
      assert.ok(index === NO_API || (index >= 0 && index < APIS.length));
    }));
  });
});

describe('stripPathPrefix', () => {
  const cases: Array<[string, string, string]> = [
    ['/orders/1', '/orders', '/1'],
    ['/orders', '/orders', '/'],
    ['/orders?x=1', '/orders', '/?x=1'],
    ['/orders/1?x=/orders', '/orders', '/1?x=/orders'],
    ['/api/v1/orders/', '/api/v1', '/orders/'],
  ];
  for (const [target, prefix, expected] of cases) it(`${target} without ${prefix} is ${expected}`, () => assert.equal(stripPathPrefix(target, prefix), expected));
});
