import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dashSpelling } from '../http/protected-headers.ts';
import { REPEATED_HEADER } from '../http/raw-headers.ts';
import { generateKey } from '../keys/key-format.ts';
import { createKeyHeaderReader, stripQueryCredential, withQueryCredential } from '../policies/key-auth/credential-reader.ts';
import { KeyFinder } from '../policies/key-auth/key-finder.ts';
import { AMBIGUOUS_CREDENTIALS, type ScannedRequestHeaders } from '../policies/request-context.ts';
import { appendGatewayHeaders } from './gateway-headers.ts';
import { createRequestHeaderScanner } from './request-header-scanner.ts';
import { buildClientResponseHeaders } from './response-headers.ts';

const KEY_HEADERS = ['authorization', 'x-api-key'];
const FINDER = new KeyFinder(['pcl']);
const scanHeaders = createRequestHeaderScanner([createKeyHeaderReader(KEY_HEADERS, FINDER)]);

function scan(raw: string[], keyHeaders: readonly string[] = KEY_HEADERS): ScannedRequestHeaders {
  const scanned: ScannedRequestHeaders = { upstreamHeaders: [], hasBody: false, contentLength: undefined, chunked: false, host: undefined, credential: null, requestIdHeader: null, connectionNamed: null, underscoreHeaders: null, methodOverrideHeaders: null, dpop: null };
  (keyHeaders === KEY_HEADERS ? scanHeaders : createRequestHeaderScanner([createKeyHeaderReader(keyHeaders, FINDER)]))(raw, scanned);
  return scanned;
}

/** What the upstream receives: the client's surviving headers plus the gateway's own. */
function forwardedFor(raw: string[], key: { keyId: string; keyName: string } | null, address: string, protocol: 'http' | 'https', requestId = 'req-1', forwardedHeader = false): string[] {
  const scanned = scan(raw);
  const headers = [...scanned.upstreamHeaders];
  appendGatewayHeaders(headers, [address], protocol, scanned.host, requestId, key === null ? null : { record: { id: key.keyId }, nameHeaderValue: key.keyName }, forwardedHeader);
  return headers;
}

function asObject(flat: string[]): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  for (let index = 0; index < flat.length; index += 2) (result[flat[index]!.toLowerCase()] ??= []).push(flat[index + 1]!);
  return result;
}

describe('request-header scanner and the headers sent upstream', () => {
  it('removes keys, hop-by-hop and spoofed identity headers, and adds the real identity and request id', () => {
    const forwarded = asObject(
      forwardedFor(
        ['Host', 'api.example', 'Authorization', 'Bearer pcl_x', 'X-API-Key', 'pcl_y', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'X-Portcullis-Key-Id', 'spoof', 'X-Forwarded-For', '6.6.6.6', 'Forwarded', 'for=6.6.6.6', 'Expect', '100-continue', 'X-Request-Id', 'from-client', 'Accept', 'application/json'],
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

  it('adds RFC 7239 Forwarded when configured', () => {
    const forwarded = asObject(forwardedFor(['Host', 'api.example'], null, '10.0.0.7', 'https', 'r', true));
    assert.deepEqual(forwarded['forwarded'], ['for=10.0.0.7;proto=https;host="api.example"']);
  });

  it('reports whether the request has a body, and its framing', () => {
    assert.deepEqual([scan(['Content-Length', '5']).hasBody, scan(['Content-Length', '5']).contentLength, scan(['Content-Length', '5']).chunked], [true, '5', false]);
    assert.equal(scan(['content-length', '0']).hasBody, false);
    assert.deepEqual([scan(['Transfer-Encoding', 'chunked']).hasBody, scan(['Transfer-Encoding', 'chunked']).chunked], [true, true]);
    assert.deepEqual([scan(['Accept', '*/*']).hasBody, scan(['Accept', '*/*']).contentLength], [false, undefined]);
  });

  it('finds the client\'s X-Request-Id, and notices one sent twice', () => {
    assert.equal(scan(['Host', 'x']).requestIdHeader, null);
    assert.equal(scan(['X-Request-Id', 'abc']).requestIdHeader, 'abc');
    assert.equal(scan(['x-request-id', 'a', 'X-REQUEST-ID', 'b']).requestIdHeader, REPEATED_HEADER);
  });

  it('keeps Content-Length and other headers whose length matches a special one', () => {
    const forwarded = asObject(forwardedFor(['Content-Length', '5', 'X-Custom-Trace', 'abc', 'x-portcullis-', 'edge'], null, '::1', 'http'));
    assert.deepEqual(forwarded['content-length'], ['5']);
    assert.deepEqual(forwarded['x-custom-trace'], ['abc']);
  });

  it('forwards Authorization in schemes other than Bearer', () => {
    assert.deepEqual(scan(['Authorization', 'Basic dTpw']).upstreamHeaders, ['Authorization', 'Basic dTpw']);
    assert.deepEqual(scan(['Authorization', 'Bearer k']).upstreamHeaders, []);
  });

  it('never forwards any configured key header carrying a key, whatever the casing and order', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('Authorization', 'AUTHORIZATION', 'x-api-key', 'X-Api-Key', 'X-PORTCULLIS-KEY-ID', 'x-Portcullis-Key-Name', 'Accept', 'X-Other'), fc.string({ minLength: 1, maxLength: 10 }))), (pairs) => {
        const raw = pairs.flatMap(([name, value]) => [name, name.toLowerCase() === 'authorization' ? `Bearer ${value}` : value]);
        const forwarded = forwardedFor(raw, null, '127.0.0.1', 'http');
        for (let index = 0; index < forwarded.length; index += 2) {
          assert.ok(!KEY_HEADERS.includes(forwarded[index]!.toLowerCase()));
          assert.ok(!forwarded[index]!.toLowerCase().startsWith('x-portcullis-'), 'no client-sent identity header survives');
        }
      }),
    );
  });
});

