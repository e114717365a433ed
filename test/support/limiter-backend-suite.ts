/**
 * The behaviour every LimiterBackend must have, as one suite that runs unchanged against the
 * memory limiter and the Redis limiter. Time is passed in, so nothing here sleeps.
 *
 * @example
 * runLimiterBackendSuite('MemoryLimiter', async () => ({ backend: new MemoryLimiter(sizes), cleanup: async () => {} }));
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { LimiterBackend, LimitOutcome, LockoutPolicy, QuotaTake } from '../../src/limits/limiter-backend.ts';
import { compileRateText, type CompiledRate } from '../../src/limits/rate-policy.ts';

export type MakeLimiterBackend = () => Promise<{ backend: LimiterBackend; cleanup: () => Promise<void> }>;

function rate(text: string): CompiledRate {
  const compiled = compileRateText(text);
  if (compiled === null) throw new Error(`bad rate ${text}`);
  return compiled;
}

const lockout: LockoutPolicy = { maxFailures: 5, windowMs: 60_000, coolOffMs: 300_000 };

export function runLimiterBackendSuite(label: string, makeBackend: MakeLimiterBackend): void {
  describe(`LimiterBackend: ${label}`, () => {
    let backend: LimiterBackend;
    let cleanup: () => Promise<void>;
    // Fresh ids per test, so a shared Redis never carries state from one test to the next.
    let id: string;
    // A time base with a fractional part, as Date.now() never has but timers arithmetic may.
    let t0: number;

    beforeEach(async () => {
      ({ backend, cleanup } = await makeBackend());
      id = `id-${randomBytes(6).toString('hex')}`;
      t0 = Date.now();
    });
    afterEach(async () => {
      await cleanup();
    });

    describe('rate (GCRA)', () => {
      it('admits the burst at once, then refuses, counting remaining down to 0', async () => {
        const policy = rate('10/s burst 5');
        const remaining: number[] = [];
        for (let i = 0; i < 5; i++) {
          const outcome = await backend.take('key', id, policy, null, t0);
          assert.equal(outcome.refusedBy, null, `request ${i + 1}`);
          remaining.push(outcome.remaining);
        }
        assert.deepEqual(remaining, [4, 3, 2, 1, 0]);
        const refused = await backend.take('key', id, policy, null, t0);
        assert.equal(refused.refusedBy, 'rate');
        assert.equal(refused.remaining, 0);
        // One request's worth (100 ms) must pass before the next is admitted.
        assert.ok(Math.abs(refused.retryAfterMs - 100) <= 1, `retryAfterMs ${refused.retryAfterMs}`);
      });

      it('reports the time until the full burst is back', async () => {
        const policy = rate('10/s burst 5');
        const first = await backend.take('key', id, policy, null, t0);
        assert.ok(Math.abs(first.resetMs - 100) <= 1, `resetMs ${first.resetMs}`);
        await backend.take('key', id, policy, null, t0);
        const third = await backend.take('key', id, policy, null, t0);
        assert.ok(Math.abs(third.resetMs - 300) <= 1, `resetMs ${third.resetMs}`);
      });

      it('admits exactly burst + elapsed × rate to a client that keeps asking', async () => {
        const policy = rate('100/s burst 10');
        let admitted = 0;
        // 2 seconds of requests every 2.5 ms: 10 at once, then one per 10 ms.
        for (let step = 0; step < 800; step++) {
          const outcome = await backend.take('key', id, policy, null, t0 + step * 2.5);
          if (outcome.refusedBy === null) admitted++;
        }
        assert.ok(admitted >= 10 + 199 && admitted <= 10 + 200, `admitted ${admitted}`);
      });

      it('lets a refused request wait exactly its retry time', async () => {
        const policy = rate('2/s burst 1');
        assert.equal((await backend.take('key', id, policy, null, t0)).refusedBy, null);
        const refused = await backend.take('key', id, policy, null, t0 + 100);
        assert.equal(refused.refusedBy, 'rate');
        assert.equal((await backend.take('key', id, policy, null, t0 + 100 + refused.retryAfterMs - 2)).refusedBy, 'rate');
        assert.equal((await backend.take('key', id, policy, null, t0 + 100 + refused.retryAfterMs + 1)).refusedBy, null);
      });

      it('refills after a quiet spell, but never beyond the burst', async () => {
        const policy = rate('10/s burst 3');
        for (let i = 0; i < 3; i++) await backend.take('key', id, policy, null, t0);
        const later = await backend.take('key', id, policy, null, t0 + 60_000);
        assert.equal(later.refusedBy, null);
        assert.equal(later.remaining, 2);
      });

      it('keeps keys, routes, addresses and ids apart', async () => {
        const policy = rate('1/m burst 1');
        assert.equal((await backend.take('key', id, policy, null, t0)).refusedBy, null);
        assert.equal((await backend.take('key', id, policy, null, t0)).refusedBy, 'rate');
        assert.equal((await backend.take('route', id, policy, null, t0)).refusedBy, null);
        assert.equal((await backend.take('route', id, policy, null, t0)).refusedBy, 'rate');
        assert.equal((await backend.take('address', id, policy, null, t0)).refusedBy, null);
        assert.equal((await backend.take('key', `${id}-other`, policy, null, t0)).refusedBy, null);
      });
    });

    describe('quota', () => {
      function quota(used: number, limit = 3): QuotaTake {
        return { limit, used, periodStart: t0 - 1000, periodEnd: t0 + 3_600_000 };
      }

      it('admits while used + 1 <= limit, counting this request, then refuses until the period ends', async () => {
        // The caller passes back what it was told, as the quota ledger does.
        let used = 0;
        for (let i = 1; i <= 3; i++) {
          const outcome = await backend.take('key', id, null, quota(used), t0);
          assert.deepEqual([outcome.refusedBy, outcome.quotaUsed], [null, i]);
          used = outcome.quotaUsed;
        }
        const refused: LimitOutcome = await backend.take('key', id, null, quota(used), t0);
        assert.equal(refused.refusedBy, 'quota');
        assert.equal(refused.retryAfterMs, 3_600_000);
        assert.equal(refused.quotaUsed, 3);
      });

      it('starts from what the caller knows was used (the store\'s count)', async () => {
        const outcome = await backend.take('key', id, null, quota(2), t0);
        assert.deepEqual([outcome.refusedBy, outcome.quotaUsed], [null, 3]);
        assert.equal((await backend.take('key', id, null, quota(3), t0)).refusedBy, 'quota');
      });

      it('charges neither limit when one refuses', async () => {
        const policy = rate('1/m burst 2');
        // Quota used up: the rate is not charged.
        assert.equal((await backend.take('key', id, policy, quota(3), t0)).refusedBy, 'quota');
        assert.equal((await backend.take('key', `${id}-b`, policy, quota(0), t0)).refusedBy, null);
        const other = await backend.take('key', id, policy, quota(0, 10), t0);
        assert.deepEqual([other.refusedBy, other.remaining], [null, 1]);
        const second = await backend.take('key', id, policy, quota(1, 10), t0);
        assert.deepEqual([second.refusedBy, second.quotaUsed], [null, 2]);
        // Rate used up: the quota is not charged.
        const refused = await backend.take('key', id, policy, quota(2, 10), t0);
        assert.equal(refused.refusedBy, 'rate');
        assert.equal(refused.quotaUsed, 2);
        assert.equal((await backend.take('key', `${id}-c`, null, quota(2, 10), t0)).quotaUsed, 3);
      });

      it('reports the rate as it stands when the quota refuses', async () => {
        const policy = rate('10/s burst 5');
        await backend.take('key', id, policy, quota(0, 1), t0);
        const refused = await backend.take('key', id, policy, quota(1, 1), t0);
        assert.equal(refused.refusedBy, 'quota');
        assert.equal(refused.remaining, 4);
        assert.ok(Math.abs(refused.resetMs - 100) <= 1, `resetMs ${refused.resetMs}`);
      });
    });

    describe('lockout', () => {
      it('locks an address at the maxFailures-th failure, for coolOffMs', async () => {
        for (let i = 1; i < lockout.maxFailures; i++) assert.equal(await backend.recordFailure(id, lockout, t0 + i), 0, `failure ${i}`);
        assert.equal(await backend.recordFailure(id, lockout, t0 + 10), lockout.coolOffMs);
        // While locked, a failure reports the time left and does not extend the lock.
        const left = await backend.recordFailure(id, lockout, t0 + 10 + 1000);
        assert.ok(Math.abs(left - (lockout.coolOffMs - 1000)) <= 1, `left ${left}`);
      });

      it('counts afresh after the cool-off', async () => {
        for (let i = 0; i < lockout.maxFailures; i++) await backend.recordFailure(id, lockout, t0);
        const after = t0 + lockout.coolOffMs + 1;
        for (let i = 1; i < lockout.maxFailures; i++) assert.equal(await backend.recordFailure(id, lockout, after), 0);
        assert.equal(await backend.recordFailure(id, lockout, after), lockout.coolOffMs);
      });

      it('forgets failures older than the window', async () => {
        for (let i = 1; i < lockout.maxFailures; i++) await backend.recordFailure(id, lockout, t0);
        assert.equal(await backend.recordFailure(id, lockout, t0 + lockout.windowMs), 0);
      });

      it('keeps addresses apart', async () => {
        for (let i = 0; i < lockout.maxFailures; i++) await backend.recordFailure(id, lockout, t0);
        assert.equal(await backend.recordFailure(`${id}-other`, lockout, t0), 0);
      });
    });
  });
}
