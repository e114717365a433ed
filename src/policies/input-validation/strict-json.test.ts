import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseStrictJson, parseStrictJsonBody, StrictJsonError } from './strict-json.ts';

const DEPTH = 32;

/** Nesting depth of a JSON value, counting objects and arrays. */
function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + children.reduce<number>((deepest, child) => Math.max(deepest, depthOf(child)), 0);
}

function hasForbiddenKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(hasForbiddenKey);
  return Object.keys(value).some((key) => key === '__proto__' || key === 'constructor') || Object.values(value).some(hasForbiddenKey);
}

/** Two keys of one object that differ only in ASCII case, anywhere in the value. */
function hasCaseCollision(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some(hasCaseCollision);
  const keys = Object.keys(value);
  const folded = new Set(keys.map((key) => key.toUpperCase().toLowerCase()));
  return folded.size !== keys.length || Object.values(value).some(hasCaseCollision);
}

/** Every number, as JSON.stringify writes it, is one I-JSON lets through (an integer literal only within ±(2^53−1)). */
function numbersInteroperable(value: unknown): boolean {
  if (typeof value === 'number') return !/^-?[0-9]+$/.test(JSON.stringify(value)) || Number.isSafeInteger(value);
  if (value === null || typeof value !== 'object') return true;
  return (Array.isArray(value) ? value : Object.values(value)).every(numbersInteroperable);
}

/** Significant digits of a number literal, the long way: mantissa digits, zeros at either end dropped. */
function digitsOf(literal: string): number {
  const mantissa = literal.replace(/^-/, '').split(/[eE]/)[0] as string;
  return mantissa.replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
}

/** Nests `inner` at `path` (keys: objects; indexes: arrays with that many zeros before it). */
function nestedAt(path: ReadonlyArray<string | number>, inner: string): string {
  return path.reduceRight<string>((text, token) => (typeof token === 'number' ? `[${'0,'.repeat(token)}${text}]` : `{${JSON.stringify(token)}:${text}}`), inner);
}

