import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { BASE62_ALPHABET, decodeBase62Number, encodeBase62Number } from './base62.ts';
import {
  DEFAULT_KEY_PREFIX,
  createKeyParser,
  displayPrefixOf,
  generateKey,
  generateKeyId,
  generateTokenId,
  parseKey,
  validateKeyPrefix,
} from './key-format.ts';

const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}(_[a-z0-9]{1,16})?$/;
const prefixArbitrary = fc.oneof(
  fc.constantFrom('pcl', 'pcl_live', 'pcl_test', 'a', 'x9_y'),
  fc.stringMatching(PREFIX_PATTERN),
);

function prefixError(prefix: string): { message: string } {
  return {
    message:
      `Invalid key prefix "${prefix}": expected lowercase letters and digits, starting with a letter, ` +
      'optionally followed by "_" and an environment tag such as pcl_live',
  };
}

/** Builds `<prefix>_<random><checksum>` by hand, with an explicit checksum value. */
function keyWithChecksum(prefix: string, random: string, checksum: number): string {
  return `${prefix}_${random}${encodeBase62Number(checksum, 6)}`;
}

function validKey(prefix: string, random: string): string {
  return keyWithChecksum(prefix, random, crc32(`${prefix}_${random}`));
}

const ZERO_RANDOM = '0'.repeat(43);
const KNOWN_KEY = 'pcl_00000000000000000000000000000000000000000002x8AOb';

describe('DEFAULT_KEY_PREFIX', () => {
  test('is pcl', () => {
    assert.equal(DEFAULT_KEY_PREFIX, 'pcl');
  });
});

describe('validateKeyPrefix', () => {
  const valid = ['pcl', 'pcl_live', 'pcl_test', 'a', 'a1', 'x_1', 'p' + 'a'.repeat(15), 'pcl_' + 'a'.repeat(16)];
  for (const prefix of valid) {
    test(`accepts ${prefix}`, () => {
      assert.doesNotThrow(() => validateKeyPrefix(prefix));
    });
  }

  const invalid = [
    '',
    'PCL',
    'Pcl',
    '1pcl',
    '_pcl',
    'pcl_',
    'pcl__live',
    'pcl_live_eu',
    'pcl-live',
    'pcl live',
    'pcl\n',
    'pcé',
    'p' + 'a'.repeat(16),
    'pcl_' + 'a'.repeat(17),
  ];
  for (const prefix of invalid) {
    test(`rejects ${JSON.stringify(prefix)} with the documented message`, () => {
      assert.throws(() => validateKeyPrefix(prefix), prefixError(prefix));
    });
  }
});

