import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fakeContext, withHeadersRead } from '../../../test/support/fake-context.ts';
import { generateKey } from '../../keys/key-format.ts';
import type { KeyVerifier } from '../../verify/key-verifier.ts';
import { AMBIGUOUS_CREDENTIALS, type PresentedCredential } from '../request-context.ts';
import { stripQueryCredential, withQueryCredential } from './credential-reader.ts';
import { KeyAuthCheck } from './key-auth-check.ts';

/** Key auth as configured by default; the reader never touches the verifier. */
function keyAuthReading(keyHeaders: string[], acceptedPrefixes = ['pcl']): KeyAuthCheck {
  return new KeyAuthCheck({ parseKey: () => null, acceptedPrefixes, verifier: {} as KeyVerifier, keyHeaders, queryParameter: null, onStoreError: () => {} });
}

const bearer = (key: string) => ['Authorization', `Bearer ${key}`];
const basic = (credentials: string) => `Basic ${Buffer.from(credentials, 'latin1').toString('base64')}`;

const KEY = generateKey('pcl');
const OTHER = generateKey('pcl');
const LIVE = generateKey('pcl_live');
/** The right length and prefix, but a checksum that does not match: not a key. */
const BROKEN = KEY.slice(0, -1) + (KEY.endsWith('A') ? 'B' : 'A');

function read(headers: string[], check = keyAuthReading(['authorization', 'x-api-key'])) {
  const context = withHeadersRead(fakeContext({ headers }), check.requestHeaders);
  return { credential: context.credential, upstream: context.upstreamHeaders };
}

describe('key-auth header reader', () => {
  const cases: Array<{ name: string; headers: string[]; credential: PresentedCredential; upstream: string[] }> = [
    { name: 'Authorization in the Bearer scheme', headers: ['Authorization', 'Bearer pcl_one', 'Accept', '*/*'], credential: 'pcl_one', upstream: ['Accept', '*/*'] },
    { name: 'the scheme name in any case, extra spaces trimmed', headers: ['authorization', 'bEARER   pcl_one '], credential: 'pcl_one', upstream: [] },
    { name: 'another scheme without a key, which reaches the API untouched', headers: ['Authorization', 'Basic dXNlcjpwYXNz'], credential: null, upstream: ['Authorization', 'Basic dXNlcjpwYXNz'] },
    { name: 'Digest without a key, untouched', headers: ['Authorization', 'Digest username="u", nonce="n"'], credential: null, upstream: ['Authorization', 'Digest username="u", nonce="n"'] },
    { name: 'Bearer without a separator, as a lenient server reads it', headers: ['Authorization', 'Bearerpcl_one'], credential: 'pcl_one', upstream: [] },
    { name: 'Bearer without a token: nothing presented, nothing forwarded', headers: ['Authorization', 'Bearer'], credential: null, upstream: [] },
    { name: 'X-API-Key, the bare key, trimmed', headers: ['X-API-Key', '  pcl_one '], credential: 'pcl_one', upstream: [] },
    { name: 'an empty X-API-Key: nothing presented', headers: ['X-API-Key', ''], credential: null, upstream: [] },
    { name: 'the same key in both headers', headers: [...bearer('pcl_one'), 'X-API-Key', 'pcl_one'], credential: 'pcl_one', upstream: [] },
    { name: 'two different keys in two headers', headers: [...bearer('pcl_one'), 'X-API-Key', 'pcl_two'], credential: AMBIGUOUS_CREDENTIALS, upstream: [] },
    { name: 'two Authorization lines with different keys (req.headers would show only the first)', headers: [...bearer('pcl_one'), ...bearer('pcl_two')], credential: AMBIGUOUS_CREDENTIALS, upstream: [] },
    { name: 'a Basic line without a key next to a Bearer line', headers: ['Authorization', 'Basic eA==', ...bearer('pcl_one')], credential: 'pcl_one', upstream: ['Authorization', 'Basic eA=='] },
    { name: 'a header it does not read', headers: ['X-Token', 'pcl_one'], credential: null, upstream: ['X-Token', 'pcl_one'] },
  ];
  for (const { name, headers, credential, upstream } of cases) {
    it(name, () => {
      assert.deepEqual(read(headers), { credential, upstream }, 'a line that carried a key never reaches the upstream');
    });
  }

  it('reads only the configured headers, any other carrying the bare key', () => {
    const custom = keyAuthReading(['x-custom-key']);
    assert.deepEqual(custom.requestHeaders.names, ['x-custom-key']);
    assert.deepEqual(read(['X-Custom-Key', 'pcl_one', ...bearer('pcl_two')], custom), { credential: 'pcl_one', upstream: bearer('pcl_two') });
  });
});

