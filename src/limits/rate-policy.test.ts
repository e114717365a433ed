import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  compileRateText, formatQuotaPolicy, formatRatePolicy, MAX_POLICY_COUNT, parseQuotaPolicy, parseRatePolicy, quotaPeriodAt,
} from './rate-policy.ts';
import { keyPolicyField, limitItem, ratePolicyItem, retryAfterSeconds, secondsFor } from './rate-limit-fields.ts';

const PERIODS = [1_000, 60_000, 3_600_000, 86_400_000];
const ratePolicy = fc.record({
  limit: fc.integer({ min: 1, max: MAX_POLICY_COUNT }),
  periodMs: fc.constantFrom(...PERIODS),
  burst: fc.integer({ min: 1, max: MAX_POLICY_COUNT }),
});

describe('parseRatePolicy', () => {
  it('reads counts per unit, with an optional burst', () => {
    assert.deepEqual(parseRatePolicy('100/s'), { limit: 100, periodMs: 1000, burst: 100 });
    assert.deepEqual(parseRatePolicy('6000/m'), { limit: 6000, periodMs: 60_000, burst: 6000 });
    assert.deepEqual(parseRatePolicy('500/h'), { limit: 500, periodMs: 3_600_000, burst: 500 });
    assert.deepEqual(parseRatePolicy('20000/d'), { limit: 20000, periodMs: 86_400_000, burst: 20000 });
    assert.deepEqual(parseRatePolicy('100/s burst 200'), { limit: 100, periodMs: 1000, burst: 200 });
    assert.deepEqual(parseRatePolicy('  10 / second  BURST  1 '), { limit: 10, periodMs: 1000, burst: 1 });
    assert.deepEqual(parseRatePolicy('60/minute'), { limit: 60, periodMs: 60_000, burst: 60 });
  });

  it('refuses malformed input', () => {
    for (const bad of ['', '100', '/s', '100/', '0/s', '100/y', '100/s burst 0', '100/s burst', '-1/s', '1.5/s', '100/s 200', '1e3/s', `${MAX_POLICY_COUNT + 1}/s`, '100/ms', null, 100, {}, 'x'.repeat(100)]) {
      assert.equal(parseRatePolicy(bad), null, String(bad));
    }
  });

  it('never throws', () => {
    fc.assert(fc.property(fc.anything(), (value) => {
      parseRatePolicy(value);
    }));
    fc.assert(fc.property(fc.string(), (value) => {
      parseRatePolicy(value);
    }));
  });

  it('round-trips through its canonical spelling', () => {
    fc.assert(fc.property(ratePolicy, (policy) => {
      assert.deepEqual(parseRatePolicy(formatRatePolicy(policy)), { ...policy });
    }));
  });

  it('formatting is idempotent', () => {
    fc.assert(fc.property(ratePolicy, (policy) => {
      const once = formatRatePolicy(policy);
      assert.equal(formatRatePolicy(parseRatePolicy(once)!), once);
    }));
    assert.equal(formatRatePolicy(parseRatePolicy('100/s burst 100')!), '100/s');
    assert.equal(formatRatePolicy(parseRatePolicy('60 / minute burst 5')!), '60/m burst 5');
  });

  it('compiles GCRA parameters', () => {
    const rate = compileRateText('100/s burst 200')!;
    assert.equal(rate.emissionMs, 10);
    assert.equal(rate.toleranceMs, 2000);
    assert.equal(rate.windowSeconds, 1);
    assert.equal(rate.text, '100/s burst 200');
  });
});

describe('parseQuotaPolicy', () => {
  it('reads per day and per month', () => {
    assert.deepEqual(parseQuotaPolicy('10000/day'), { limit: 10000, period: 'day' });
    assert.deepEqual(parseQuotaPolicy('300000/month'), { limit: 300000, period: 'month' });
    assert.deepEqual(parseQuotaPolicy('5/d'), { limit: 5, period: 'day' });
    assert.deepEqual(parseQuotaPolicy('5/mo'), { limit: 5, period: 'month' });
  });

  it('refuses anything else, including /m (minute or month?)', () => {
    for (const bad of ['10000', '10/m', '10/s', '0/day', '10/day burst 5', '10/year', null]) assert.equal(parseQuotaPolicy(bad), null, String(bad));
  });

  it('never throws, and round-trips', () => {
    fc.assert(fc.property(fc.anything(), (value) => {
      parseQuotaPolicy(value);
    }));
    fc.assert(fc.property(fc.record({ limit: fc.integer({ min: 1, max: MAX_POLICY_COUNT }), period: fc.constantFrom('day' as const, 'month' as const) }), (policy) => {
      assert.deepEqual(parseQuotaPolicy(formatQuotaPolicy(policy)), { ...policy });
    }));
  });
});

describe('quotaPeriodAt', () => {
  it('gives UTC calendar days and months', () => {
    const now = Date.UTC(2026, 1, 28, 23, 59, 59, 999);
    assert.deepEqual(quotaPeriodAt('day', now), { start: Date.UTC(2026, 1, 28), end: Date.UTC(2026, 2, 1) });
    assert.deepEqual(quotaPeriodAt('month', now), { start: Date.UTC(2026, 1, 1), end: Date.UTC(2026, 2, 1) });
    assert.deepEqual(quotaPeriodAt('month', Date.UTC(2026, 11, 31, 12)), { start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) });
  });

  it('contains the time it was asked for', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 4_102_444_800_000 }), fc.constantFrom('day' as const, 'month' as const), (now, period) => {
      const { start, end } = quotaPeriodAt(period, now);
      assert.ok(start <= now && now < end);
    }));
  });
});

describe('RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-11)', () => {
  it('writes policy items as structured-field list members', () => {
    assert.equal(ratePolicyItem('key', compileRateText('100/s')!), '"key";q=100;w=1');
    assert.equal(ratePolicyItem('address', compileRateText('10/s burst 100')!), '"address";q=10;w=1;portcullis-burst=100');
    assert.equal(ratePolicyItem('key', compileRateText('6000/m')!), '"key";q=6000;w=60');
    assert.equal(keyPolicyField(compileRateText('100/s')!, { limit: 10000, period: 'day', text: '10000/day' }), '"key";q=100;w=1, "quota";q=10000;w=86400');
    assert.equal(keyPolicyField(null, { limit: 5, period: 'month', text: '5/month' }), '"quota";q=5');
  });

  it('rounds windows up to whole seconds, and Retry-After to at least 1', () => {
    assert.equal(limitItem('key', 42, 1), '"key";r=42;t=1');
    assert.equal(limitItem('key', 0, 1000), '"key";r=0;t=1');
    assert.equal(limitItem('key', 0, 1000.5), '"key";r=0;t=2');
    assert.equal(secondsFor(0), 0);
    assert.equal(retryAfterSeconds(0.2), 1);
    assert.equal(retryAfterSeconds(12_000), 12);
  });
});