describe('request-header scanner: headers servers read in more than one way', () => {
  it('holds back every name with "_" or "." (CGI, WSGI, PHP and Rack read them as "-"), in order', () => {
    const scanned = scan(['X_API_Key', 'pcl_x', 'Accept', '*/*', 'x.portcullis.key.id', 'admin', 'X_Forwarded_For', '1.2.3.4', 'x_request_id', 'r', 'X_Tenant', 't', 'Authorization_', 'Bearer k']);
    assert.deepEqual(scanned.upstreamHeaders, ['Accept', '*/*']);
    assert.deepEqual(scanned.underscoreHeaders, ['X_API_Key', 'pcl_x', 'x.portcullis.key.id', 'admin', 'X_Forwarded_For', '1.2.3.4', 'x_request_id', 'r', 'X_Tenant', 't', 'Authorization_', 'Bearer k']);
    assert.equal(scanned.credential, null, 'an alias of a key header is not read as one: stage 1 drops or refuses it');
    assert.equal(scanned.requestIdHeader, null);
    assert.equal(scan(['Accept', '*/*']).underscoreHeaders, null);
  });

  it('holds back method override headers, in any case, and records them', () => {
    const scanned = scan(['X-HTTP-Method-Override', 'DELETE', 'x-http-method', 'PUT', 'X-Method-Override', 'patch', 'Accept', '*/*']);
    assert.deepEqual(scanned.upstreamHeaders, ['Accept', '*/*']);
    assert.deepEqual(scanned.methodOverrideHeaders, ['X-HTTP-Method-Override', 'DELETE', 'x-http-method', 'PUT', 'X-Method-Override', 'patch']);
    assert.equal(scan(['Accept', '*/*']).methodOverrideHeaders, null);
  });

  it('records the names Connection lists, and removes them', () => {
    const scanned = scan(['Connection', 'keep-alive, X-Hop', 'connection', 'Content-Length, close', 'X-Hop', '1', 'Content-Length', '0']);
    assert.deepEqual([...(scanned.connectionNamed ?? [])], ['x-hop', 'content-length']);
    assert.deepEqual(scanned.upstreamHeaders, []);
    assert.equal(scan(['Connection', 'keep-alive']).connectionNamed, null);
  });

  it('notices a Host sent twice', () => {
    assert.equal(scan(['Host', 'a.example']).host, 'a.example');
    assert.equal(scan(['Host', 'a.example', 'host', 'b.example']).host, REPEATED_HEADER);
    assert.equal(scan([]).host, undefined);
  });

  it('never forwards a header carrying a key, whatever the spelling of its name ("-", "_", "."; any case) or of its value', () => {
    const KEY = generateKey('pcl');
    const OTHER = generateKey('pcl');
    const basic = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
    const guarded = ['authorization', 'x-api-key', 'x-portcullis-key-id', 'x-forwarded-for', 'x-request-id'];
    const spelledName = fc.tuple(fc.constantFrom(...guarded, 'accept', 'x-other'), fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }), fc.array(fc.constantFrom('-', '_', '.'), { minLength: 4, maxLength: 4 })).map(([name, upper, dashes]) => {
      let dash = 0;
      return [...name].map((character, index) => (character === '-' ? (dashes[dash++] as string) : upper[index] ? character.toUpperCase() : character)).join('');
    });
    const value = fc.oneof(
      fc.constantFrom(KEY, OTHER).chain((key) => fc.constantFrom(`Bearer ${key}`, `bearer\t${key}`, `Bearer:${key}`, `Bearer${key}`, `Token ${key}`, key, `"${key}"`, basic(`${key}:`), basic(`u:${key}`))),
      fc.string({ maxLength: 12 }),
    );
    const carriesKey = (text: string) => [KEY, OTHER].some((key) => text.includes(key) || Buffer.from(text.replace(/^basic\s+/i, ''), 'base64').toString('latin1').includes(key));
    fc.assert(
      fc.property(fc.array(fc.tuple(spelledName, value), { maxLength: 6 }), (lines) => {
        const upstream = scan(lines.flat()).upstreamHeaders;
        for (let index = 0; index < upstream.length; index += 2) {
          const name = upstream[index] as string;
          assert.doesNotMatch(name, /[_.]/, 'no name a CGI-style server folds reaches the upstream');
          assert.ok(!guarded.slice(2).includes(dashSpelling(name)), 'nor any client-sent identity or forwarding header');
          if (KEY_HEADERS.includes(dashSpelling(name))) assert.ok(!carriesKey(upstream[index + 1] as string), `no key header carrying a key reaches the upstream (${name})`);
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

describe('presented key', () => {
  const credentialOf = (raw: string[]) => scan(raw).credential;
  it('reads a Bearer token or an X-API-Key value', () => {
    assert.equal(credentialOf(['Authorization', 'Bearer abc']), 'abc');
    assert.equal(credentialOf(['authorization', 'bearer   abc  ']), 'abc');
    assert.equal(credentialOf(['X-API-Key', 'abc']), 'abc');
    assert.equal(credentialOf(['Authorization', 'Basic abc']), null);
    assert.equal(credentialOf(['Authorization', 'Bearer ']), null);
    assert.equal(credentialOf(['X-API-Key', '  ']), null);
  });
  it('reads only the configured key headers', () => {
    assert.equal(scan(['X-API-Key', 'abc'], ['authorization']).credential, null);
    assert.deepEqual(scan(['X-API-Key', 'abc'], ['authorization']).upstreamHeaders, ['X-API-Key', 'abc'], 'a header that is not a key header is forwarded');
  });
  it('treats two different keys as ambiguous and the same key twice as one', () => {
    assert.equal(credentialOf(['Authorization', 'Bearer a', 'X-API-Key', 'b']), AMBIGUOUS_CREDENTIALS);
    assert.equal(credentialOf(['X-API-Key', 'a', 'x-api-key', 'b']), AMBIGUOUS_CREDENTIALS);
    assert.equal(credentialOf(['X-API-Key', 'a', 'x-api-key', 'b', 'X-Api-Key', 'a']), AMBIGUOUS_CREDENTIALS, 'once ambiguous, always ambiguous');
    assert.equal(credentialOf(['Authorization', 'Bearer a', 'X-API-Key', 'a']), 'a');
  });
  it('reads and strips a query parameter', () => {
    assert.equal(withQueryCredential(null, '/x?a=1&api_key=k', 'api_key'), 'k');
    assert.equal(withQueryCredential('j', '/x?api_key=k', 'api_key'), AMBIGUOUS_CREDENTIALS);
    assert.equal(withQueryCredential('k', '/x?api_key=k', 'api_key'), 'k');
    assert.equal(withQueryCredential(null, '/x', 'api_key'), null);
    assert.equal(stripQueryCredential('/x?a=1&api_key=k', 'api_key'), '/x?a=1');
    assert.equal(stripQueryCredential('/x?api_key=k', 'api_key'), '/x');
    assert.equal(stripQueryCredential('/x?a=1', 'api_key'), '/x?a=1');
  });
  it('never throws on arbitrary headers and URLs', () => {
    fc.assert(
      fc.property(fc.array(fc.string()), fc.string(), (values, url) => {
        const scanned = scan(values.length % 2 === 0 ? values : [...values, '']);
        withQueryCredential(scanned.credential, url, 'api_key');
      }),
    );
  });
});
