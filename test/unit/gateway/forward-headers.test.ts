import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildClientResponseHeaders, createUpstreamHeaderBuilder } from '../../../src/gateway/forward-headers.ts';
import { AMBIGUOUS_CREDENTIALS, createCredentialReader, stripQueryCredential } from '../../../src/policies/key-auth/credential-reader.ts';

const KEY_HEADERS = new Set(['authorization', 'x-api-key']);
const build = createUpstreamHeaderBuilder(KEY_HEADERS);
const buildUpstreamRequestHeaders = (raw: string[], _keyHeaders: Set<string>, identity: { keyId: string; keyName: string } | null, address: string, protocol: 'http' | 'https', requestId = 'req-1') => [...build(raw, identity, address, protocol, requestId).headers];

function asObject(flat: string[]): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (let index = 0; index < flat.length; index += 2) (result[flat[index]!.toLowerCase()] ??= []).push(flat[index + 1]!);
  return result;
}

describe('buildUpstreamRequestHeaders', () => {
  it('removes keys, hop-by-hop and spoofed identity headers, and adds the real identity and request id', () => {
    const forwarded = asObject(
      buildUpstreamRequestHeaders(
        ['Host', 'api.example', 'Authorization', 'Bearer pcl_x', 'X-API-Key', 'pcl_y', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'X-Portcullis-Key-Id', 'spoof', 'X-Forwarded-For', '6.6.6.6', 'Forwarded', 'for=6.6.6.6', 'Expect', '100-continue', 'X-Request-Id', 'from-client', 'Accept', 'application/json'],
        KEY_HEADERS,
        { keyId: 'key_1', keyName: 'web-1' },
        '10.0.0.7',
        'https',
        'req-1',
      ),
    );
    assert.deepEqual(forwarded, {
      accept: ['application/json'],
      'x-forwarded-for': ['10.0.0.7'],
      'x-forwarded-proto': ['https'],
      'x-request-id': ['req-1'],
      'x-forwarded-host': ['api.example'],
      'x-portcullis-key-id': ['key_1'],
      'x-portcullis-key-name': ['web-1'],
    });
  });

  it('reports whether the request has a body', () => {
    assert.equal(build(['Content-Length', '5'], null, '::1', 'http', 'r').hasBody, true);
    assert.equal(build(['content-length', '0'], null, '::1', 'http', 'r').hasBody, false);
    assert.equal(build(['Transfer-Encoding', 'chunked'], null, '::1', 'http', 'r').hasBody, true);
    assert.equal(build(['Accept', '*/*'], null, '::1', 'http', 'r').hasBody, false);
  });

  it('keeps Content-Length and other headers whose length matches a special one', () => {
    const forwarded = asObject(buildUpstreamRequestHeaders(['Content-Length', '5', 'X-Custom-Trace', 'abc', 'x-portcullis-', 'edge'], KEY_HEADERS, null, '::1', 'http'));
    assert.deepEqual(forwarded['content-length'], ['5']);
    assert.deepEqual(forwarded['x-custom-trace'], ['abc']);
  });

  it('never forwards any configured key header carrying a key, whatever the casing and order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('Authorization', 'AUTHORIZATION', 'x-api-key', 'X-Api-Key', 'X-PORTCULLIS-KEY-ID', 'x-Portcullis-Key-Name', 'Accept', 'X-Other'), fc.string({ minLength: 1, maxLength: 10 }))), (pairs) => {
        const raw = pairs.flatMap(([name, value]) => [name, name.toLowerCase() === 'authorization' ? `Bearer ${value}` : value]);
        const forwarded = buildUpstreamRequestHeaders(raw, KEY_HEADERS, null, '127.0.0.1', 'http');
        for (let index = 0; index < forwarded.length; index += 2) {
          assert.ok(!KEY_HEADERS.has(forwarded[index]!.toLowerCase()));
          assert.ok(!forwarded[index]!.toLowerCase().startsWith('x-portcullis-'), 'no client-sent identity header survives');
        }
      }),
    );
  });
});

describe('buildClientResponseHeaders', () => {
  it('drops hop-by-hop headers and those named in Connection, keeps the rest in order', () => {
    const headers = buildClientResponseHeaders([Buffer.from('Content-Type'), Buffer.from('text/plain'), Buffer.from('Connection'), Buffer.from('x-internal'), Buffer.from('X-Internal'), Buffer.from('1'), Buffer.from('Transfer-Encoding'), Buffer.from('chunked'), Buffer.from('Set-Cookie'), Buffer.from('a=1'), Buffer.from('Set-Cookie'), Buffer.from('b=2')]);
    assert.deepEqual(headers, ['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
  });
});

describe('credential reader', () => {
  const read = createCredentialReader({ headers: ['authorization', 'x-api-key'], queryParameter: null });
  it('reads a Bearer token or an X-API-Key value', () => {
    assert.equal(read(['Authorization', 'Bearer abc'], '/'), 'abc');
    assert.equal(read(['authorization', 'bearer   abc  '], '/'), 'abc');
    assert.equal(read(['X-API-Key', 'abc'], '/'), 'abc');
    assert.equal(read(['Authorization', 'Basic abc'], '/'), null);
    assert.equal(read(['Authorization', 'Bearer '], '/'), null);
    assert.equal(read([], '/?api_key=abc'), null, 'query keys are off by default');
  });
  it('treats two different keys as ambiguous and the same key twice as one', () => {
    assert.equal(read(['Authorization', 'Bearer a', 'X-API-Key', 'b'], '/'), AMBIGUOUS_CREDENTIALS);
    assert.equal(read(['X-API-Key', 'a', 'x-api-key', 'b'], '/'), AMBIGUOUS_CREDENTIALS);
    assert.equal(read(['Authorization', 'Bearer a', 'X-API-Key', 'a'], '/'), 'a');
  });
  it('reads and strips a query parameter only when configured', () => {
    const withQuery = createCredentialReader({ headers: ['x-api-key'], queryParameter: 'api_key' });
    assert.equal(withQuery([], '/x?a=1&api_key=k'), 'k');
    assert.equal(withQuery(['x-api-key', 'j'], '/x?api_key=k'), AMBIGUOUS_CREDENTIALS);
    assert.equal(stripQueryCredential('/x?a=1&api_key=k', 'api_key'), '/x?a=1');
    assert.equal(stripQueryCredential('/x?api_key=k', 'api_key'), '/x');
    assert.equal(stripQueryCredential('/x?a=1', 'api_key'), '/x?a=1');
  });
  it('never throws on arbitrary headers and URLs', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), fc.string(), (values, url) => {
        read(values.length % 2 === 0 ? values : [...values, ''], url);
      }),
    );
  });
});
