import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequestHeaderScanner } from '../../engine/request-header-scanner.ts';
import type { RequestHeaderReader, ScannedRequestHeaders } from '../request-context.ts';
import { dpopHeaderReader } from './dpop-header-reader.ts';

function scanned(): ScannedRequestHeaders {
  return { upstreamHeaders: [], hasBody: false, contentLength: undefined, chunked: false, host: undefined, credential: null, requestIdHeader: null, connectionNamed: null, underscoreHeaders: null, methodOverrideHeaders: null, dpop: null };
}

/** Key auth's part, reduced: a Bearer value presents a key and is kept from the upstream. */
const bearerReader: RequestHeaderReader = {
  names: ['authorization'],
  readHeader(into, _name, value) {
    if (!value.startsWith('Bearer ')) return false;
    into.credential = value.slice(7);
    return true;
  },
};

describe('dpopHeaderReader, in the engine\'s header pass beside the key reader', () => {
  const scan = createRequestHeaderScanner([dpopHeaderReader, bearerReader]);

  it('reads a DPoP token (any case of the scheme) and every DPoP line, and keeps them from the upstream', () => {
    const into = scanned();
    scan(['Authorization', 'dpop  eyJ.a.b ', 'DPoP', 'proof-1', 'dpop', 'proof-2', 'Accept', '*/*'], into);
    assert.deepEqual(into.dpop, { tokens: ['eyJ.a.b'], proofs: ['proof-1', 'proof-2'] });
    assert.equal(into.credential, null);
    assert.deepEqual(into.upstreamHeaders, ['Accept', '*/*']);
  });

  it('leaves a Bearer key to the key reader, and an Authorization line in another scheme to the upstream', () => {
    const into = scanned();
    scan(['Authorization', 'Bearer pcl_key', 'Authorization', 'Basic dTpw'], into);
    assert.equal(into.dpop, null);
    assert.equal(into.credential, 'pcl_key');
    assert.deepEqual(into.upstreamHeaders, ['Authorization', 'Basic dTpw']);
  });

  it('gives each of two readers of one name every line, whichever order they are declared in', () => {
    const into = scanned();
    createRequestHeaderScanner([bearerReader, dpopHeaderReader])(['Authorization', 'Bearer pcl_key', 'Authorization', 'DPoP t'], into);
    assert.equal(into.credential, 'pcl_key');
    assert.deepEqual(into.dpop, { tokens: ['t'], proofs: [] });
    assert.deepEqual(into.upstreamHeaders, []);
  });
});
