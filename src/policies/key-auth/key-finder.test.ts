import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { generateKey } from '../../keys/key-format.ts';
import { KeyFinder } from './key-finder.ts';

const finder = new KeyFinder(['pcl', 'pcl_live']);
const KEY = generateKey('pcl');
const OTHER = generateKey('pcl');
const LIVE = generateKey('pcl_live');

describe('KeyFinder', () => {
  it('knows a key\'s length past its prefix, as key-format makes it', () => {
    assert.equal(KEY.length - 'pcl'.length, 50);
    assert.equal(LIVE.length - 'pcl_live'.length, 50);
  });

  const outlines: Array<{ name: string; text: string; expected: boolean }> = [
    { name: 'a key', text: KEY, expected: true },
    { name: 'a key with an environment tag', text: LIVE, expected: true },
    { name: 'a key with a wrong checksum: still the outline', text: KEY.slice(0, -1) + '0', expected: true },
    { name: 'a key with one character more', text: `${KEY}x`, expected: false },
    { name: 'a key in quotes', text: `"${KEY}"`.slice(0, KEY.length), expected: false },
    { name: 'another prefix of the same length', text: `acm${KEY.slice(3)}`, expected: false },
    { name: 'no separator after the prefix', text: `pclx${KEY.slice(4)}`, expected: false },
    { name: 'empty', text: '', expected: false },
  ];
  for (const { name, text, expected } of outlines) {
    it(`${expected ? 'sees' : 'does not see'} the outline of one key: ${name}`, () => assert.equal(finder.isKeyOutline(text), expected));
  }

  const searches: Array<{ name: string; text: string; expected: string[] | null }> = [
    { name: 'a key alone', text: KEY, expected: [KEY] },
    { name: 'a key inside text', text: `token="${KEY}";`, expected: [KEY] },
    { name: 'a key right after other letters', text: `xyz${KEY}`, expected: [KEY] },
    { name: 'a key followed by more letters or digits (a longer word)', text: `${KEY}abc`, expected: null },
    { name: 'a key followed by a dot', text: `${KEY}.sig`, expected: [KEY] },
    { name: 'two keys', text: `${KEY} ${OTHER}`, expected: [KEY, OTHER] },
    { name: 'a key with an environment tag', text: `k=${LIVE}`, expected: [LIVE] },
    { name: 'a wrong checksum', text: `k=${KEY.slice(0, -1)}${KEY.endsWith('0') ? '1' : '0'}`, expected: null },
    { name: 'a prefix not accepted', text: generateKey('acme'), expected: null },
    { name: 'a key cut short', text: KEY.slice(0, -1), expected: null },
    { name: 'underscores without a key', text: 'a_b_c_d', expected: null },
    { name: 'empty', text: '', expected: null },
  ];
  for (const { name, text, expected } of searches) {
    it(`finds ${expected === null ? 'no key' : expected.length === 1 ? 'the key' : 'every key'}: ${name}`, () => assert.deepEqual(finder.keysIn(text), expected));
  }

  it('finds a key wherever it sits in any text, unless a letter or digit follows it, and never throws', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }).filter((text) => !/^[A-Za-z0-9]/.test(text)), (before, after) => {
        const found = finder.keysIn(`${before}${KEY}${after}`);
        assert.ok(found !== null && found.includes(KEY));
        assert.equal(finder.keysIn(`${before}${KEY}x${after}`)?.includes(KEY) ?? false, false);
        finder.keysIn(before + after);
        finder.isKeyOutline(before);
      }),
    );
  });

  it('refuses an invalid prefix at creation, like the key parser', () => {
    assert.throws(() => new KeyFinder([]));
    assert.throws(() => new KeyFinder(['Not-A-Prefix']));
  });
});
