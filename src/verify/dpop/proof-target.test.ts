import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { normaliseHttpUri } from './proof-target.ts';

describe('normaliseHttpUri', () => {
  const cases: ReadonlyArray<readonly [string, string | null]> = [
    ['https://server.example.com/token', 'https://server.example.com/token'],
    ['HTTPS://Server.Example.COM/token', 'https://server.example.com/token'],
    ['https://server.example.com:443/token', 'https://server.example.com/token'],
    ['https://server.example.com:0443/token', 'https://server.example.com/token'],
    ['http://server.example.com:80/token', 'http://server.example.com/token'],
    ['http://server.example.com:443/token', 'http://server.example.com:443/token'],
    ['https://server.example.com:8443/token', 'https://server.example.com:8443/token'],
    ['https://server.example.com', 'https://server.example.com/'],
    ['https://server.example.com?x=1', 'https://server.example.com/'],
    ['https://server.example.com/token?x=1#frag', 'https://server.example.com/token'],
    ['https://server.example.com/token#frag?x', 'https://server.example.com/token'],
    ['https://server.example.com/%7euser/./a/../b', 'https://server.example.com/~user/b'],
    ['https://server.example.com/caf%c3%a9', 'https://server.example.com/caf%C3%A9'],
    ['https://server.example.com/a//b/', 'https://server.example.com/a/b'],
    ['https://[2001:DB8::1]:443/x', 'https://[2001:db8::1]/x'],
    ['https://[2001:db8::1]:8443/x', 'https://[2001:db8::1]:8443/x'],
    ['https://192.0.2.1/x', 'https://192.0.2.1/x'],
    // Not comparable: refused.
    ['ftp://server.example.com/token', null],
    ['constructor://server.example.com/token', null],
    ['https:/server.example.com/token', null],
    ['/token', null],
    ['https://user:pass@server.example.com/token', null],
    ['https://server.example.com:/token', null],
    ['https://server.example.com:99999/token', null],
    ['https://a.example,b.example/token', null],
    ['https://server.example.com/a%2Fb', null],
    ['https://server.example.com/a;b', null],
    ['https://server.example.com/../a', null],
    ['https://server.example.com/%C0%AE', null],
    ['https://server.exa mple.com/a', null],
    ['', null],
  ];
  for (const [uri, expected] of cases) {
    it(`${JSON.stringify(uri)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(normaliseHttpUri(uri), expected);
    });
  }

  it('never throws, and is idempotent', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.webUrl({ withQueryParameters: true, withFragments: true })), (uri) => {
        const once = normaliseHttpUri(uri);
        if (once !== null) assert.equal(normaliseHttpUri(once), once);
      }),
    );
  });

  it('ignores the query and fragment of any URL', () => {
    fc.assert(
      fc.property(fc.webUrl(), fc.webQueryParameters(), fc.webFragments(), (url, query, fragment) => {
        assert.equal(normaliseHttpUri(`${url}?${query}#${fragment}`), normaliseHttpUri(url));
      }),
    );
  });
});
