import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createProtectedHeaderTest, dashSpelling, isAliasingName } from './protected-headers.ts';

describe('header name aliases', () => {
  const names: Array<{ name: string; aliasing: boolean; dash: string }> = [
    { name: 'X-API-Key', aliasing: false, dash: 'x-api-key' },
    { name: 'X_API_Key', aliasing: true, dash: 'x-api-key' },
    { name: 'x.api.key', aliasing: true, dash: 'x-api-key' },
    { name: 'X-Forwarded_For', aliasing: true, dash: 'x-forwarded-for' },
    { name: 'Accept', aliasing: false, dash: 'accept' },
  ];
  for (const { name, aliasing, dash } of names) {
    it(`${name}: ${aliasing ? 'an alias' : 'no alias'}, read as ${dash}`, () => {
      assert.equal(isAliasingName(name), aliasing);
      assert.equal(dashSpelling(name), dash);
    });
  }
});

describe('createProtectedHeaderTest', () => {
  const endToEnd = createProtectedHeaderTest(['authorization', 'x-api-key', 'x-client-ip'], false);
  const withHopByHop = createProtectedHeaderTest(['X-Custom-Key'], true);
  const cases: Array<{ name: string; endToEnd: boolean; withHopByHop: boolean }> = [
    { name: 'content-length', endToEnd: true, withHopByHop: true },
    { name: 'content-type', endToEnd: true, withHopByHop: true },
    { name: 'content-encoding', endToEnd: true, withHopByHop: true },
    { name: 'transfer-encoding', endToEnd: true, withHopByHop: true },
    { name: 'host', endToEnd: true, withHopByHop: true },
    { name: 'expect', endToEnd: true, withHopByHop: true },
    { name: 'forwarded', endToEnd: true, withHopByHop: true },
    { name: 'x-forwarded-for', endToEnd: true, withHopByHop: true },
    { name: 'x-forwarded-prefix', endToEnd: true, withHopByHop: true },
    { name: 'x-real-ip', endToEnd: true, withHopByHop: true },
    { name: 'x-request-id', endToEnd: true, withHopByHop: true },
    { name: 'x-portcullis-key-id', endToEnd: true, withHopByHop: true },
    { name: 'x-http-method-override', endToEnd: true, withHopByHop: true },
    { name: 'x-http-method', endToEnd: true, withHopByHop: true },
    { name: 'x-method-override', endToEnd: true, withHopByHop: true },
    { name: 'authorization', endToEnd: true, withHopByHop: false },
    { name: 'x-api-key', endToEnd: true, withHopByHop: false },
    { name: 'x-client-ip', endToEnd: true, withHopByHop: false },
    { name: 'x-custom-key', endToEnd: false, withHopByHop: true },
    { name: 'te', endToEnd: false, withHopByHop: true },
    { name: 'upgrade', endToEnd: false, withHopByHop: true },
    { name: 'keep-alive', endToEnd: false, withHopByHop: true },
    { name: 'x-trace', endToEnd: false, withHopByHop: false },
    { name: 'accept', endToEnd: false, withHopByHop: false },
  ];
  for (const { name, endToEnd: expected, withHopByHop: expectedWithHop } of cases) {
    it(`${name}: ${expected ? 'protected' : 'not protected'} end to end, ${expectedWithHop ? 'protected' : 'not protected'} with hop-by-hop`, () => {
      assert.equal(endToEnd(name), expected);
      assert.equal(withHopByHop(name), expectedWithHop);
    });
  }
});
