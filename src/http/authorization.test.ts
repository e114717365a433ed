import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { basicCredentials, isBearer, lenientBearerToken } from './authorization.ts';

describe('lenientBearerToken', () => {
  const cases: Array<{ value: string; expected: string | undefined }> = [
    { value: 'Bearer abc', expected: 'abc' },
    { value: 'bearer abc', expected: 'abc' },
    { value: 'BEARER abc', expected: 'abc' },
    { value: 'Bearer\tabc', expected: 'abc' },
    { value: 'Bearer   abc  ', expected: 'abc' },
    { value: '  Bearer abc', expected: 'abc' },
    { value: 'Bearer:abc', expected: 'abc' },
    { value: 'Bearer: abc', expected: 'abc' },
    { value: 'Bearer=abc', expected: 'abc' },
    { value: 'Bearerabc', expected: 'abc' },
    { value: 'Bearer\u00a0abc', expected: 'abc' },
    { value: 'Bearer a b', expected: 'a b' },
    { value: 'Bearer', expected: '' },
    { value: 'Bearer   ', expected: '' },
    { value: 'Basic abc', expected: undefined },
    { value: 'Beare abc', expected: undefined },
    { value: 'abc', expected: undefined },
    { value: '', expected: undefined },
  ];
  for (const { value, expected } of cases) {
    it(`${JSON.stringify(value)} → ${JSON.stringify(expected)}`, () => assert.equal(lenientBearerToken(value), expected));
  }

  it('reads every strict Bearer value as the strict reading does, and never throws', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const token = lenientBearerToken(value);
        if (isBearer(value) && value.slice(7).trim() !== '' && !/^[\s:=]/.test(value.slice(7))) assert.equal(token, value.slice(7).trim());
        if (token !== undefined) assert.equal(token, token.trim());
      }),
    );
  });
});

describe('basicCredentials', () => {
  const encode = (text: string) => Buffer.from(text, 'latin1').toString('base64');
  const cases: Array<{ value: string; expected: string | undefined }> = [
    { value: `Basic ${encode('user:pass')}`, expected: 'user:pass' },
    { value: `basic ${encode('user:pass')}`, expected: 'user:pass' },
    { value: `BASIC\t${encode('u:p')}`, expected: 'u:p' },
    { value: `Basic ${Buffer.from('u:p?>').toString('base64url')}`, expected: 'u:p?>' },
    { value: `Basic ${encode('caf\u00e9:x')}`, expected: 'caf\u00e9:x' },
    { value: 'Basic', expected: undefined },
    { value: `Basicx${encode('u:p')}`, expected: undefined },
    { value: 'Bearer abc', expected: undefined },
  ];
  for (const { value, expected } of cases) {
    it(`${JSON.stringify(value)} → ${JSON.stringify(expected)}`, () => assert.equal(basicCredentials(value), expected));
  }

  it('decodes what Basic encodes, and never throws', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        basicCredentials(value);
        basicCredentials(`Basic ${value}`);
        const latin1 = [...value].map((character) => String.fromCharCode(character.charCodeAt(0) & 0xff)).join('');
        assert.equal(basicCredentials(`Basic ${encode(latin1)}`), latin1);
      }),
    );
  });
});
