import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, withHeadersRead } from '../../../test/support/fake-context.ts';
import type { KeyVerifier } from '../../verify/key-verifier.ts';
import { AMBIGUOUS_CREDENTIALS, type PresentedCredential } from '../request-context.ts';
import { KeyAuthCheck } from './key-auth-check.ts';

/** Key auth as configured by default; the reader never touches the verifier. */
function keyAuthReading(keyHeaders: string[]): KeyAuthCheck {
  return new KeyAuthCheck({ parseKey: () => null, verifier: {} as KeyVerifier, keyHeaders, queryParameter: null, onStoreError: () => {} });
}

const bearer = (key: string) => ['Authorization', `Bearer ${key}`];

describe('key-auth header reader', () => {
  const check = keyAuthReading(['authorization', 'x-api-key']);
  const cases: Array<{ name: string; headers: string[]; credential: PresentedCredential; upstream: string[] }> = [
    { name: 'Authorization in the Bearer scheme', headers: ['Authorization', 'Bearer pcl_one', 'Accept', '*/*'], credential: 'pcl_one', upstream: ['Accept', '*/*'] },
    { name: 'the scheme name in any case, extra spaces trimmed', headers: ['authorization', 'bEARER   pcl_one '], credential: 'pcl_one', upstream: [] },
    { name: 'another scheme, which reaches the API untouched', headers: ['Authorization', 'Basic dXNlcjpwYXNz'], credential: null, upstream: ['Authorization', 'Basic dXNlcjpwYXNz'] },
    { name: 'a scheme that only starts like Bearer', headers: ['Authorization', 'Bearerpcl_one'], credential: null, upstream: ['Authorization', 'Bearerpcl_one'] },
    { name: 'Bearer without a token: nothing presented, nothing forwarded', headers: ['Authorization', 'Bearer'], credential: null, upstream: [] },
    { name: 'X-API-Key, the bare key, trimmed', headers: ['X-API-Key', '  pcl_one '], credential: 'pcl_one', upstream: [] },
    { name: 'an empty X-API-Key: nothing presented', headers: ['X-API-Key', ''], credential: null, upstream: [] },
    { name: 'the same key in both headers', headers: [...bearer('pcl_one'), 'X-API-Key', 'pcl_one'], credential: 'pcl_one', upstream: [] },
    { name: 'two different keys in two headers', headers: [...bearer('pcl_one'), 'X-API-Key', 'pcl_two'], credential: AMBIGUOUS_CREDENTIALS, upstream: [] },
    { name: 'two Authorization lines with different keys (req.headers would show only the first)', headers: [...bearer('pcl_one'), ...bearer('pcl_two')], credential: AMBIGUOUS_CREDENTIALS, upstream: [] },
    { name: 'a Basic line next to a Bearer line', headers: ['Authorization', 'Basic eA==', ...bearer('pcl_one')], credential: 'pcl_one', upstream: ['Authorization', 'Basic eA=='] },
    { name: 'a header it does not read', headers: ['X-Token', 'pcl_one'], credential: null, upstream: ['X-Token', 'pcl_one'] },
  ];
  for (const { name, headers, credential, upstream } of cases) {
    it(name, () => {
      const context = withHeadersRead(fakeContext({ headers }), check.requestHeaders);
      assert.equal(context.credential, credential);
      assert.deepEqual(context.upstreamHeaders, upstream, 'a line that carried a key never reaches the upstream');
    });
  }

  it('reads only the configured headers, any other carrying the bare key', () => {
    const custom = keyAuthReading(['x-custom-key']);
    assert.deepEqual(custom.requestHeaders.names, ['x-custom-key']);
    const context = withHeadersRead(fakeContext({ headers: ['X-Custom-Key', 'pcl_one', ...bearer('pcl_two')] }), custom.requestHeaders);
    assert.equal(context.credential, 'pcl_one');
    assert.deepEqual(context.upstreamHeaders, bearer('pcl_two'));
  });
});
