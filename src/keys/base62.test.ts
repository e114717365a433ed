import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  BASE62_ALPHABET,
  base62DigitValue,
  decodeBase62Number,
  encodeBase62Fixed,
  encodeBase62Number,
} from './base62.ts';

/** Independent reference decoder for arbitrary widths. */
function decodeBig(digits: string): bigint {
  let value = 0n;
  for (const char of digits) value = value * 62n + BigInt(BASE62_ALPHABET.indexOf(char));
  return value;
}

function bytesToBig(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = value * 256n + BigInt(byte);
  return value;
}

describe('base62 alphabet', () => {
  test('is 0-9A-Za-z in ASCII order', () => {
    assert.equal(BASE62_ALPHABET.length, 62);
    assert.equal(BASE62_ALPHABET, [...BASE62_ALPHABET].sort().join(''));
    assert.match(BASE62_ALPHABET, /^[0-9A-Za-z]{62}$/);
  });

  test('base62DigitValue maps every code unit to its digit or -1', () => {
    for (let code = 0; code <= 0xffff; code++) {
      assert.equal(base62DigitValue(code), BASE62_ALPHABET.indexOf(String.fromCharCode(code)), `code ${code}`);
    }
    for (const code of [-1, 0x10000, Number.NaN, 1.5]) assert.equal(base62DigitValue(code), -1);
  });
});

describe('encodeBase62Number', () => {
  const cases: ReadonlyArray<[number, number, string]> = [
    [0, 1, '0'],
    [0, 6, '000000'],
    [9, 1, '9'],
    [10, 1, 'A'],
    [35, 1, 'Z'],
    [36, 1, 'a'],
    [61, 1, 'z'],
    [62, 2, '10'],
    [62, 3, '010'],
    [3843, 2, 'zz'],
    [0xcbf43926, 6, '3jZRME'],
    [2 ** 32 - 1, 6, '4gfFC3'],
    [62 ** 6 - 1, 6, 'zzzzzz'],
  ];
  for (const [n, width, expected] of cases) {
    test(`${n} in ${width} digits is ${expected}`, () => {
      assert.equal(encodeBase62Number(n, width), expected);
    });
  }

  test('throws a RangeError when the number does not fit or is not a non-negative safe integer', () => {
    assert.throws(() => encodeBase62Number(62, 1), RangeError);
    assert.throws(() => encodeBase62Number(62 ** 6, 6), RangeError);
    assert.throws(() => encodeBase62Number(1, 0), RangeError);
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
      assert.throws(() => encodeBase62Number(bad, 10), RangeError, String(bad));
    }
    assert.throws(() => encodeBase62Number(1, -1), RangeError);
  });
});

describe('encodeBase62Fixed', () => {
  test('left-pads with 0 to the fixed width', () => {
    assert.equal(encodeBase62Fixed(new Uint8Array(32), 43), '0'.repeat(43));
    assert.equal(encodeBase62Fixed(new Uint8Array([1, 0]), 3), '048');
    assert.equal(encodeBase62Fixed(new Uint8Array([0, 0, 61]), 5), '0000z');
    assert.equal(encodeBase62Fixed(new Uint8Array(0), 2), '00');
  });

  test('32 bytes of 0xff fit 43 digits but not 42', () => {
    assert.equal(encodeBase62Fixed(new Uint8Array(32).fill(0xff), 43), 'yhjskwdA6OZ1AL1YmHWZWm8LLG7HjnuCA2j5rOw8Xp1');
    assert.throws(() => encodeBase62Fixed(new Uint8Array(32).fill(0xff), 42), RangeError);
  });

  test('property: round-trips any bytes and keeps the width', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const width = Math.ceil((bytes.length * 8) / Math.log2(62));
        const encoded = encodeBase62Fixed(bytes, width);
        assert.equal(encoded.length, width);
        assert.match(encoded, /^[0-9A-Za-z]*$/);
        assert.equal(decodeBig(encoded), bytesToBig(bytes));
      }),
    );
  });

  test('property: 32 random bytes always take exactly 43 digits', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        assert.equal(encodeBase62Fixed(bytes, 43).length, 43);
      }),
    );
  });
});

describe('decodeBase62Number', () => {
  const cases: ReadonlyArray<[string, number | null]> = [
    ['0', 0],
    ['000000', 0],
    ['z', 61],
    ['10', 62],
    ['3jZRME', 0xcbf43926],
    ['4gfFC3', 2 ** 32 - 1],
    ['zzzzzzzz', 62 ** 8 - 1],
    ['', null],
    ['-1', null],
    ['1 ', null],
    ['_', null],
    ['+', null],
    ['é', null],
    ['\uff10', null], // FULLWIDTH DIGIT ZERO
    ['\ud800', null],
    ['zzzzzzzzz', null], // 62^9 - 1 > Number.MAX_SAFE_INTEGER
  ];
  for (const [input, expected] of cases) {
    test(`${JSON.stringify(input)} decodes to ${expected}`, () => {
      assert.equal(decodeBase62Number(input), expected);
    });
  }

  test('property: round-trips encodeBase62Number and keeps numeric order', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.nat(), fc.nat(), (width, seedA, seedB) => {
        const limit = 62 ** width;
        const a = seedA % limit;
        const b = seedB % limit;
        const encodedA = encodeBase62Number(a, width);
        const encodedB = encodeBase62Number(b, width);
        assert.equal(encodedA.length, width);
        assert.equal(decodeBase62Number(encodedA), a);
        assert.equal(Math.sign(a - b), encodedA < encodedB ? -1 : encodedA > encodedB ? 1 : 0);
      }),
    );
  });

  test('property: never throws, and returns null when any character is outside the alphabet', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.stringMatching(/^[0-9A-Za-z]{1,12}$/)), (input) => {
        const decoded = decodeBase62Number(input);
        const allBase62 = input.length > 0 && [...input].every((char) => BASE62_ALPHABET.includes(char));
        if (!allBase62) assert.equal(decoded, null);
        else if (decodeBig(input) > BigInt(Number.MAX_SAFE_INTEGER)) assert.equal(decoded, null);
        else assert.equal(decoded, Number(decodeBig(input)));
      }),
    );
  });
});
