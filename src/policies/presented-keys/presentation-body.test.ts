import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_URL_LENGTH, parsePresentedKey } from './presentation-body.ts';

const parse = (text: string) => parsePresentedKey(Buffer.from(text));

describe('parsePresentedKey', () => {
  it('reads the key and the URL where it was found', () => {
    assert.deepEqual(parse('{"key":"pcl_abc","url":"https://github.com/o/r/commit/1"}'), { key: 'pcl_abc', url: 'https://github.com/o/r/commit/1' });
    assert.deepEqual(parse('{"key":"pcl_abc"}'), { key: 'pcl_abc', url: null });
    assert.deepEqual(parse('{"key":"pcl_abc","url":null}'), { key: 'pcl_abc', url: null });
  });

  it('stores the URL as the WHATWG parser writes it (no raw control characters)', () => {
    assert.deepEqual(parse(JSON.stringify({ key: 'k', url: 'https://example.com/a b\u0001c' })), { key: 'k', url: 'https://example.com/a%20b%01c' });
  });

  const refused: Array<[string, string, string]> = [
    ['not JSON', '{"key":', 'The body is not JSON.'],
    ['an array', '["pcl_a"]', 'The body must be a JSON object {"key": "…", "url": "…"}.'],
    ['null', 'null', 'The body must be a JSON object {"key": "…", "url": "…"}.'],
    ['no key', '{"url":"https://a.example"}', 'key must be a non-empty string.'],
    ['an empty key', '{"key":""}', 'key must be a non-empty string.'],
    ['a numeric key', '{"key":5}', 'key must be a non-empty string.'],
    ['a huge key', JSON.stringify({ key: 'x'.repeat(513) }), 'key must be at most 512 characters.'],
    ['a numeric url', '{"key":"k","url":1}', 'url must be a string.'],
    ['a relative url', '{"key":"k","url":"/x"}', 'url must be an absolute http or https URL.'],
    ['a javascript: url', '{"key":"k","url":"javascript:alert(1)"}', 'url must be an absolute http or https URL.'],
    ['a huge url', JSON.stringify({ key: 'k', url: `https://a.example/${'a'.repeat(MAX_URL_LENGTH)}` }), `url must be at most ${MAX_URL_LENGTH} characters.`],
    ['a url that grows past the bound when encoded', JSON.stringify({ key: 'k', url: `https://a.example/${'é'.repeat(400)}` }), `url must be at most ${MAX_URL_LENGTH} characters.`],
  ];
  for (const [name, text, message] of refused) {
    it(`refuses ${name}, saying why`, () => assert.equal(parse(text), message));
  }

  it('never throws, and never puts the key in its message', () => {
    fc.assert(fc.property(fc.json(), fc.string({ minLength: 1, maxLength: 100 }), fc.anything(), (json, key, url) => {
      const result = parse(json);
      assert.ok(typeof result === 'string' || typeof result.key === 'string');
      const message = parse(JSON.stringify({ key: `pcl_${key}`, url }));
      if (typeof message === 'string') assert.ok(!message.includes(`pcl_${key}`));
    }));
  });
});
