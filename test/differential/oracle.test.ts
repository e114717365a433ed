/**
 * The differential suite's oracle on its own: exact number comparison, scope coverage, key
 * material found in header values and turned back into placeholders, the contract read from
 * api.yaml. A wrong oracle would make the differential tests pass or fail for nothing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareDecimals, objectProblems, parseDecimal } from './exact-schema.ts';
import { contractProblems, gatewayOperationOf, holdsScopes, loadContract } from './contract.ts';
import { symbolicText, type KeyName, type TestKey } from './request-variant.ts';
import { judgeExchange } from './differential-assertions.ts';
import type { UpstreamReport } from './upstreams/upstream-report.ts';

const contract = loadContract();

function decimal(text: string) {
  const parsed = parseDecimal(text);
  assert.ok(parsed, text);
  return parsed;
}

describe('the oracle: exact numbers', () => {
  it('compares the texts JavaScript, Python and JSON write, exactly', () => {
    const cases: Array<[string, string, number]> = [
      ['10000000000000000001', '10000000000000000000', 1],
      ['1e+19', '10000000000000000000', 0],
      ['1e19', '10000000000000000000.0', 0],
      ['9999999999999999999', '1e19', -1],
      ['10000000000000000000.4', '1e19', 1],
      ['-0', '0', 0],
      ['1.5', '1.50', 0],
      ['-2', '-1', -1],
      ['1e-5', '0.00001', 0],
    ];
    for (const [a, b, expected] of cases) assert.equal(compareDecimals(decimal(a), decimal(b)), expected, `${a} vs ${b}`);
    assert.equal(parseDecimal('inf'), null);
    assert.equal(parseDecimal('NaN'), null);
  });

  it('agrees with double comparison wherever doubles are exact', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 53), max: 2 ** 53 }), fc.integer({ min: -(2 ** 53), max: 2 ** 53 }), (a, b) => {
        assert.equal(compareDecimals(decimal(String(a)), decimal(String(b))), Math.sign(a - b) || 0);
      }),
    );
  });

  it('finds the exact value above a maximum that a double rounds to the maximum', () => {
    const schema = contract.byId.get('createItem')?.body?.schema;
    assert.ok(schema);
    assert.deepEqual(objectProblems({ name: { type: 'string', text: 'w' }, quantity: { type: 'integer', text: '5' }, serial: { type: 'integer', text: '10000000000000000000' } }, schema, 'body'), []);
    assert.deepEqual(objectProblems({ name: { type: 'string', text: 'w' }, quantity: { type: 'integer', text: '5' }, serial: { type: 'integer', text: '10000000000000000001' } }, schema, 'body'), [
      'body/serial 10000000000000000001 is above the maximum 10000000000000000000',
    ]);
    assert.deepEqual(objectProblems({ name: { type: 'string', text: 'éééééé' }, quantity: { type: 'integer', text: '100.0' } }, schema, 'body'), []);
    assert.deepEqual(objectProblems({ quantity: { type: 'number', text: '1.5' } }, schema, 'body'), ['body/name is required but missing', 'body/quantity 1.5 is not an integer']);
  });
});

describe('the oracle: api.yaml and scopes', () => {
  it('reads every operation with a distinct rate, and names the one in a RateLimit-Policy field', () => {
    assert.equal(contract.operations.length, 8);
    assert.equal(gatewayOperationOf(contract, ['"key";q=10;w=1', '"route";q=100003;w=1'])?.id, 'exportItems');
    assert.equal(gatewayOperationOf(contract, ['"key";q=10;w=1']), null);
  });

  it('covers scopes exactly, by prefix:* and by *', () => {
    assert.equal(holdsScopes(['items:*'], ['items:write']), true);
    assert.equal(holdsScopes(['items:*'], ['items']), false);
    assert.equal(holdsScopes(['items:*'], ['itemsx:write']), false);
    assert.equal(holdsScopes(['*'], ['admin']), true);
    assert.equal(holdsScopes([], []), true);
    assert.equal(holdsScopes(['items:export'], ['admin']), false);
  });

  it('holds the upstream to the declared query parameters, once each', () => {
    const getItem = contract.byId.get('getItem');
    assert.ok(getItem);
    const report = { pathParameters: { id: '7' }, query: { fields: 'name', admin: '1' }, lookups: {}, body: null } as unknown as UpstreamReport;
    assert.deepEqual(contractProblems(getItem, report), ['query parameter "admin" ("1") is not declared by getItem']);
    assert.deepEqual(contractProblems(getItem, { ...report, query: { fields: ['a', 'b'] } }), ['query parameter fields reached the upstream 2 times: ["a","b"]']);
  });
});

describe('the oracle: key material', () => {
  const key: TestKey = { name: 'plain', id: 'key_AAAAAAAAAAAAAAAAAAAA', key: 'pcl_0123456789abcdefghijABCDEFGHIJ0123456789abcdefghijABCDEF', scopes: [] };
  const keys = new Map<KeyName, TestKey>([['plain', key]]);
  const report: UpstreamReport = {
    upstream: 'test',
    route: null,
    method: 'GET',
    wireMethod: 'GET',
    target: '/nowhere',
    pathParameters: {},
    query: {},
    headers: {},
    lookups: { 'x-portcullis-key-id': key.id, 'x-portcullis-key-name': 'plain', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': '127.0.0.1:1', authorization: null, 'x-api-key': null },
    portcullisHeaders: ['x-portcullis-key-id', 'x-portcullis-key-name'],
    body: null,
  };
  const variant = { method: 'GET', target: '/nowhere', headers: [['X-API-Key', '{key:plain}']] as Array<[string, string]>, body: null };
  const judge = (lookups: Record<string, string | null>) => {
    const body = Buffer.from(JSON.stringify({ ...report, lookups: { ...report.lookups, ...lookups } }));
    return judgeExchange(contract, keys, variant, { status: 404, headers: [['x-differential-upstream', 'test']], body }, '127.0.0.1:1').problems;
  };

  it('passes what the gateway sends', () => {
    assert.deepEqual(judge({}), []);
  });

  it('finds a key however the Authorization value spells or encodes it, and never prints it', () => {
    for (const value of [`Bearer\t${key.key}`, `Basic ${Buffer.from(`${key.key}:`).toString('base64')}`, `Basic ${Buffer.from(key.key).toString('base64')}`, key.key]) {
      const problems = judge({ authorization: value });
      assert.equal(problems.length, 1, value);
      assert.ok(!problems[0]?.includes(key.key), problems[0]);
    }
    assert.deepEqual(judge({ authorization: 'Basic dXNlcjpwYXNz' }), []);
  });

  it('refuses identity and forwarding values that are not exactly the gateway\'s', () => {
    assert.equal(judge({ 'x-portcullis-key-id': `spoofed,${key.id}` }).length, 1);
    assert.equal(judge({ 'x-forwarded-for': '203.0.113.7,127.0.0.1' }).length, 1);
    assert.equal(judge({ 'x-forwarded-host': 'evil.example,127.0.0.1:1' }).length, 1);
  });

  it('writes key material back as placeholders', () => {
    assert.equal(symbolicText(`a ${key.key} b ${key.id} ${Buffer.from(`${key.key}:`).toString('base64')}`, keys), 'a {key:plain} b {id:plain} {basic:plain}');
  });
});
