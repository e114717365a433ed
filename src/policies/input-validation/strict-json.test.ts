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

  it('property: agrees with JSON.parse on every value without forbidden keys within the depth limit', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.boolean(), (value, indent) => {
        fc.pre(!hasForbiddenKey(value) && depthOf(value) <= DEPTH);
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
        fc.pre(key !== '__proto__' && key !== 'constructor' && !hasForbiddenKey(first) && !hasForbiddenKey(second));
        const inner = `{${JSON.stringify(key)}:${JSON.stringify(first)},${JSON.stringify(key)}:${JSON.stringify(second)}}`;
        const text = '[{"wrap":'.repeat(nesting) + inner + '}]'.repeat(nesting);
        assert.throws(() => parseStrictJson(text, DEPTH), /duplicate key/);
      }),
      { numRuns: 500 },
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
