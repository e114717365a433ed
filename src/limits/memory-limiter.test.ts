import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryLimiter } from './memory-limiter.ts';
import { compileRateText } from './rate-policy.ts';
import { runLimiterBackendSuite } from '../../test/support/limiter-backend-suite.ts';

runLimiterBackendSuite('MemoryLimiter', async () => ({ backend: new MemoryLimiter({ maxKeys: 1000, maxAddresses: 1000 }), cleanup: async () => {} }));

describe('MemoryLimiter', () => {
  it('answers synchronously (no promise on the hot path)', () => {
    const limiter = new MemoryLimiter({ maxKeys: 10, maxAddresses: 10 });
    const outcome = limiter.take('key', 'k', compileRateText('1/s'), null, Date.now());
    assert.ok(!(outcome instanceof Promise));
    assert.ok(!((limiter.recordFailure('a', { maxFailures: 2, windowMs: 1000, coolOffMs: 1000 }, Date.now()) as unknown) instanceof Promise));
  });
});
