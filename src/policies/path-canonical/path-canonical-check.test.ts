import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeParts } from '../../../test/support/fake-context.ts';
import { PATH_REFUSALS, type NonCanonicalPolicy } from '../../http/canonical-path.ts';
import type { Denial } from '../../http/error-catalogue.ts';
import { createPathCanonicalCheck } from './path-canonical-check.ts';
import { pathCanonical } from './index.ts';

type Refusal = keyof typeof PATH_REFUSALS;

/** What the check leaves on the context (a pass), or the refusal it answers with. */
type Expected = { upstreamPath: string; path: string } | { refused: Refusal };

const cases: Array<{ name: string; url: string; expected: Record<NonCanonicalPolicy, Expected> }> = [
  { name: 'a canonical path', url: '/orders/42', expected: { refuse: { upstreamPath: '/orders/42', path: '/orders/42' }, normalise: { upstreamPath: '/orders/42', path: '/orders/42' } } },
  { name: 'a canonical path with a query, left as sent', url: '/orders?q=a%2fb&x=%zz', expected: { refuse: { upstreamPath: '/orders?q=a%2fb&x=%zz', path: '/orders' }, normalise: { upstreamPath: '/orders?q=a%2fb&x=%zz', path: '/orders' } } },
  { name: 'the root', url: '/', expected: { refuse: { upstreamPath: '/', path: '/' }, normalise: { upstreamPath: '/', path: '/' } } },
  { name: 'an empty segment', url: '/orders//42', expected: { refuse: { refused: 'emptySegment' }, normalise: { upstreamPath: '/orders/42', path: '/orders/42' } } },
  { name: 'a trailing slash, with a query', url: '/orders/?x=1', expected: { refuse: { refused: 'emptySegment' }, normalise: { upstreamPath: '/orders?x=1', path: '/orders' } } },
  { name: 'a dot-dot segment', url: '/public/../admin', expected: { refuse: { refused: 'dotSegment' }, normalise: { upstreamPath: '/admin', path: '/admin' } } },
  { name: 'a dot segment', url: '/./orders', expected: { refuse: { refused: 'dotSegment' }, normalise: { upstreamPath: '/orders', path: '/orders' } } },
  { name: 'an encoded letter', url: '/%61dmin', expected: { refuse: { refused: 'encodedUnreserved' }, normalise: { upstreamPath: '/admin', path: '/admin' } } },
  { name: 'lower-case hex', url: '/caf%c3%a9', expected: { refuse: { refused: 'lowercaseHex' }, normalise: { upstreamPath: '/caf%C3%A9', path: '/caf%C3%A9' } } },
  { name: 'a character that must be encoded', url: '/a{b}', expected: { refuse: { refused: 'mustEncode' }, normalise: { upstreamPath: '/a%7Bb%7D', path: '/a%7Bb%7D' } } },
  { name: 'an encoded slash', url: '/public/..%2Fadmin', expected: { refuse: { refused: 'encodedSeparator' }, normalise: { refused: 'encodedSeparator' } } },
  { name: 'an encoded backslash', url: '/a%5Cb', expected: { refuse: { refused: 'encodedSeparator' }, normalise: { refused: 'encodedSeparator' } } },
  { name: 'a raw backslash', url: '/a\\b', expected: { refuse: { refused: 'backslash' }, normalise: { refused: 'backslash' } } },
  { name: 'a semicolon (path parameters)', url: '/admin;x=1', expected: { refuse: { refused: 'semicolon' }, normalise: { refused: 'semicolon' } } },
  { name: 'a fragment after the query', url: '/a?x=1#frag', expected: { refuse: { refused: 'hash' }, normalise: { refused: 'hash' } } },
  { name: 'an encoded NUL', url: '/a%00b', expected: { refuse: { refused: 'encodedControl' }, normalise: { refused: 'encodedControl' } } },
  { name: 'an overlong UTF-8 dot', url: '/%C0%AE%C0%AE/admin', expected: { refuse: { refused: 'invalidUtf8' }, normalise: { refused: 'invalidUtf8' } } },
  { name: 'a truncated percent-encoding', url: '/a%2', expected: { refuse: { refused: 'invalidPercent' }, normalise: { refused: 'invalidPercent' } } },
  { name: 'climbing above the root', url: '/a/../../etc', expected: { refuse: { refused: 'dotSegment' }, normalise: { refused: 'aboveRoot' } } },
];

