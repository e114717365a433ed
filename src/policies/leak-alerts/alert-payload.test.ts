import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAlertPayload } from './alert-payload.ts';

const parse = (text: string) => parseAlertPayload(Buffer.from(text));

describe('parseAlertPayload', () => {
  it('reads GitHub\'s alert body', () => {
    assert.deepEqual(parse('[{"token":"pcl_a","type":"portcullis_api_key","url":"https://github.com/o/r/blob/1/.env","source":"content"},{"token":"pcl_b","type":"t","url":"https://gist.github.com/x","source":"gist"}]'), [
      { token: 'pcl_a', type: 'portcullis_api_key', url: 'https://github.com/o/r/blob/1/.env', source: 'content' },
      { token: 'pcl_b', type: 't', url: 'https://gist.github.com/x', source: 'gist' },
    ]);
  });

  it('accepts an empty array, and entries without url or source (null)', () => {
    assert.deepEqual(parse('[]'), []);
    assert.deepEqual(parse('[{"token":"t","type":"x"},{"token":"u","type":"x","url":null,"source":null}]'), [
      { token: 't', type: 'x', url: null, source: null },
      { token: 'u', type: 'x', url: null, source: null },
    ]);
  });

  const refused: Array<[string, string, string]> = [
    ['not JSON', '[{"token":', 'The body is not JSON.'],
    ['an object', '{"token":"t","type":"x"}', 'The body must be a JSON array of {token, type, url, source}.'],
    ['a string entry', '["pcl_a"]', 'Entry 0 must be an object {token, type, url, source}.'],
    ['a null entry', '[{"token":"t","type":"x"},null]', 'Entry 1 must be an object {token, type, url, source}.'],
    ['no token', '[{"type":"x"}]', 'Entry 0: token must be a non-empty string.'],
    ['an empty token', '[{"token":"","type":"x"}]', 'Entry 0: token must be a non-empty string.'],
    ['a numeric token', '[{"token":5,"type":"x"}]', 'Entry 0: token must be a non-empty string.'],
    ['no type', '[{"token":"t"}]', 'Entry 0: type must be a string.'],
    ['a numeric url', '[{"token":"t","type":"x","url":1}]', 'Entry 0: url must be a string.'],
    ['an object source', '[{"token":"t","type":"x","source":{}}]', 'Entry 0: source must be a string.'],
  ];
  for (const [name, text, message] of refused) {
    it(`refuses ${name}, saying why`, () => assert.equal(parse(text), message));
  }

  it('never throws, and never puts a token in its message', () => {
    fc.assert(fc.property(fc.json(), fc.string(), (json, text) => {
      const result = parse(json);
      assert.ok(Array.isArray(result) || typeof result === 'string');
      const token = `pcl_${text}`;
      for (const entry of [{ token, type: 7 }, { token, type: 'x', url: 1 }, { token, type: 'x', source: [] }]) {
        const message = parse(JSON.stringify([entry]));
        assert.equal(typeof message, 'string');
        assert.ok(!(message as string).includes(token));
      }
    }));
  });
});
