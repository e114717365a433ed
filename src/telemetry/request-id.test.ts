import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RequestIds } from './request-id.ts';
import { REPEATED_HEADER } from '../http/raw-headers.ts';
import { createKeyParser, generateKey } from '../keys/key-format.ts';

const SAFE = /^[A-Za-z0-9._:-]{1,128}$/;

describe('RequestIds', () => {
  it('makes ids from a per-process prefix and a counter: unique, short, no randomness per request', () => {
    const ids = new RequestIds('node1');
    assert.deepEqual([ids.next(), ids.next(), ids.next()], ['node1-1', 'node1-2', 'node1-3']);
    const made = new Set(Array.from({ length: 10_000 }, () => ids.next()));
    assert.equal(made.size, 10_000);
    assert.ok(made.has('node1-10') && made.has('node1-10003'), 'the counter is decimal');
    assert.notEqual(new RequestIds().next(), new RequestIds().next(), 'two processes have different prefixes');
  });

  it('keeps a safe X-Request-Id, in any header casing', () => {
    const ids = new RequestIds('n');
    assert.equal(ids.forRequest(['Host', 'x', 'X-Request-Id', '3f2c9a1e-7b4d-4c1a-9e0f-1234567890ab']), '3f2c9a1e-7b4d-4c1a-9e0f-1234567890ab');
    assert.equal(ids.forRequest(['x-request-id', 'trace:abc.123_Z']), 'trace:abc.123_Z');
  });

  it('replaces a missing, unsafe, oversized or repeated one', () => {
    const ids = new RequestIds('n');
    assert.equal(ids.forRequest(['Host', 'x']), 'n-1');
    assert.equal(ids.forRequest(['X-Request-Id', 'has space']), 'n-2');
    assert.equal(ids.forRequest(['X-Request-Id', '']), 'n-3');
    assert.equal(ids.forRequest(['X-Request-Id', 'a'.repeat(129)]), 'n-4');
    assert.equal(ids.forRequest(['X-Request-Id', '"},{"level":60']), 'n-5');
    assert.equal(ids.forRequest(['X-Request-Id', 'one', 'x-request-id', 'two']), 'n-6');
  });

  it('takes the header as the request-header scanner found it', () => {
    const ids = new RequestIds('n');
    assert.equal(ids.fromHeader('abc-1'), 'abc-1');
    assert.equal(ids.fromHeader(null), 'n-1');
    assert.equal(ids.fromHeader(REPEATED_HEADER), 'n-2');
    assert.equal(ids.fromHeader('no spaces allowed'), 'n-3');
  });

  it('replaces one that looks like a key, so a key sent there by mistake is neither logged nor forwarded', () => {
    const isKey = createKeyParser(['pcl', 'pcladmin']);
    const ids = new RequestIds('n', (value) => isKey(value) !== null);
    assert.equal(ids.forRequest(['X-Request-Id', generateKey('pcl')]), 'n-1');
    assert.equal(ids.forRequest(['X-Request-Id', generateKey('pcladmin')]), 'n-2');
    assert.equal(ids.forRequest(['X-Request-Id', 'pcl_not-a-key']), 'pcl_not-a-key');
  });

  it('always answers an id that is safe to log and forward, whatever the client sends', () => {
    const ids = new RequestIds('n');
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('X-Request-Id', 'x-request-id', 'Other'), fc.string({ maxLength: 200 })), { maxLength: 4 }), (pairs) => {
      assert.match(ids.forRequest(pairs.flat()), SAFE);
    }));
  });
});
