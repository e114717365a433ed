import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { closestNames, didYouMean, editDistance } from './closest-names.ts';

describe('closest names (did you mean)', () => {
  it('counts edits, an adjacent swap as one', () => {
    for (const [a, b, distance] of [['', '', 0], ['allow', 'alow', 1], ['allow', 'allwo', 1], ['store', 'stroe', 1], ['keyRate', 'keyrate', 1], ['abc', 'xyz', 3]] as const) {
      assert.equal(editDistance(a, b), distance, `${a} → ${b}`);
    }
  });

  it('offers the closest candidates only, ignoring case, and nothing when none is close', () => {
    const variables = ['PORTCULLIS_NETWORK_ALLOW', 'PORTCULLIS_NETWORK_DENY', 'PORTCULLIS_STORE'];
    assert.deepEqual(closestNames('PORTCULLIS_NETWORK_ALOW', variables), ['PORTCULLIS_NETWORK_ALLOW']);
    assert.deepEqual(closestNames('portcullis_store', variables), ['PORTCULLIS_STORE']);
    assert.deepEqual(closestNames('PORTCULLIS_SOMETHING_ELSE', variables), []);
    assert.equal(didYouMean('url', ['uri', 'url2', 'tls']), '; did you mean uri or url2?');
    assert.equal(didYouMean('x', ['tls']), '');
  });

  it('is a distance: zero to itself, symmetric, never more than the longer length', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (a, b) => {
        assert.equal(editDistance(a, a), 0);
        assert.equal(editDistance(a, b), editDistance(b, a));
        assert.ok(editDistance(a, b) <= Math.max(a.length, b.length));
      }),
    );
  });
});
