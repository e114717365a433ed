import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { digestKey, digestsEqual } from './key-digest.ts';
import { generateKey } from './key-format.ts';

const EMPTY_DIGEST = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const ABC_DIGEST = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

describe('digestKey', () => {
  test('matches the SHA-256 test vectors', () => {
    assert.equal(digestKey(''), EMPTY_DIGEST);
    assert.equal(digestKey('abc'), ABC_DIGEST);
  });

  test('digests the whole key as UTF-8', () => {
    const key = generateKey('pcl_live');
    assert.equal(digestKey(key), createHash('sha256').update(key, 'utf8').digest('hex'));
    assert.equal(digestKey('é'), createHash('sha256').update(Buffer.from('é', 'utf8')).digest('hex'));
  });

  test('property: 64 lowercase hex characters, deterministic, distinct for distinct keys', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        const digestA = digestKey(a);
        assert.match(digestA, /^[0-9a-f]{64}$/);
        assert.equal(digestKey(a), digestA);
        assert.equal(digestA === digestKey(b), a === b);
      }),
    );
  });

  test('generated keys have distinct digests', () => {
    const digests = new Set<string>();
    for (let index = 0; index < 1000; index++) digests.add(digestKey(generateKey('pcl')));
    assert.equal(digests.size, 1000);
  });
});

describe('digestsEqual', () => {
  const flipLast = ABC_DIGEST.slice(0, -1) + (ABC_DIGEST.endsWith('d') ? 'e' : 'd');
  const flipFirst = (ABC_DIGEST.startsWith('b') ? 'c' : 'b') + ABC_DIGEST.slice(1);
  const cases: ReadonlyArray<[string, unknown, unknown, boolean]> = [
    ['the same digest', ABC_DIGEST, ABC_DIGEST, true],
    ['the same digest, another string instance', ABC_DIGEST, digestKey('abc'), true],
    ['different digests', ABC_DIGEST, EMPTY_DIGEST, false],
    ['a difference in the last character', ABC_DIGEST, flipLast, false],
    ['a difference in the first character', ABC_DIGEST, flipFirst, false],
    ['one character short', ABC_DIGEST, ABC_DIGEST.slice(0, -1), false],
    ['one character long', ABC_DIGEST, ABC_DIGEST + '0', false],
    ['both one character short', ABC_DIGEST.slice(0, -1), ABC_DIGEST.slice(0, -1), false],
    ['upper case', ABC_DIGEST.toUpperCase(), ABC_DIGEST.toUpperCase(), false],
    ['a non-hex character', 'g' + ABC_DIGEST.slice(1), 'g' + ABC_DIGEST.slice(1), false],
    ['a non-hex tail that hex decoding would drop', ABC_DIGEST.slice(0, 62) + 'zz', ABC_DIGEST.slice(0, 62) + 'yy', false],
    ['empty strings', '', '', false],
    ['non-ASCII of the right length', 'é'.repeat(64), 'é'.repeat(64), false],
    ['undefined', undefined, ABC_DIGEST, false],
    ['null', ABC_DIGEST, null, false],
    ['a Buffer', Buffer.from(ABC_DIGEST, 'hex'), Buffer.from(ABC_DIGEST, 'hex'), false],
  ];
  for (const [name, a, b, expected] of cases) {
    test(`${name}: ${expected}`, () => {
      assert.equal(digestsEqual(a as string, b as string), expected);
    });
  }

  test('property: equal exactly when the digested strings are equal, and symmetric', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const digestA = digestKey(a);
        const digestB = digestKey(b);
        assert.equal(digestsEqual(digestA, digestB), a === b);
        assert.equal(digestsEqual(digestB, digestA), a === b);
        assert.equal(digestsEqual(digestA, digestA), true);
      }),
    );
  });

  test('property: never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.anything(), fc.oneof(fc.anything(), fc.string({ minLength: 64, maxLength: 64 })), (a, b) => {
        assert.equal(typeof digestsEqual(a as string, b as string), 'boolean');
      }),
    );
  });
});