describe('generateKey', () => {
  test('has the shape <prefix>_<43 base62><6 base62>', () => {
    for (const prefix of ['pcl', 'pcl_live']) {
      const key = generateKey(prefix);
      assert.equal(key.length, prefix.length + 50);
      assert.ok(key.startsWith(`${prefix}_`));
      assert.match(key.slice(prefix.length + 1), /^[0-9A-Za-z]{49}$/);
    }
  });

  test('the checksum is CRC32 of <prefix>_<random> in 6 base62 digits', () => {
    const key = generateKey('pcl_live');
    const head = key.slice(0, -6);
    assert.equal(decodeBase62Number(key.slice(-6)), crc32(head));
  });

  test('throws on an invalid prefix', () => {
    assert.throws(() => generateKey('PCL'), prefixError('PCL'));
    assert.throws(() => generateKey(''), prefixError(''));
  });

  test('the random part is 43 base62 digits (≥ 192 bits) and 1000 keys are distinct', () => {
    assert.ok(43 * Math.log2(62) >= 256, '43 base62 digits hold the 256 random bits');
    const keys = new Set<string>();
    const randoms = new Set<string>();
    for (let index = 0; index < 1000; index++) {
      const key = generateKey('pcl');
      const parsed = parseKey(key);
      assert.ok(parsed);
      assert.match(parsed.random, /^[0-9A-Za-z]{43}$/);
      keys.add(key);
      randoms.add(parsed.random);
    }
    assert.equal(keys.size, 1000);
    assert.equal(randoms.size, 1000);
  });

  test('the random digits are spread over the whole alphabet', () => {
    // 32 uniform bytes map to (almost) uniform digits everywhere except the
    // leading digit, which stays below 62 only barely; count the other 42.
    const counts = new Map<string, number>();
    for (let index = 0; index < 2000; index++) {
      const random = generateKey('pcl').slice(4 + 1, 4 + 43);
      for (const char of random) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    const expected = (2000 * 42) / 62;
    assert.equal(counts.size, 62);
    for (const [char, count] of counts) {
      assert.ok(Math.abs(count - expected) < expected * 0.15, `${char}: ${count} vs ${expected}`);
    }
  });

  test('property: every generated key parses, for any valid prefix', () => {
    fc.assert(
      fc.property(prefixArbitrary, (prefix) => {
        const key = generateKey(prefix);
        const parsed = createKeyParser([prefix])(key);
        assert.ok(parsed, key);
        assert.equal(parsed.prefix, prefix);
        assert.equal(`${parsed.prefix}_${parsed.random}`, key.slice(0, -6));
      }),
    );
  });
});

describe('createKeyParser', () => {
  test('throws at creation on an invalid prefix or an empty list', () => {
    assert.throws(() => createKeyParser(['pcl', 'Bad']), prefixError('Bad'));
    assert.throws(() => createKeyParser([]), /at least one accepted prefix/);
  });

  test('accepts a known key', () => {
    assert.equal(KNOWN_KEY, validKey('pcl', ZERO_RANDOM));
    assert.deepEqual(createKeyParser(['pcl'])(KNOWN_KEY), { prefix: 'pcl', random: ZERO_RANDOM });
  });

  test('splits at the last "_": a prefix may contain one', () => {
    const parse = createKeyParser(['pcl', 'pcl_live']);
    const live = generateKey('pcl_live');
    const plain = generateKey('pcl');
    assert.equal(parse(live)?.prefix, 'pcl_live');
    assert.equal(parse(plain)?.prefix, 'pcl');
    assert.equal(parse(live)?.random, live.slice(9, 9 + 43));
  });

  const parse = createKeyParser(['pcl', 'pcl_live']);
  const key = generateKey('pcl');
  const random = key.slice(4, 4 + 43);
  const crc = crc32(`pcl_${random}`);
  const rejected: ReadonlyArray<[string, unknown]> = [
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['an object', {}],
    ['an array holding the key', [key]],
    ['a String object', new String(key)],
    ['a Buffer of the key', Buffer.from(key)],
    ['a symbol', Symbol('pcl')],
    ['a function', () => key],
    ['an empty string', ''],
    ['the bare prefix', 'pcl_'],
    ['one character too many', key + 'a'],
    ['one character too few', key.slice(0, -1)],
    ['a leading space', ' ' + key.slice(0, -1)],
    ['a trailing newline', key.slice(0, -1) + '\n'],
    ['Bearer in front', 'Bearer ' + key],
    ['an upper-case prefix', 'PCL' + key.slice(3)],
    ['a "-" instead of "_"', 'pcl-' + key.slice(4)],
    ['an unaccepted prefix of the same length', validKey('abc', random)],
    ['an unaccepted environment tag', validKey('pcl_test', random)],
    ['"_" inside the random part', validKey('pcl', '_' + random.slice(1))],
    ['a non-base62 random character', validKey('pcl', '+' + random.slice(1))],
    ['a non-ASCII random character', validKey('pcl', 'é' + random.slice(1))],
    ['a non-base62 checksum character', key.slice(0, -1) + '='],
    ['checksum zzzzzz (≥ 2^32)', `pcl_${random}zzzzzz`],
    ['checksum + 2^32 (equal to the CRC modulo 2^32)', keyWithChecksum('pcl', random, crc + 2 ** 32)],
    ['checksum + 1', keyWithChecksum('pcl', random, (crc + 1) % 2 ** 32)],
    ['the checksum of another random part', keyWithChecksum('pcl', random, crc32(`pcl_${ZERO_RANDOM}`))],
  ];
  for (const [name, input] of rejected) {
    test(`rejects ${name}`, () => {
      assert.equal(parse(input), null);
    });
  }

  test('rejects every single-character substitution at every position (to any printable ASCII)', () => {
    // 'pcl_livf' and 'pcm' are accepted too: a one-character change of the
    // prefix into another accepted prefix must still fail on the checksum.
    const parseSimilar = createKeyParser(['pcl', 'pcm', 'pcl_live', 'pcl_livf']);
    let checked = 0;
    for (const prefix of ['pcl', 'pcl_live', 'pcm']) {
      for (let round = 0; round < 10; round++) {
        const original = generateKey(prefix);
        assert.notEqual(parseSimilar(original), null);
        for (let position = 0; position < original.length; position++) {
          for (let code = 0x20; code <= 0x7e; code++) {
            if (code === original.charCodeAt(position)) continue;
            const mutated = original.slice(0, position) + String.fromCharCode(code) + original.slice(position + 1);
            assert.equal(parseSimilar(mutated), null, `${mutated} (position ${position})`);
            checked++;
          }
        }
      }
    }
    assert.ok(checked > 40_000);
  });

  test('property: a random substitution anywhere in a key with any prefix is rejected', () => {
    fc.assert(
      fc.property(prefixArbitrary, fc.nat(), fc.integer({ min: 0x20, max: 0x7e }), (prefix, seed, code) => {
        const original = generateKey(prefix);
        const position = seed % original.length;
        fc.pre(original.charCodeAt(position) !== code);
        const mutated = original.slice(0, position) + String.fromCharCode(code) + original.slice(position + 1);
        assert.equal(createKeyParser([prefix])(mutated), null);
      }),
    );
  });

  test('property: a key with a prefix that is not accepted is rejected', () => {
    fc.assert(
      fc.property(prefixArbitrary, prefixArbitrary, (generated, accepted) => {
        fc.pre(generated !== accepted);
        assert.equal(createKeyParser([accepted])(generateKey(generated)), null);
      }),
    );
  });

  test('property: never throws on arbitrary input', () => {
    const parseMany = createKeyParser(['pcl', 'pcl_live', 'a']);
    const loneSurrogates = fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.string(),
          fc.string({ unit: 'binary' }),
          fc.string({ unit: 'grapheme' }),
          loneSurrogates,
        ),
        (input) => {
          const parsed = parseMany(input);
          assert.ok(parsed === null || typeof parsed.random === 'string');
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('property: never throws on inputs of exactly a key length, and accepts only canonical keys', () => {
    const parseMany = createKeyParser(['pcl', 'pcl_live']);
    const tail = fc.oneof(
      fc.string({ minLength: 49, maxLength: 49 }),
      fc.string({ unit: 'binary', minLength: 49, maxLength: 49 }),
      fc.string({ unit: fc.constantFrom(...BASE62_ALPHABET, '_', '-', 'é', '\u0000', '\ud800'), minLength: 49, maxLength: 49 }),
    );
    fc.assert(
      fc.property(fc.constantFrom('pcl', 'pcl_live', 'pcx', 'PCL'), fc.constantFrom('_', '-', ''), tail, (prefix, separator, rest) => {
        const input = prefix + separator + rest;
        const parsed = parseMany(input);
        if (parsed !== null) assert.equal(validKey(parsed.prefix, parsed.random), input);
      }),
      { numRuns: 2000 },
    );
  });

  test('never throws on very long strings', () => {
    const parseMany = createKeyParser(['pcl', 'pcl_live']);
    const key = generateKey('pcl');
    for (const input of ['a'.repeat(10_000_000), key.repeat(100_000), 'pcl_' + '\ud83d\ude00'.repeat(1_000_000)]) {
      assert.equal(parseMany(input), null);
    }
  });

  test('accepts duplicated prefixes', () => {
    const key = generateKey('pcl');
    assert.equal(createKeyParser(['pcl', 'pcl'])(key)?.prefix, 'pcl');
  });
});

describe('parseKey', () => {
  test('accepts only the default prefix by default', () => {
    const plain = generateKey('pcl');
    const live = generateKey('pcl_live');
    assert.equal(parseKey(plain)?.prefix, 'pcl');
    assert.equal(parseKey(live), null);
    assert.equal(parseKey(live, ['pcl_live'])?.prefix, 'pcl_live');
    assert.equal(parseKey(plain, ['pcl_live']), null);
  });

  test('returns null for non-strings and malformed strings', () => {
    for (const input of [undefined, null, 0, {}, '', 'pcl_', KNOWN_KEY.slice(1)]) assert.equal(parseKey(input), null);
  });

  test('throws on an invalid accepted prefix, not on input', () => {
    assert.throws(() => parseKey(KNOWN_KEY, ['']), prefixError(''));
  });
});

describe('displayPrefixOf', () => {
  test('is the prefix and the first 4 random characters', () => {
    assert.equal(displayPrefixOf(KNOWN_KEY), 'pcl_0000');
    const key = validKey('pcl_live', 'AbCd' + 'x'.repeat(39));
    assert.equal(displayPrefixOf(key), 'pcl_live_AbCd');
  });

  test('property: reveals at most 4 random characters, for any prefix', () => {
    fc.assert(
      fc.property(prefixArbitrary, (prefix) => {
        const key = generateKey(prefix);
        const parsed = parseKey(key, [prefix]);
        assert.ok(parsed);
        const shown = displayPrefixOf(key);
        assert.equal(shown, `${prefix}_${parsed.random.slice(0, 4)}`);
        assert.equal(shown.length - prefix.length - 1, 4);
      }),
    );
  });

  test('throws on a string that is not shaped like a key, without echoing it', () => {
    const secretLooking = 'sk_' + 'S'.repeat(60);
    for (const input of ['', 'pcl', 'pcl_AbCd', secretLooking, '_' + 'a'.repeat(49), 'PCL_' + 'a'.repeat(49), 'pcl_a_' + 'a'.repeat(47)]) {
      assert.throws(() => displayPrefixOf(input), { message: 'Not a key: expected <prefix>_<random><checksum>' }, JSON.stringify(input));
    }
  });
});

describe('generateKeyId and generateTokenId', () => {
  test('key ids are key_ and 20 base62 characters, and 1000 are distinct', () => {
    const ids = new Set<string>();
    for (let index = 0; index < 1000; index++) {
      const id = generateKeyId();
      assert.match(id, /^key_[0-9A-Za-z]{20}$/);
      ids.add(id);
    }
    assert.equal(ids.size, 1000);
  });

  test('token ids take another prefix', () => {
    assert.match(generateTokenId('adm'), /^adm_[0-9A-Za-z]{20}$/);
    assert.notEqual(generateTokenId('adm'), generateTokenId('adm'));
  });

  test('token ids refuse an invalid prefix', () => {
    for (const prefix of ['', 'ADM', '1adm', 'adm_x', 'adm-', 'a'.repeat(17)]) {
      assert.throws(() => generateTokenId(prefix), /Invalid id prefix/, prefix);
    }
  });

  test('id digits are uniform (no modulo bias)', () => {
    // With `byte % 62` the digits 0-7 would come up 25% more often than the rest.
    const counts = new Map<string, number>();
    const ids = 10_000;
    for (let index = 0; index < ids; index++) {
      for (const char of generateTokenId('t').slice(2)) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    const expected = (ids * 20) / 62;
    assert.equal(counts.size, 62);
    for (const [char, count] of counts) {
      assert.ok(Math.abs(count - expected) < expected * 0.12, `${char}: ${count} vs ${expected}`);
    }
  });
});