describe('key-auth header reader: keys in any spelling a common server accepts', () => {
  const cases: Array<{ name: string; headers: string[]; credential: PresentedCredential }> = [
    { name: 'Bearer, a tab', headers: ['Authorization', `Bearer\t${KEY}`], credential: KEY },
    { name: 'Bearer, several spaces and a tab', headers: ['Authorization', `Bearer   \t ${KEY}`], credential: KEY },
    { name: 'Bearer:', headers: ['Authorization', `Bearer:${KEY}`], credential: KEY },
    { name: 'Bearer: and a space', headers: ['Authorization', `Bearer: ${KEY}`], credential: KEY },
    { name: 'BEARER=', headers: ['Authorization', `BEARER=${KEY}`], credential: KEY },
    { name: 'Bearer and the key, no separator', headers: ['Authorization', `Bearer${KEY}`], credential: KEY },
    { name: 'Bearer and a no-break space (JavaScript \\s)', headers: ['Authorization', `Bearer\u00a0${KEY}`], credential: KEY },
    { name: 'the key alone', headers: ['Authorization', KEY], credential: KEY },
    { name: 'another scheme name (Token)', headers: ['Authorization', `Token ${KEY}`], credential: KEY },
    { name: 'a key in quotes, in another scheme', headers: ['Authorization', `ApiKey key="${KEY}"`], credential: KEY },
    { name: 'a Basic user name', headers: ['Authorization', basic(`${KEY}:`)], credential: KEY },
    { name: 'a Basic password', headers: ['Authorization', basic(`user:${KEY}`)], credential: KEY },
    { name: 'basic, in lower case', headers: ['Authorization', basic(`${KEY}:x`).replace('Basic', 'basic')], credential: KEY },
    { name: 'Basic, base64url without padding', headers: ['Authorization', `Basic ${Buffer.from(`u:${KEY}`).toString('base64url')}`], credential: KEY },
    { name: 'two different keys in one Basic value', headers: ['Authorization', basic(`${KEY}:${OTHER}`)], credential: AMBIGUOUS_CREDENTIALS },
    { name: 'a Bearer key and a different key in Basic credentials', headers: [...bearer(KEY), 'Authorization', basic(`u:${OTHER}`)], credential: AMBIGUOUS_CREDENTIALS },
    { name: 'a Bearer token with two keys in it', headers: ['Authorization', `Bearer ${KEY} ${OTHER}`], credential: AMBIGUOUS_CREDENTIALS },
    { name: 'a key with text after it', headers: ['Authorization', `Bearer ${KEY}.sig`], credential: KEY },
    { name: 'a key right after another scheme name', headers: ['Authorization', `Token${KEY}`], credential: KEY },
    { name: 'X-API-Key in quotes', headers: ['X-API-Key', `"${KEY}"`], credential: KEY },
    { name: 'X-API-Key with a Bearer scheme', headers: ['X-API-Key', `Bearer ${KEY}`], credential: KEY },
    { name: 'X-API-Key with two keys', headers: ['X-API-Key', `${KEY},${OTHER}`], credential: AMBIGUOUS_CREDENTIALS },
    { name: 'the same key in X-API-Key and inside Basic credentials', headers: ['X-API-Key', KEY, 'Authorization', basic(`${KEY}:`)], credential: KEY },
    { name: 'a key with an environment tag in its prefix', headers: ['Authorization', `Token ${LIVE}`], credential: LIVE },
  ];
  const check = keyAuthReading(['authorization', 'x-api-key'], ['pcl', 'pcl_live']);
  for (const { name, headers, credential } of cases) {
    it(`finds the key: ${name}`, () => {
      assert.deepEqual(read(headers, check), { credential, upstream: [] });
    });
  }

  it('reads a key followed by more letters or digits as the longer word it is', () => {
    assert.deepEqual(read(['Authorization', `Bearer ${KEY}x`], check), { credential: `${KEY}x`, upstream: [] });
    assert.deepEqual(read(['Authorization', `Token ${KEY}x`], check), { credential: null, upstream: ['Authorization', `Token ${KEY}x`] });
  });

  const untouched: Array<{ name: string; value: string }> = [
    { name: 'a key-shaped value whose checksum does not match', value: `Token ${BROKEN}` },
    { name: 'a key of a prefix that is not accepted', value: `Token ${generateKey('acme')}` },
    { name: 'Basic credentials without a key', value: basic('alice:wonderland') },
  ];
  for (const { name, value } of untouched) {
    it(`forwards another scheme without a key: ${name}`, () => {
      assert.deepEqual(read(['Authorization', value], check), { credential: null, upstream: ['Authorization', value] });
    });
  }

  it('never throws, whatever the header values', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('authorization', 'x-api-key'), fc.oneof(fc.string(), fc.string().map((text) => `Basic ${text}`), fc.string().map((text) => `Bearer${text}`)))), (lines) => {
        read(lines.flat(), check);
      }),
    );
  });

  it('finds a key wrapped in any text, in any key header, and keeps that header from the upstream', () => {
    // Text around the key that cannot itself hold a key (no `_`); after it, not a letter or digit (that would make a longer word).
    const text = fc.string({ maxLength: 12 }).map((value) => value.replaceAll('_', ''));
    const textAfter = text.map((value) => value.replace(/^[A-Za-z0-9]+/, ''));
    const spelling = fc.constantFrom(
      (key: string, before: string, after: string) => ['Authorization', `Bearer${before}${key}${after}`],
      (key: string, before: string, after: string) => ['authorization', `${before}${key}${after}`],
      (key: string, before: string, after: string) => ['Authorization', basic(`${before}${key}${after}:pw`)],
      (key: string, before: string, after: string) => ['Authorization', basic(`${before.replaceAll(':', '')}:${key}${after}`)],
      (key: string, before: string, after: string) => ['X-API-Key', `${before}${key}${after}`],
    );
    fc.assert(
      fc.property(spelling, text, textAfter, (spell, before, after) => {
        assert.deepEqual(read(spell(KEY, before, after), check), { credential: KEY, upstream: [] });
      }),
    );
  });
});

