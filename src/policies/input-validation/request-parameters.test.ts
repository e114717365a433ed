import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { collectHeaderParameters, collectQueryParameters, parseQuery } from './request-parameters.ts';
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
  it('parses Content-Type and matches exact, then type/*, then */*', () => {
    assert.deepEqual(parseContentType('Application/JSON; Charset="UTF-8"'), { essence: 'application/json', charset: 'utf-8' });
    assert.equal(parseContentType('not a type'), null);
    assert.equal(matchMediaType('application/json', ['*/*', 'application/*', 'application/json']), 2);
    assert.equal(matchMediaType('application/xml', ['*/*', 'application/*', 'application/json']), 1);
    assert.equal(matchMediaType('text/plain', ['application/json']), -1);
  });
});
