import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalisePath, canonicaliseTarget, PATH_REFUSALS, type NonCanonicalPolicy, type PathRefusal } from './canonical-path.ts';

const refused = (value: string | PathRefusal): value is PathRefusal => typeof value !== 'string';

/** Pieces that make interesting paths: separators, dots, encodings in both cases, bytes that must be refused. */
const PIECES = ['/', '/', '/', 'a', 'admin', 'B', '.', '..', '%2e', '%2E', '%2f', '%2F', '%5c', '%5C', '%00', '%1f', '%7F', '%41', '%61', '%7e', '%20', '%25', '%3b', '%3F',
  '%C3%A9', '%c3%a9', '%C0%AE', '%E0%80%AE', '%ED%A0%80', '%F4%90%80%80', '%F0%9F%98%80', '%', '%2', '%zz', '\\', ';', '#', '|', '{', '"', '~', '-', ':', '@', '+', '\u0000', 'é', ' '];

const pathArbitrary = fc.array(fc.constantFrom(...PIECES), { maxLength: 12 }).map((pieces) => `/${pieces.join('')}`);
const policies: NonCanonicalPolicy[] = ['refuse', 'normalise'];

/** What no accepted path may contain, whatever the policy. */
function assertSafe(path: string): void {
  assert.ok(path.startsWith('/'), path);
  assert.ok(!/\/\//.test(path), `empty segment in ${path}`);
  assert.ok(path === '/' || !path.endsWith('/'), `trailing slash in ${path}`);
  for (const segment of path.slice(1).split('/')) assert.ok(segment !== '.' && segment !== '..', `dot segment in ${path}`);
  assert.ok(!/%(2[fF]|5[cC]|2[eE])/.test(path), `encoded / \\ or . in ${path}`);
  assert.ok(!/%([01][0-9a-fA-F]|7[fF])/.test(path), `encoded control byte in ${path}`);
  assert.ok(!/[\u0000-\u0020\u007f-\uffff\\;#]/.test(path), `raw control, space, non-ASCII, \\, ; or # in ${path}`);
  assert.doesNotThrow(() => decodeURIComponent(path), `not valid UTF-8 when decoded: ${path}`);
}

describe('canonicalisePath', () => {
  it('passes canonical paths unchanged, as the same string', () => {
    for (const path of ['/', '/orders', '/orders/42/items', '/a-b_c.d~e', "/x!$&'()*+,=:@", '/caf%C3%A9', '/a%20b', '/100%25', '/.well-known/x', '/a..b', '/...']) {
      for (const policy of policies) assert.equal(canonicalisePath(path, policy), path, `${path} (${policy})`);
    }
  });

  it('refuses what no policy can make safe', () => {
    const cases: Array<[string, PathRefusal]> = [
      ['/a/%2F/b', PATH_REFUSALS.encodedSeparator],
      ['/a%2fb', PATH_REFUSALS.encodedSeparator],
      ['/a%5Cb', PATH_REFUSALS.encodedSeparator],
      ['/a%5cb', PATH_REFUSALS.encodedSeparator],
      ['/a\\b', PATH_REFUSALS.backslash],
      ['/admin;x=1', PATH_REFUSALS.semicolon],
      ['/a%00', PATH_REFUSALS.encodedControl],
      ['/a%0A', PATH_REFUSALS.encodedControl],
      ['/a%7f', PATH_REFUSALS.encodedControl],
      ['/a%', PATH_REFUSALS.invalidPercent],
      ['/a%2', PATH_REFUSALS.invalidPercent],
      ['/a%zz', PATH_REFUSALS.invalidPercent],
      ['/a%C3', PATH_REFUSALS.invalidUtf8],
      ['/a%C3%28', PATH_REFUSALS.invalidUtf8],
      ['/%C0%AE%C0%AE/admin', PATH_REFUSALS.invalidUtf8],
      ['/%E0%80%AE', PATH_REFUSALS.invalidUtf8],
      ['/%ED%A0%80', PATH_REFUSALS.invalidUtf8],
      ['/%F4%90%80%80', PATH_REFUSALS.invalidUtf8],
      ['/%80', PATH_REFUSALS.invalidUtf8],
      ['/a\u0001b', PATH_REFUSALS.character],
      ['/café', PATH_REFUSALS.character],
      ['/a#b', PATH_REFUSALS.hash],
    ];
    for (const [path, expected] of cases) {
      for (const policy of policies) assert.equal(canonicalisePath(path, policy), expected, `${path} (${policy})`);
    }
  });

  it('refuses every other non-canonical spelling under the refuse policy, and normalises it otherwise', () => {
    const cases: Array<[string, PathRefusal, string]> = [
      ['//admin', PATH_REFUSALS.emptySegment, '/admin'],
      ['/a//admin', PATH_REFUSALS.emptySegment, '/a/admin'],
      ['/admin/', PATH_REFUSALS.emptySegment, '/admin'],
      ['/./admin', PATH_REFUSALS.dotSegment, '/admin'],
      ['/public/../admin', PATH_REFUSALS.dotSegment, '/admin'],
      ['/public/%2e%2e/admin', PATH_REFUSALS.encodedDot, '/admin'],
      ['/public/%2E%2E/admin', PATH_REFUSALS.encodedDot, '/admin'],
      ['/public/.%2e/admin', PATH_REFUSALS.encodedDot, '/admin'],
      ['/%61dmin', PATH_REFUSALS.encodedUnreserved, '/admin'],
      ['/%7Euser', PATH_REFUSALS.encodedUnreserved, '/~user'],
      ['/caf%c3%a9', PATH_REFUSALS.lowercaseHex, '/caf%C3%A9'],
      ['/caf%C3%a9', PATH_REFUSALS.lowercaseHex, '/caf%C3%A9'],
      ['/a%3fb', PATH_REFUSALS.lowercaseHex, '/a%3Fb'],
      ['/a|b', PATH_REFUSALS.mustEncode, '/a%7Cb'],
      ['/{x}', PATH_REFUSALS.mustEncode, '/%7Bx%7D'],
    ];
    for (const [path, whenRefused, normalised] of cases) {
      assert.equal(canonicalisePath(path, 'refuse'), whenRefused, path);
      assert.equal(canonicalisePath(path, 'normalise'), normalised, path);
    }
  });

  it('refuses ".." that climbs above the root, even when normalising', () => {
    assert.equal(canonicalisePath('/../etc/passwd', 'normalise'), PATH_REFUSALS.aboveRoot);
    assert.equal(canonicalisePath('/a/../../b', 'normalise'), PATH_REFUSALS.aboveRoot);
    assert.equal(canonicalisePath('/a/b/../../c', 'normalise'), '/c');
  });

  it('property: never throws, and whatever it accepts is safe', () => {
    fc.assert(
      fc.property(pathArbitrary, fc.constantFrom(...policies), (path, policy) => {
        const result = canonicalisePath(path, policy);
        if (!refused(result)) assertSafe(result);
      }),
      { numRuns: 5000 },
    );
  });

  it('property: canonicalisation is idempotent, and its output is accepted unchanged by the refuse policy', () => {
    fc.assert(
      fc.property(pathArbitrary, fc.constantFrom(...policies), (path, policy) => {
        const once = canonicalisePath(path, policy);
        if (refused(once)) return;
        assert.equal(canonicalisePath(once, 'normalise'), once);
        assert.equal(canonicalisePath(once, 'refuse'), once);
      }),
      { numRuns: 5000 },
    );
  });

  it('property: the refuse policy accepts a path only as it is', () => {
    fc.assert(
      fc.property(pathArbitrary, (path) => {
        const result = canonicalisePath(path, 'refuse');
        if (!refused(result)) assert.equal(result, path);
      }),
      { numRuns: 5000 },
    );
  });

  it('property: a normalised path decodes to the same text as the original (no meaning changes)', () => {
    // Only for paths without dot or empty segments, whose normalisation must not change the decoded text.
    const plainPieces = fc.constantFrom('a', 'Z', '%41', '%7e', '%7E', '%c3%a9', '%C3%A9', '|', '%20', '%25', '~', '%2D');
    const plainPath = fc.array(fc.array(plainPieces, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('')), { minLength: 1, maxLength: 4 }).map((segments) => `/${segments.join('/')}`);
    fc.assert(
      fc.property(plainPath, (path) => {
        const result = canonicalisePath(path, 'normalise');
        assert.ok(!refused(result));
        assert.equal(decodeURIComponent(result), decodeURIComponent(path.replaceAll('|', '%7C')));
      }),
    );
  });
});

describe('canonicaliseTarget', () => {
  it('keeps the query as sent and returns the same string for a canonical target', () => {
    const target = '/orders?status=open&x=%2e%2E';
    assert.equal(canonicaliseTarget(target, 'refuse'), target);
    assert.equal(canonicaliseTarget('/a/./b?q=1', 'normalise'), '/a/b?q=1');
    assert.equal(canonicaliseTarget('/a/./b?q=1', 'refuse'), PATH_REFUSALS.dotSegment);
  });

  it('refuses "#" anywhere in the target', () => {
    assert.equal(canonicaliseTarget('/a?x=1#frag', 'normalise'), PATH_REFUSALS.hash);
    assert.equal(canonicaliseTarget('/a#frag', 'normalise'), PATH_REFUSALS.hash);
  });
});
