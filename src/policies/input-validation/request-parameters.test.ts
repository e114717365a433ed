import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectHeaderParameters, collectQueryParameters, parseQuery, refuseConnectionNamedParameters } from './request-parameters.ts';
import { matchMediaType, parseContentType } from '../../http/media-type.ts';
import type { ParameterSpec } from '../../routes/operation-validation.ts';

function spec(name: string, overrides: Partial<ParameterSpec> = {}): ParameterSpec {
  return { name, key: name.toLowerCase(), required: false, array: false, delimiter: null, valueType: 'string', captureIndex: -1, ...overrides };
}

describe('query parameters', () => {
  it('decodes strictly, with + as a space, keeping every repetition', () => {
    const parsed = parseQuery('a=1&b=x+y%20z&a=2&flag&&c=');
    assert.ok(parsed instanceof Map);
    assert.deepEqual([...parsed], [['a', ['1', '2']], ['b', ['x y z']], ['flag', ['']], ['c', ['']]]);
    assert.ok(!(parseQuery('a=%ZZ') instanceof Map));
    assert.ok(!(parseQuery('a=%C3') instanceof Map));
  });

  it('converts values for their schema and refuses repeated scalars and undeclared names', () => {
    const specs = [spec('limit', { valueType: 'integer' }), spec('on', { valueType: 'boolean' }), spec('tag', { array: true }), spec('ids', { array: true, delimiter: ',', valueType: 'integer' })];
    const result: Record<string, unknown> = {};
    assert.equal(collectQueryParameters(specs, 'limit=10&on=true&tag=a&tag=b&ids=1,2,x', true, result), null);
    assert.deepEqual(result, { limit: 10, on: true, tag: ['a', 'b'], ids: [1, 2, 'x'] });
    assert.equal(collectQueryParameters(specs, 'limit=1&limit=2', true, {})?.errors?.[0]?.pointer, '/query/limit');
    assert.equal(collectQueryParameters(specs, 'limit=1&debug=1', true, {})?.errors?.[0]?.pointer, '/query/debug');
    assert.equal(collectQueryParameters(specs, 'limit=1&debug=1', false, {}), null);
    const looksLikeADenial: Record<string, unknown> = {};
    assert.equal(collectQueryParameters([spec('code'), spec('status', { valueType: 'integer' }), spec('detail')], 'code=request_invalid&status=400&detail=x', true, looksLikeADenial), null);
    assert.deepEqual(looksLikeADenial, { code: 'request_invalid', status: 400, detail: 'x' });
  });

  it('reads header parameters from every raw line: arrays joined, scalars refused when repeated', () => {
    const result: Record<string, unknown> = {};
    assert.equal(collectHeaderParameters([spec('X-Ids', { key: 'x-ids', array: true, delimiter: ',', valueType: 'integer' })], ['X-Ids', '1, 2', 'x-ids', '3'], result), null);
    assert.deepEqual(result, { 'X-Ids': [1, 2, 3] });
    assert.equal(collectHeaderParameters([spec('X-Id', { key: 'x-id' })], ['X-Id', 'a', 'x-id', 'b'], {})?.errors?.[0]?.pointer, '/headers/X-Id');
  });
});

describe('media types', () => {
  it('parses Content-Type: essence in lower case, charset unquoted, the first repeated parameter named; null when malformed', () => {
    const cases: Array<[value: string, parsed: { essence: string; charset: string | null; repeated: string | null } | null]> = [
      ['application/json', { essence: 'application/json', charset: null, repeated: null }],
      ['Application/JSON; Charset="UTF-8"', { essence: 'application/json', charset: 'utf-8', repeated: null }],
      ['application/json ; charset=utf-8 ', { essence: 'application/json', charset: 'utf-8', repeated: null }],
      ['application/json;charset=utf-8;', { essence: 'application/json', charset: 'utf-8', repeated: null }],
      ['application/json; ; charset=utf-8', { essence: 'application/json', charset: 'utf-8', repeated: null }],
      ['text/plain; x="a;charset=latin1"; charset=utf-8', { essence: 'text/plain', charset: 'utf-8', repeated: null }],
      ['text/plain; charset="ut\\f-8"', { essence: 'text/plain', charset: 'utf-8', repeated: null }],
      ['application/json; charset=utf-8; charset=latin1', { essence: 'application/json', charset: 'latin1', repeated: 'charset' }],
      ['application/json; Charset=utf-8; CHARSET=utf-8', { essence: 'application/json', charset: 'utf-8', repeated: 'charset' }],
      ['multipart/form-data; boundary=a; x=1; boundary=b', { essence: 'multipart/form-data', charset: null, repeated: 'boundary' }],
      ['not a type', null],
      ['application/json; charset', null],
      ['application/json; charset="utf-8', null],
      ['application/json; charset=utf 8', null],
      ['application/json; =utf-8', null],
    ];
    for (const [value, parsed] of cases) assert.deepEqual(parseContentType(value), parsed, value);
  });

  it('matches exact, then type/*, then */*', () => {
    assert.equal(matchMediaType('application/json', ['*/*', 'application/*', 'application/json']), 2);
    assert.equal(matchMediaType('application/xml', ['*/*', 'application/*', 'application/json']), 1);
    assert.equal(matchMediaType('text/plain', ['application/json']), -1);
  });
});

describe('header parameters named in Connection', () => {
  const specs = [spec('X-Tenant', { key: 'x-tenant' }), spec('X-Trace', { key: 'x-trace' })];
  const cases: Array<[named: string[] | null, pointer: string | null]> = [
    [null, null],
    [['x-other'], null],
    [['x-trace'], '/headers/X-Trace'],
    [['x-other', 'x-tenant'], '/headers/X-Tenant'],
  ];
  for (const [named, pointer] of cases) {
    it(`${pointer === null ? 'passes' : 'refuses'}: Connection naming ${JSON.stringify(named)}`, () => {
      const refused = refuseConnectionNamedParameters(specs, named === null ? null : new Set(named));
      assert.equal(refused?.errors?.[0]?.pointer ?? null, pointer);
    });
  }
});