function refuses(text: string, pattern: RegExp): void {
  assert.throws(() => parseStrictJson(text, DEPTH), (error: unknown) => error instanceof StrictJsonError && pattern.test(error.message), text);
}

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses, for ordinary documents', () => {
    for (const text of ['{}', '[]', '0', '-0.5e-3', '"a\\u00e9\\n\\"\\/"', ' {"a": [1, 2, {"b": null}], "c": true, "d": false} ', '"\\ud83d\\ude00"', '{"toString": 1, "hasOwnProperty": 2}']) {
      assert.deepEqual(parseStrictJson(text, DEPTH), JSON.parse(text), text);
    }
  });

  it('refuses duplicate keys, at any depth and however they are spelled', () => {
    refuses('{"qty": 1, "qty": -1}', /duplicate key "qty"/);
    refuses('{"a": {"b": 1, "b": 2}}', /duplicate key "b"/);
    refuses('[{"x": 1}, {"y": 1, "y": 2}]', /duplicate key/);
    refuses('{"qty": 1, "q\\u0074y": 2}', /duplicate key "qty"/);
  });

  it('refuses __proto__ and constructor keys (prototype pollution), escaped or not', () => {
    refuses('{"__proto__": {"admin": true}}', /forbidden key "__proto__"/);
    refuses('{"a": {"constructor": {"prototype": {"admin": true}}}}', /forbidden key "constructor"/);
    refuses('{"\\u005f_proto__": {}}', /forbidden key "__proto__"/);
    assert.equal(({} as Record<string, unknown>)['admin'], undefined);
  });

  it('refuses nesting deeper than the limit, and accepts it up to the limit', () => {
    assert.doesNotThrow(() => parseStrictJson('['.repeat(DEPTH) + ']'.repeat(DEPTH), DEPTH));
    refuses('['.repeat(DEPTH + 1) + ']'.repeat(DEPTH + 1), /nesting deeper than 32/);
    refuses('{"a":'.repeat(DEPTH + 1) + '1' + '}'.repeat(DEPTH + 1), /nesting deeper/);
    // Deep input far beyond any stack is refused at the limit, not by a stack overflow.
    refuses('['.repeat(200_000), /nesting deeper/);
  });

  it('refuses lone surrogates, out-of-range numbers and everything JSON.parse refuses', () => {
    refuses('"\\ud800"', /lone surrogate/);
    refuses('"\\udc00x"', /lone surrogate/);
    refuses('"\\ud800\\u0041"', /lone surrogate/);
    refuses('1e400', /out of range/);
    for (const text of ['', ' ', '{', '{"a"}', '{"a":1,}', '[1,]', '01', '1.', '.5', '+1', 'NaN', "'a'", '"a', '"\t"', '{"a":1}x', 'tru', '"\\x"', '"\\u12"', '[1 2]']) {
      assert.throws(() => parseStrictJson(text, DEPTH), StrictJsonError, JSON.stringify(text));
    }
  });

  it('keeps error messages short, without echoing long input', () => {
    const longKey = 'k'.repeat(10_000);
    try {
      parseStrictJson(`{"${longKey}": 1, "${longKey}": 2}`, DEPTH);
      assert.fail('should have refused');
    } catch (error) {
      assert.ok(error instanceof StrictJsonError);
      assert.ok(error.message.length < 120, error.message);
    }
  });

  it('refuses keys that differ only in case, in every object, naming the second', () => {
    const cases: Array<[text: string, path: Array<string | number>]> = [
      ['{"role":"user","Role":"admin"}', ['Role']],
      ['{"a":[{"x":1},{"ROLE":1,"Role":2}]}', ['a', 1, 'Role']],
      ['{"Id":1,"b":2,"ID":3}', ['ID']],
      ['{"\u212Aey":1,"key":2}', ['key']],
      ['{"\u017Fort":1,"Sort":2}', ['Sort']],
      ['{"caf\u00e9":1,"CAF\u00c9":2}', ['CAF\u00c9']],
    ];
    for (const [text, path] of cases) {
      assert.throws(() => parseStrictJson(text, DEPTH), (error: unknown) => error instanceof StrictJsonError && /differ only in case/.test(error.message) && JSON.stringify(error.path) === JSON.stringify(path), text);
    }
    for (const text of ['{"a":1,"b":{"A":2}}', '{"\u00df":1,"ss":2}', '{"a_b":1,"a-b":2}', '[{"x":1},{"X":2}]']) assert.deepEqual(parseStrictJson(text, DEPTH), JSON.parse(text), text);
  });

  it('refuses numbers a double cannot hold exactly (I-JSON, RFC 7493 §2.2), and accepts every double JSON.stringify writes', () => {
    const cases: Array<[literal: string, refused: RegExp | null]> = [
      ['9007199254740991', null],
      ['-9007199254740991', null],
      ['9007199254740992', /integer "9007199254740992" is beyond/],
      ['-9007199254740993', /beyond/],
      ['123456789012345678901234567890', /beyond/],
      ['100.00000000000000001', /more than 17 significant digits/],
      ['1.23456789012345678e5', /more than 17 significant digits/],
      ['0.000000000000000000001234', null],
      ['1.2345678901234567', null],
      ['0.30000000000000004', null],
      ['100.000000000000000000', null],
      ['1e21', null],
      ['9007199254740993.0', null],
      ['1.7976931348623157e308', null],
    ];
    for (const [literal, refused] of cases) {
      if (refused === null) assert.equal(parseStrictJson(literal, DEPTH), JSON.parse(literal), literal);
      else refuses(literal, refused);
    }
  });

  it('says where a body went wrong: the path of keys and indexes to the member', () => {
    const cases: Array<[text: string, path: Array<string | number>]> = [
      ['{"a":{"b":[1,2,{"c":x}]}}', ['a', 'b', 2, 'c']],
      ['{"a":1,"a":2}', ['a']],
      ['[0,[0,0,{"__proto__":1}]]', [1, 2, '__proto__']],
      ['{"a":1} x', []],
      ['{"a":[1,', ['a', 1]],
    ];
    for (const [text, path] of cases) {
      assert.throws(() => parseStrictJson(text, DEPTH), (error: unknown) => error instanceof StrictJsonError && JSON.stringify(error.path) === JSON.stringify(path), text);
    }
  });

  it('property: agrees with JSON.parse on every value without forbidden keys, case-alike keys or inexact numbers, within the depth limit', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, indent) => {
        fc.pre(!hasForbiddenKey(value) && !hasCaseCollision(value) && numbersInteroperable(value) && depthOf(value) <= DEPTH);
        const text = JSON.stringify(value, null, indent ? 2 : undefined);
        assert.deepEqual(parseStrictJson(text, DEPTH), JSON.parse(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: on any text, either refuses with StrictJsonError or returns what JSON.parse returns', () => {
    const jsonish = fc.oneof(
      fc.string(),
      fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '1', '-', 'e', '.', ' ', '\\', 'u', 'd', '8', '0', 'a', 'n', 't', 'r', 'true', 'null') }),
      fc.jsonValue().map((value) => JSON.stringify(value)).chain((text) => fc.nat({ max: text.length }).map((cut) => text.slice(0, cut) + text.slice(cut + 1))),
    );
    fc.assert(
      fc.property(jsonish, (text) => {
        let expected: unknown;
        let jsonParseFailed = false;
        try {
          expected = JSON.parse(text);
        } catch {
          jsonParseFailed = true;
        }
        try {
          const result = parseStrictJson(text, DEPTH);
          assert.ok(!jsonParseFailed, `accepted what JSON.parse refuses: ${JSON.stringify(text)}`);
          assert.deepEqual(result, expected);
        } catch (error) {
          if (!(error instanceof StrictJsonError)) throw error;
        }
      }),
      { numRuns: 5000 },
    );
  });

  it('property: a duplicated key anywhere is refused', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }), fc.nat({ max: 4 }), (key, first, second, nesting) => {
        fc.pre(key !== '__proto__' && key !== 'constructor' && [first, second].every((value) => !hasForbiddenKey(value) && !hasCaseCollision(value) && numbersInteroperable(value)));
        const inner = `{${JSON.stringify(key)}:${JSON.stringify(first)},${JSON.stringify(key)}:${JSON.stringify(second)}}`;
        const text = '[{"wrap":'.repeat(nesting) + inner + '}]'.repeat(nesting);
        assert.throws(() => parseStrictJson(text, DEPTH), /duplicate key/);
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseStrictJson: the I-JSON properties', () => {
  it('property: a double as JSON.stringify writes it is read back exactly, unless it is written as an integer beyond ±(2^53−1)', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (value) => {
        const text = JSON.stringify(value);
        if (/^-?[0-9]+$/.test(text) && !Number.isSafeInteger(value)) refuses(text, /is beyond/);
        else assert.equal(parseStrictJson(text, DEPTH), JSON.parse(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('property: an integer literal is accepted exactly when it is within ±(2^53−1)', () => {
    const limit = BigInt(Number.MAX_SAFE_INTEGER);
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: -limit - 10n, max: limit + 10n }), fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n })), (integer) => {
        const text = integer.toString();
        if (integer <= limit && integer >= -limit) assert.equal(parseStrictJson(text, DEPTH), JSON.parse(text));
        else refuses(text, /is beyond/);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a decimal literal is accepted exactly when it has at most 17 significant digits, and then reads as JSON.parse reads it', () => {
    const literal = fc
      .tuple(fc.boolean(), fc.stringMatching(/^(0|[1-9][0-9]{0,24})$/), fc.stringMatching(/^[0-9]{1,24}$/), fc.option(fc.integer({ min: -30, max: 30 })))
      .map(([negative, whole, fraction, exponent]) => `${negative ? '-' : ''}${whole}.${fraction}${exponent === null ? '' : `e${exponent}`}`);
    fc.assert(
      fc.property(literal, (text) => {
        if (digitsOf(text) > 17) refuses(text, /more than 17 significant digits/);
        else assert.equal(parseStrictJson(text, DEPTH), JSON.parse(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('property: an object is refused exactly when two of its keys differ only in case, and otherwise reads as JSON.parse reads it', () => {
    const asciiKey = fc.string({ unit: fc.constantFrom('a', 'A', 'b', 'B', '-', '_', '1'), maxLength: 3 });
    fc.assert(
      fc.property(fc.uniqueArray(asciiKey, { maxLength: 6 }), fc.nat({ max: 3 }), (keys, nesting) => {
        const inner = `{${keys.map((key, index) => `${JSON.stringify(key)}:${index}`).join(',')}}`;
        const text = '{"wrap":['.repeat(nesting) + inner + ']}'.repeat(nesting);
        const collides = new Set(keys.map((key) => key.toLowerCase())).size !== keys.length;
        if (collides) refuses(text, /differ only in case/);
        else assert.deepEqual(parseStrictJson(text, DEPTH), JSON.parse(text));
      }),
      { numRuns: 2000 },
    );
  });

  it('property: a refusal deep inside a value names the path to it', () => {
    const token = fc.oneof(fc.string({ maxLength: 6 }).filter((key) => key !== '__proto__' && key !== 'constructor'), fc.nat({ max: 3 }));
    fc.assert(
      fc.property(fc.array(token, { maxLength: 8 }), fc.constantFrom('100.00000000000000001', '12345678901234567890', '{"a":1,"A":2}', '{"x":1,"x":2}', 'nul'), (path, bad) => {
        const expected: Array<string | number> = bad.startsWith('{') ? [...path, bad.includes('"A"') ? 'A' : 'x'] : path;
        assert.throws(() => parseStrictJson(nestedAt(path, bad), DEPTH), (error: unknown) => error instanceof StrictJsonError && JSON.stringify(error.path) === JSON.stringify(expected));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('parseStrictJsonBody', () => {
  it('refuses invalid UTF-8 and a byte order mark', () => {
    assert.throws(() => parseStrictJsonBody(Buffer.from([0x22, 0xc3, 0x28, 0x22]), DEPTH), /not valid UTF-8/);
    assert.throws(() => parseStrictJsonBody(Buffer.from('\ufeff{}'), DEPTH), /byte order mark/);
    assert.deepEqual(parseStrictJsonBody(Buffer.from('{"name":"café"}'), DEPTH), { name: 'café' });
  });
});
