import { seededRandom } from '../../test/support/seeded-random.ts';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { BASE62_ALPHABET, encodeBase62Number } from './base62.ts';
import { generateKey, parseKey, parseKeyOfAnyPrefix } from './key-format.ts';
import { findKeysIn, KeyStreamSearch, looksBinary, type KeySighting } from './key-search.ts';

const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}(_[a-z0-9]{1,16})?$/;
const prefixArbitrary = fc.oneof(fc.constantFrom('pcl', 'pcl_live', 'pcl_test', 'a', 'x9_y'), fc.stringMatching(PREFIX_PATTERN));
/** Text around keys: anything, including letters, digits and `_` right beside them. */
const contextArbitrary = fc.string({ unit: fc.constantFrom(...'ab_Z09 =\n"\'\t:/-.'), maxLength: 30 });


/** Joined from an array: a flat string, as a file read from disk is (not a rope of one-character pieces). */
function randomText(random: () => number, alphabet: string, length: number): string {
  return Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
}

const BASE64URL = `${BASE62_ALPHABET}-_`;
const HEX = '0123456789abcdef';

/**
 * High-entropy strings and lookalikes: random base62, base64url (with `_`), hex, tokens of
 * other services' shapes, and `<prefix>_<49 base62>` with a random or an off-by-one checksum,
 * or one character of a real key changed.
 */
function highEntropyStrings(count: number, seed: number): string[] {
  const random = seededRandom(seed);
  const keys = Array.from({ length: 64 }, () => generateKey('pcl'));
  const strings: string[] = [];
  for (let index = 0; index < count; index++) {
    const kind = index % 8;
    const length = 20 + Math.floor(random() * 80);
    if (kind === 0) strings.push(randomText(random, BASE62_ALPHABET, length));
    else if (kind === 1) strings.push(randomText(random, BASE64URL, length));
    else if (kind === 2) strings.push(randomText(random, HEX, length));
    else if (kind === 3) strings.push(`${['pcl', 'pcl_live', 'sk_live', 'ghp', 'xoxb'][index % 5]}_${randomText(random, BASE62_ALPHABET, 49)}`);
    else if (kind === 4) strings.push(`token_${randomText(random, BASE62_ALPHABET, 49)}_${randomText(random, BASE64URL, 49)}`);
    else {
      const key = keys[index % keys.length] as string;
      const head = key.slice(0, -6);
      if (kind === 5) strings.push(head + encodeBase62Number((crc32(head) + 1 + Math.floor(random() * 1000)) % 2 ** 32, 6));
      else {
        // One character changed (CRC32 catches every single-character change).
        const at = 4 + Math.floor(random() * (key.length - 4));
        const replacement = BASE62_ALPHABET[(BASE62_ALPHABET.indexOf(key[at] as string) + 1 + Math.floor(random() * 61)) % 62] as string;
        strings.push(key.slice(0, at) + replacement + key.slice(at + 1));
      }
    }
  }
  return strings;
}

describe('parseKeyOfAnyPrefix', () => {
  test('accepts a key of any valid prefix, and exactly what parseKey accepts for that prefix', () => {
    fc.assert(
      fc.property(prefixArbitrary, fc.string({ maxLength: 100 }), (prefix, noise) => {
        const key = generateKey(prefix);
        assert.deepEqual(parseKeyOfAnyPrefix(key), parseKey(key, [prefix]));
        assert.equal(parseKeyOfAnyPrefix(noise), null);
      }),
    );
  });

  test('refuses lookalikes: a wrong checksum, a bad prefix, the wrong length, non-strings', () => {
    const key = generateKey('pcl_live');
    assert.equal(parseKeyOfAnyPrefix(`${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`), null);
    assert.equal(parseKeyOfAnyPrefix(`Pcl${key.slice(3)}`), null);
    assert.equal(parseKeyOfAnyPrefix(key.slice(1)), null);
    assert.equal(parseKeyOfAnyPrefix(`${key}0`), null);
    assert.equal(parseKeyOfAnyPrefix(`a_b_c${key.slice(8)}`), null);
    assert.equal(parseKeyOfAnyPrefix(42), null);
  });
});