describe('path-canonical check', () => {
  for (const policy of ['refuse', 'normalise'] as const) {
    describe(`paths.nonCanonical: ${policy}`, () => {
      const check = createPathCanonicalCheck(policy);
      for (const { name, url, expected: byPolicy } of cases) {
        const expected = byPolicy[policy];
        it(`${'refused' in expected ? `refuses (${expected.refused})` : 'passes'}: ${name}`, () => {
          const context = fakeContext({ url });
          const outcome = check.run(context) as Denial | null;
          if ('refused' in expected) {
            assert.equal(outcome?.code, 'path_not_canonical');
            assert.equal(outcome?.status, 400);
            assert.equal(outcome?.detail, PATH_REFUSALS[expected.refused].detail);
            assert.equal(context.upstreamPath, url, 'a refused target is not rewritten');
            return;
          }
          assert.equal(outcome, null);
          assert.equal(context.upstreamPath, expected.upstreamPath);
          assert.equal(context.path, expected.path);
        });
      }
    });
  }

  const queries: Array<{ name: string; url: string; refused: boolean }> = [
    { name: 'a raw ";" between parameters', url: '/orders?role=user;role=admin', refused: true },
    { name: 'a raw ";" inside a value', url: '/orders?q=a;b', refused: true },
    { name: 'a raw ";" after a path that is normalised', url: '/orders/?a=1;b=2', refused: true },
    { name: 'a ";" percent-encoded', url: '/orders?q=a%3Bb', refused: false },
    { name: 'a query with "&" only', url: '/orders?a=1&b=2', refused: false },
    { name: 'an empty query', url: '/orders?', refused: false },
  ];
  for (const policy of ['refuse', 'normalise'] as const) {
    for (const { name, url, refused } of queries) {
      if (policy === 'refuse' && url.includes('/?')) continue;
      it(`${refused ? 'refuses (request_invalid)' : 'passes'} under ${policy}: ${name}`, () => {
        const context = fakeContext({ url });
        const outcome = createPathCanonicalCheck(policy).run(context) as Denial | null;
        if (!refused) return assert.equal(outcome, null);
        assert.equal(outcome?.code, 'request_invalid');
        assert.equal(outcome?.status, 400);
        assert.match(outcome.detail, /raw ";".*%3B/);
        assert.equal(context.upstreamPath, url, 'a refused target is not rewritten');
      });
    }
  }

  it('canonicalises the target the context carries, not req.url', () => {
    const context = fakeContext({ url: '/a//b' }, { upstreamPath: '/a/b?x=1' });
    assert.equal(createPathCanonicalCheck('refuse').run(context), null);
    assert.equal(context.path, '/a/b');
  });

  it('never echoes the client\'s path in the detail', () => {
    const outcome = createPathCanonicalCheck('refuse').run(fakeContext({ url: '/<script>alert(1)</script>' })) as Denial;
    assert.equal(outcome.code, 'path_not_canonical');
    assert.doesNotMatch(outcome.detail, /script/);
  });
});

describe('path-canonical policy', () => {
  it('is always in the pipeline, with the configured treatment of non-canonical paths', () => {
    assert.equal(pathCanonical.stage, 1);
    const refusing = pathCanonical.create({ paths: { nonCanonical: 'refuse' } }, fakeParts());
    const normalising = pathCanonical.create({ paths: { nonCanonical: 'normalise' } }, fakeParts());
    assert.equal((refusing?.run(fakeContext({ url: '/a//b' })) as Denial | null)?.code, 'path_not_canonical');
    const context = fakeContext({ url: '/a//b' });
    assert.equal(normalising?.run(context), null);
    assert.equal(context.upstreamPath, '/a/b');
  });
});