describe('the key query parameter', () => {
  const cases: Array<{ name: string; url: string; credential: PresentedCredential; upstream: string }> = [
    { name: 'the key, first', url: '/x?api_key=k&a=1', credential: 'k', upstream: '/x?a=1' },
    { name: 'the key, last', url: '/x?a=1&api_key=k', credential: 'k', upstream: '/x?a=1' },
    { name: 'the key alone', url: '/x?api_key=k', credential: 'k', upstream: '/x' },
    { name: 'no query', url: '/x', credential: null, upstream: '/x' },
    { name: 'a query without the key', url: '/x?a=1', credential: null, upstream: '/x?a=1' },
    { name: 'the rest of the query byte for byte', url: '/s?api_key=k&flag&q=a%20b&tags=x,y&p=a+b', credential: 'k', upstream: '/s?flag&q=a%20b&tags=x,y&p=a+b' },
    { name: 'the key between other parameters', url: '/s?a=1&api_key=k&b=%7E', credential: 'k', upstream: '/s?a=1&b=%7E' },
    { name: 'empty parts kept as sent', url: '/s?a=1&&api_key=k&&b', credential: 'k', upstream: '/s?a=1&&&b' },
    { name: 'an empty key: nothing presented, still removed', url: '/x?api_key=&a=1', credential: null, upstream: '/x?a=1' },
    { name: 'the name without a value', url: '/x?api_key', credential: null, upstream: '/x' },
    { name: 'the name percent-encoded', url: '/x?api%5Fkey=k&a=1', credential: 'k', upstream: '/x?a=1' },
    { name: 'the value percent-encoded', url: '/x?api_key=p%63l', credential: 'pcl', upstream: '/x' },
    { name: 'a longer name that starts like it', url: '/x?api_key2=k', credential: null, upstream: '/x?api_key2=k' },
    { name: 'two different keys', url: '/x?api_key=j&api_key=k&z', credential: AMBIGUOUS_CREDENTIALS, upstream: '/x?z' },
    { name: 'the same key twice', url: '/x?api_key=k&api_key=k', credential: 'k', upstream: '/x' },
  ];
  for (const { name, url, credential, upstream } of cases) {
    it(name, () => {
      assert.equal(withQueryCredential(null, url, 'api_key'), credential);
      assert.equal(stripQueryCredential(url, 'api_key'), upstream);
    });
  }

  it('combines with the headers\' key', () => {
    assert.equal(withQueryCredential('j', '/x?api_key=k', 'api_key'), AMBIGUOUS_CREDENTIALS);
    assert.equal(withQueryCredential('k', '/x?api_key=k', 'api_key'), 'k');
    assert.equal(withQueryCredential('k', '/x?api_key=', 'api_key'), 'k');
  });

  it('keeps every other part of any query exactly as sent, and never throws', () => {
    const part = fc.string({ maxLength: 8 }).map((text) => text.replaceAll('&', '').replaceAll('#', ''));
    fc.assert(
      fc.property(fc.array(fc.oneof(part, fc.constant('api_key=k'), fc.constant('api_key='))), (parts) => {
        const url = `/p?${parts.join('&')}`;
        withQueryCredential(null, url, 'api_key');
        // What URLSearchParams would name each part (after a first pair, so a leading `?` stays part of the name).
        const others = parts.filter((value) => [...new URLSearchParams(`x=1&${value}`).keys()][1] !== 'api_key');
        const stripped = stripQueryCredential(url, 'api_key');
        assert.equal(stripped, others.length === parts.length ? url : others.length === 0 ? '/p' : `/p?${others.join('&')}`);
      }),
    );
  });
});