describe('findKeysIn', () => {
  test('finds every key, whatever its prefix and whatever surrounds it, at its place', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(contextArbitrary, prefixArbitrary), { minLength: 1, maxLength: 5 }), contextArbitrary, (parts, tail) => {
        let text = '';
        const planted: Array<{ key: string; index: number }> = [];
        for (const [before, prefix] of parts) {
          // A separator no prefix can absorb, so each key is exactly the one planted.
          text += `${before} `;
          const key = generateKey(prefix);
          planted.push({ key, index: text.length });
          text += `${key} `;
        }
        text += tail;
        assert.deepEqual(findKeysIn(text), planted);
      }),
    );
  });

  test('a key glued to text before it is still found; one glued to a letter or digit after it is a longer word', () => {
    const key = generateKey('pcl');
    const live = generateKey('pcl_live');
    assert.deepEqual(findKeysIn(`MY_TOKEN_${key}`), [{ key, index: 9 }]);
    assert.deepEqual(findKeysIn(`xyz${key}`), [{ key, index: 3 }]);
    assert.deepEqual(findKeysIn(`env_${live};`), [{ key: live, index: 4 }]);
    assert.deepEqual(findKeysIn(`${key}_`), [{ key, index: 0 }]);
    assert.deepEqual(findKeysIn(`${key}x`), []);
    assert.deepEqual(findKeysIn(`${key}0`), []);
  });

  test('never throws, and finds nothing in arbitrary text without keys', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (text) => assert.deepEqual(findKeysIn(text), [])));
  });

  test('reports nothing on 100,000 random high-entropy strings and lookalikes with a wrong checksum', (context) => {
    const strings = highEntropyStrings(100_000, 20);
    const started = performance.now();
    let found = 0;
    for (const text of strings) found += findKeysIn(text).length;
    const oneByOne = performance.now() - started;
    const joined = strings.join('\n');
    const startedJoined = performance.now();
    const inOneText = findKeysIn(joined).length;
    const asOneText = performance.now() - startedJoined;
    assert.equal(found, 0);
    assert.equal(inOneText, 0);
    context.diagnostic(`100,000 strings (${(joined.length / 1e6).toFixed(1)} MB): ${oneByOne.toFixed(0)} ms one by one, ${asOneText.toFixed(0)} ms as one text`);
    // The same strings with the real keys put back are all found: the lookalikes were that close.
    const real = generateKey('pcl');
    assert.equal(findKeysIn(`${joined}\n${real}\n`).length, 1);
  });
});

describe('KeyStreamSearch', () => {
  function searchWhole(text: string): KeySighting[] {
    const search = new KeyStreamSearch();
    return [...search.push(text), ...search.end()];
  }

  test('gives 1-based lines and byte columns', () => {
    const key = generateKey('pcl');
    assert.deepEqual(searchWhole(`one\ntwo ${key}\n\n  "${key}"`), [
      { key, line: 2, column: 5 },
      { key, line: 4, column: 4 },
    ]);
  });

  test('finds the same keys at the same places however the text is cut into chunks', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(contextArbitrary, prefixArbitrary), { minLength: 1, maxLength: 4 }), fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 40 }), (parts, cuts) => {
        const text = parts.map(([before, prefix]) => `${before} ${generateKey(prefix)}`).join('\n');
        const expected = searchWhole(text);
        assert.equal(expected.length, parts.length);
        const search = new KeyStreamSearch();
        const sightings: KeySighting[] = [];
        let at = 0;
        for (let cut = 0; at < text.length; cut++) {
          const size = cuts[cut % cuts.length] as number;
          sightings.push(...search.push(text.slice(at, at + size)));
          at += size;
        }
        sightings.push(...search.end());
        assert.deepEqual(sightings, expected);
      }),
    );
  });

  test('a key cut by a chunk boundary and then continued by a letter is no key', () => {
    const key = generateKey('pcl');
    const search = new KeyStreamSearch();
    assert.deepEqual([...search.push(key), ...search.push('x'), ...search.end()], []);
  });
});

test('looksBinary: a NUL byte in the first 8000 bytes', () => {
  assert.equal(looksBinary(Buffer.from('plain text\n')), false);
  assert.equal(looksBinary(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00])), true);
  assert.equal(looksBinary(Buffer.concat([Buffer.alloc(8000, 0x61), Buffer.from([0])])), false);
});
