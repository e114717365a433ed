import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { http1HeadersOf } from './http2-request-headers.ts';

const PSEUDO = [':method', 'GET', ':path', '/orders?x=1', ':scheme', 'https'];

describe('http1HeadersOf: an HTTP/2 header list as HTTP/1.1 reads it', () => {
  it(':authority becomes Host, first; pseudo-headers are dropped; other fields keep their order', () => {
    assert.deepEqual(http1HeadersOf([...PSEUDO, ':authority', 'api.example', 'x-api-key', 'k', 'accept', '*/*'], false), ['host', 'api.example', 'x-api-key', 'k', 'accept', '*/*']);
  });

  it('keeps host lines as sent when there is no :authority (several are then refused like HTTP/1.1 ones)', () => {
    assert.deepEqual(http1HeadersOf([...PSEUDO, 'host', 'a.example'], false), ['host', 'a.example']);
    assert.deepEqual(http1HeadersOf([...PSEUDO, 'host', 'a.example', 'host', 'b.example'], false), ['host', 'a.example', 'host', 'b.example']);
    assert.deepEqual(http1HeadersOf([...PSEUDO], false), []);
  });

  it('accepts a Host equal to :authority (in any case) and refuses one that differs', () => {
    assert.deepEqual(http1HeadersOf([...PSEUDO, ':authority', 'api.example', 'host', 'API.example'], false), ['host', 'api.example']);
    assert.match((http1HeadersOf([...PSEUDO, ':authority', 'api.example', 'host', 'internal'], false) as { refused: string }).refused, /differs from its :authority/);
    assert.match((http1HeadersOf([...PSEUDO, ':authority', 'a', ':authority', 'a'], false) as { refused: string }).refused, /more than once/);
  });

  it('refuses connection-specific fields and te other than trailers (RFC 9113 §8.2.2), and unknown pseudo-headers', () => {
    for (const [name, value] of [['connection', 'keep-alive'], ['Keep-Alive', '5'], ['proxy-connection', 'x'], ['transfer-encoding', 'chunked'], ['upgrade', 'websocket'], ['te', 'gzip'], [':protocol', 'websocket'], [':status', '200']]) {
      const result = http1HeadersOf([...PSEUDO, name as string, value as string], false);
      assert.ok(!Array.isArray(result), `${name} must be refused`);
    }
    assert.deepEqual(http1HeadersOf([...PSEUDO, 'te', 'Trailers'], false), ['te', 'Trailers']);
  });

  it('joins cookie lines with "; " into one (RFC 9113 §8.2.3)', () => {
    assert.deepEqual(http1HeadersOf([...PSEUDO, 'cookie', 'a=1', 'x', 'y', 'cookie', 'b=2'], false), ['x', 'y', 'cookie', 'a=1; b=2']);
  });

  it('announces a body without content-length as chunked, and leaves one with content-length as is', () => {
    assert.deepEqual(http1HeadersOf([...PSEUDO, 'content-type', 'application/json'], true), ['content-type', 'application/json', 'transfer-encoding', 'chunked']);
    assert.deepEqual(http1HeadersOf([...PSEUDO, 'content-length', '2'], true), ['content-length', '2']);
    assert.deepEqual(http1HeadersOf([...PSEUDO], false), []);
  });

  it('never throws, and never lets a pseudo-header or a connection-specific field through', () => {
    const name = fc.oneof(fc.constantFrom(':method', ':path', ':authority', ':scheme', ':protocol', 'host', 'cookie', 'connection', 'te', 'content-length', 'x-a'), fc.string({ maxLength: 8 }));
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.string({ maxLength: 8 })), { maxLength: 12 }), fc.boolean(), (pairs, bodyFollows) => {
        const result = http1HeadersOf(pairs.flat(), bodyFollows);
        if (!Array.isArray(result)) return;
        for (let index = 0; index < result.length; index += 2) {
          const field = (result[index] as string).toLowerCase();
          assert.ok(!field.startsWith(':') && field !== 'connection' && !(field === 'te' && (result[index + 1] as string).trim().toLowerCase() !== 'trailers'), field);
        }
        assert.ok(result.filter((_value, index) => index % 2 === 0 && result[index] === 'cookie').length <= 1);
      }),
    );
  });
});
