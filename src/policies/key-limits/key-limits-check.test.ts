import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeKey, fakeParts, recordingLogger } from '../../../test/support/fake-context.ts';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import { MemoryLimiter } from '../../limits/memory-limiter.ts';
import { QuotaLedger } from '../../limits/quota-ledger.ts';
import { compileQuotaText, compileRateText, type CompiledRate } from '../../limits/rate-policy.ts';
import type { Operation } from '../../routes/operation.ts';
import type { KeyStore, QuotaUsage } from '../../store/key-store.ts';
import type { CachedKey } from '../../verify/key-verifier.ts';
import { KeyLimitsCheck } from './key-limits-check.ts';
import { keyLimits } from './index.ts';
import type { ReportOnlySettings } from '../report-only.ts';

/** The settings of a pipeline with nothing in report mode. */
const ENFORCING: ReportOnlySettings = { reportOnly: { policies: new Set(), header: false } };

const NOW = Date.parse('2026-12-01T12:00:00Z');
const UNTIL_TOMORROW = 43_200; // seconds from NOW to the next UTC day
const UNTIL_NEXT_MONTH = 2_635_200; // seconds from NOW to 2027-01-01T00:00:00Z
const DAY_START = Date.parse('2026-12-01T00:00:00Z');

/** A key store that only knows quota counters (what the ledger reads), or fails to. */
function quotaStore(stored: QuotaUsage | null | Error = null): KeyStore {
  return {
    getQuotaUsage: async () => {
      if (stored instanceof Error) throw stored;
      return stored;
    },
    addQuotaUsage: async () => [],
  } as unknown as KeyStore;
}

function operation(template: string, rate: string | null): Operation {
  return { method: 'GET', template, source: `test ${template}`, scopes: null, maxBodySize: null, rate: rate === null ? null : compileRateText(rate), validation: null };
}

function setUp(options: { defaultRate?: string; defaultQuota?: string; stored?: QuotaUsage | Error; reportRates?: boolean; reportQuotas?: boolean } = {}) {
  const backend = new MemoryLimiter({ maxKeys: 16, maxAddresses: 16 });
  const invalidPolicies: string[] = [];
  const storeErrors: unknown[] = [];
  const check = new KeyLimitsCheck({
    backend,
    ledger: new QuotaLedger(quotaStore(options.stored ?? null), { maxEntries: 16, onError: (error) => assert.fail(String(error)) }),
    defaultRate: options.defaultRate === undefined ? null : compileRateText(options.defaultRate),
    defaultQuota: options.defaultQuota === undefined ? null : compileQuotaText(options.defaultQuota),
    reportRates: options.reportRates ?? false,
    reportQuotas: options.reportQuotas ?? false,
    onInvalidPolicy: (keyId) => invalidPolicies.push(keyId),
    onStoreError: (error) => storeErrors.push(error),
  });
  /** One request of `key` at `at` (on `operation`); its verdict and the RateLimit fields it carries. */
  const run = async (key: CachedKey | null, at = NOW, on: Operation | null = null) => {
    const context = fakeContext({}, { key, now: at, operation: on });
    const outcome = (await check.run(context)) as Denial | null;
    return { outcome, fields: context.responseHeaders };
  };
  /** The same, and whether the verdict is a would-deny (report mode). */
  const report = async (key: CachedKey | null, at = NOW, on: Operation | null = null) => {
    const context = fakeContext({}, { key, now: at, operation: on });
    const outcome = (await check.run(context)) as Denial | null;
    return { outcome, fields: context.responseHeaders, reported: outcome !== null && check.reports?.(outcome, context) === true };
  };
  return { check, run, report, backend, invalidPolicies, storeErrors };
}

const fields = (policy: string, limit: string) => ['RateLimit-Policy', policy, 'RateLimit', limit];

describe('key-limits check: the key\'s rate', () => {
  it('passes a request without a key, and a key without limits when there are no defaults, adding nothing', async () => {
    const { run } = setUp();
    assert.deepEqual(await run(null), { outcome: null, fields: null });
    assert.deepEqual(await run(fakeKey()), { outcome: null, fields: null });
  });

  it('admits within the rate with RateLimit fields, then refuses with Retry-After', async () => {
    const { run } = setUp();
    const key = fakeKey({ rateLimit: '2/m' });
    assert.deepEqual(await run(key), { outcome: null, fields: fields('"key";q=2;w=60', '"key";r=1;t=30') });
    assert.deepEqual(await run(key), { outcome: null, fields: fields('"key";q=2;w=60', '"key";r=0;t=60') });

    const { outcome, fields: refused } = await run(key);
    assert.equal(outcome?.code, 'rate_limited');
    assert.equal(outcome?.status, 429);
    assert.deepEqual(outcome?.headers, [['retry-after', '30']]);
    assert.equal(outcome?.detail, 'The API key\'s rate limit is exceeded. Retry after the number of seconds in Retry-After.');
    assert.deepEqual(refused, fields('"key";q=2;w=60', '"key";r=0;t=30'), 'a refusal names the refusing policy, t equal to Retry-After');

    assert.equal((await run(key, NOW + 29_000)).outcome?.code, 'rate_limited');
    assert.deepEqual(await run(key, NOW + 30_000), { outcome: null, fields: fields('"key";q=2;w=60', '"key";r=0;t=60') });
    assert.deepEqual((await run(fakeKey({ id: 'key_other', rateLimit: '2/m' }))).fields, fields('"key";q=2;w=60', '"key";r=1;t=30'), 'every key has its own budget');
  });

  it('names a burst that differs from the limit', async () => {
    const { run } = setUp();
    assert.deepEqual((await run(fakeKey({ rateLimit: '2/m burst 5' }))).fields, fields('"key";q=2;w=60;portcullis-burst=5', '"key";r=4;t=30'));
  });

  it('applies limits.keyRate to keys without a rate of their own, and a key\'s own rate over it', async () => {
    const { run } = setUp({ defaultRate: '2/m' });
    assert.deepEqual((await run(fakeKey({ id: 'key_default' }))).fields, fields('"key";q=2;w=60', '"key";r=1;t=30'));
    assert.deepEqual((await run(fakeKey({ id: 'key_own', rateLimit: '5/s' }))).fields, fields('"key";q=5;w=1', '"key";r=4;t=1'));
  });
});

describe('key-limits check: the key\'s quota', () => {
  it('counts admitted requests in the UTC day and refuses the one over it until the next day', async () => {
    const { run } = setUp();
    const key = fakeKey({ quota: '2/day' });
    assert.deepEqual(await run(key), { outcome: null, fields: fields('"quota";q=2;w=86400', `"quota";r=1;t=${UNTIL_TOMORROW}`) });
    assert.deepEqual(await run(key), { outcome: null, fields: fields('"quota";q=2;w=86400', `"quota";r=0;t=${UNTIL_TOMORROW}`) });

    const { outcome, fields: refused } = await run(key);
    assert.equal(outcome?.code, 'quota_exceeded');
    assert.equal(outcome?.status, 429);
    assert.deepEqual(outcome?.headers, [['retry-after', String(UNTIL_TOMORROW)]]);
    assert.deepEqual(refused, fields('"quota";q=2;w=86400', `"quota";r=0;t=${UNTIL_TOMORROW}`));
    assert.deepEqual((await run(key, NOW + UNTIL_TOMORROW * 1000)).outcome, null, 'a new day, a new quota');
  });

  it('starts from the count the store holds for this period, and ignores an older period\'s', async () => {
    const usedUp = setUp({ stored: { keyId: 'key_test', periodStart: DAY_START, used: 2 } });
    assert.equal((await usedUp.run(fakeKey({ quota: '2/day' }))).outcome?.code, 'quota_exceeded');
    const yesterday = setUp({ stored: { keyId: 'key_test', periodStart: DAY_START - 86_400_000, used: 2 } });
    assert.deepEqual((await yesterday.run(fakeKey({ quota: '2/day' }))).fields, fields('"quota";q=2;w=86400', `"quota";r=1;t=${UNTIL_TOMORROW}`));
  });

  it('gives a monthly quota no window, and t until the next month', async () => {
    const { run } = setUp({ defaultQuota: '100/month' });
    assert.deepEqual((await run(fakeKey())).fields, fields('"quota";q=100', `"quota";r=99;t=${UNTIL_NEXT_MONTH}`));
  });

  it('answers 503 when the quota count cannot be read, and reports it', async () => {
    const failure = new Error('store down');
    const { run, storeErrors } = setUp({ stored: failure });
    const { outcome, fields: none } = await run(fakeKey({ quota: '2/day' }));
    assert.equal(outcome?.code, 'store_unavailable');
    assert.deepEqual(outcome?.headers, [['retry-after', '5']]);
    assert.deepEqual(storeErrors, [failure]);
    assert.equal(none, null);
  });
});

describe('key-limits check: rate and quota together', () => {
  it('names both policies in one field each', async () => {
    const { run } = setUp();
    assert.deepEqual((await run(fakeKey({ rateLimit: '10/s', quota: '3/day' }))).fields, fields('"key";q=10;w=1, "quota";q=3;w=86400', `"key";r=9;t=1, "quota";r=2;t=${UNTIL_TOMORROW}`));
  });

  it('charges no quota for a request the rate refuses', async () => {
    const { run } = setUp();
    const key = fakeKey({ rateLimit: '1/m', quota: '5/day' });
    await run(key);
    const refused = await run(key);
    assert.equal(refused.outcome?.code, 'rate_limited');
    assert.deepEqual(refused.fields, fields('"key";q=1;w=60, "quota";q=5;w=86400', '"key";r=0;t=60'));
    assert.deepEqual((await run(key, NOW + 60_000)).fields, fields('"key";q=1;w=60, "quota";q=5;w=86400', `"key";r=0;t=60, "quota";r=3;t=${UNTIL_TOMORROW - 60}`));
  });

  it('charges no rate for a request the quota refuses', async () => {
    const { run, backend } = setUp();
    const key = fakeKey({ rateLimit: '10/s', quota: '1/day' });
    await run(key);
    const refused = await run(key);
    assert.equal(refused.outcome?.code, 'quota_exceeded');
    assert.deepEqual(refused.fields, fields('"key";q=10;w=1, "quota";q=1;w=86400', `"quota";r=0;t=${UNTIL_TOMORROW}`));
    assert.equal(backend.take('key', key.record.id, compileRateText('10/s') as CompiledRate, null, NOW).remaining, 8, 'one request charged to the rate, not two');
  });

  it('refuses with 500 a key whose stored policy does not parse, reporting it once per record', async () => {
    const { run, invalidPolicies } = setUp({ defaultRate: '100/s' });
    const key = fakeKey({ id: 'key_odd', rateLimit: 'fast' });
    for (let index = 0; index < 2; index++) {
      const { outcome, fields: none } = await run(key);
      assert.equal(outcome?.code, 'internal_error');
      assert.equal(outcome?.status, 500);
      assert.equal(none, null);
    }
    assert.equal((await run(fakeKey({ id: 'key_odder', quota: '5/fortnight' }))).outcome?.code, 'internal_error');
    assert.deepEqual(invalidPolicies, ['key_odd', 'key_odder']);
  });
});

describe('key-limits check: a route\'s rate per key', () => {
  const search = operation('/search', '1/m');
  const orders = operation('/orders', null);

  it('is charged first, on field lines of its own ahead of the key\'s', async () => {
    const { run } = setUp();
    const { outcome, fields: both } = await run(fakeKey({ rateLimit: '10/s' }), NOW, search);
    assert.equal(outcome, null);
    assert.deepEqual(both, [...fields('"route";q=1;w=60', '"route";r=0;t=60'), ...fields('"key";q=10;w=1', '"key";r=9;t=1')]);
  });

  it('refuses over the route\'s rate, costing the key\'s own rate nothing', async () => {
    const { run } = setUp();
    const key = fakeKey({ rateLimit: '10/s' });
    await run(key, NOW, search);
    const { outcome, fields: routeOnly } = await run(key, NOW, search);
    assert.equal(outcome?.code, 'rate_limited');
    assert.deepEqual(outcome?.headers, [['retry-after', '60']]);
    assert.equal(outcome?.detail, 'The API key\'s rate limit on this route is exceeded. Retry after the number of seconds in Retry-After.');
    assert.deepEqual(routeOnly, fields('"route";q=1;w=60', '"route";r=0;t=60'));
    assert.deepEqual((await run(key, NOW, orders)).fields, fields('"key";q=10;w=1', '"key";r=8;t=1'), 'the key was charged once, for the admitted request');
  });

  it('limits each key on its own, and keys without limits of their own too', async () => {
    const { run } = setUp();
    assert.equal((await run(fakeKey({ id: 'key_a' }), NOW, search)).outcome, null);
    assert.equal((await run(fakeKey({ id: 'key_b' }), NOW, search)).outcome, null, 'another key has its own route budget');
    const refused = await run(fakeKey({ id: 'key_a' }), NOW, search);
    assert.equal(refused.outcome?.code, 'rate_limited');
    assert.deepEqual(refused.fields, fields('"route";q=1;w=60', '"route";r=0;t=60'));
  });

  it('keeps the budgets of two routes apart', async () => {
    const { run } = setUp();
    const key = fakeKey();
    assert.equal((await run(key, NOW, search)).outcome, null);
    assert.equal((await run(key, NOW, operation('/export', '1/m'))).outcome, null);
  });
});

describe('key-limits policy', () => {
  const config = (keyRate: string | null, keyQuota: string | null) => ({ ...ENFORCING, limits: { keyRate: compileRateText(keyRate), keyQuota: compileQuotaText(keyQuota) } });

  it('is always on, with the configured defaults, on the process\'s limiter and ledger', async () => {
    const check = keyLimits.create(config('2/m', '10/day'), fakeParts({ limiter: new MemoryLimiter({ maxKeys: 4, maxAddresses: 4 }), quotas: new QuotaLedger(quotaStore(), { maxEntries: 4, onError: () => {} }) }));
    assert.equal(keyLimits.stage, 8);
    const context = fakeContext({}, { key: fakeKey() });
    assert.equal(await check?.run(context), null);
    assert.deepEqual(context.responseHeaders, fields('"key";q=2;w=60, "quota";q=10;w=86400', `"key";r=1;t=30, "quota";r=9;t=${UNTIL_TOMORROW}`));
  });

  it('logs a key with an invalid policy once, whatever records it comes in', async () => {
    const { logger, lines } = recordingLogger();
    const check = keyLimits.create(config(null, null), fakeParts({ logger, limiter: new MemoryLimiter({ maxKeys: 4, maxAddresses: 4 }) }));
    for (const key of [fakeKey({ id: 'key_odd', rateLimit: 'fast' }), fakeKey({ id: 'key_odd', rateLimit: 'faster' })]) {
      assert.equal(((await check?.run(fakeContext({}, { key }))) as Denial | null)?.code, 'internal_error');
    }
    assert.deepEqual(lines.map(({ level, object }) => [level, object]), [['error', { keyId: 'key_odd' }]]);
  });
});

describe('key-limits check in report mode', () => {
  const search = operation('/search', '1/m');

  it('enforces as before when neither part reports', () => {
    assert.equal(setUp().check.reports, undefined);
  });

  it('reports requests over the key\'s rate, with the fields enforcing would send, and charges each to the quota', async () => {
    const { report: run } = setUp({ reportRates: true });
    const key = fakeKey({ rateLimit: '1/m', quota: '3/day' });
    assert.equal((await run(key)).outcome, null);
    const over = await run(key);
    assert.equal(over.outcome?.code, 'rate_limited');
    assert.equal(over.reported, true);
    assert.deepEqual(over.fields, fields('"key";q=1;w=60, "quota";q=3;w=86400', '"key";r=0;t=60'));
    // The third request over the rate uses up the quota, which enforces: refused.
    assert.equal((await run(key)).reported, true);
    const overQuota = await run(key);
    assert.equal(overQuota.outcome?.code, 'quota_exceeded');
    assert.equal(overQuota.reported, false);
  });

  it('reports a request over its quota, when quotas report, charging nothing', async () => {
    const { report: run } = setUp({ reportQuotas: true });
    const key = fakeKey({ quota: '1/day' });
    assert.equal((await run(key)).outcome, null);
    for (let index = 0; index < 3; index++) {
      const over = await run(key);
      assert.equal(over.outcome?.code, 'quota_exceeded');
      assert.equal(over.reported, true);
    }
  });

  it('keeps a reported rate first when the quota reports too', async () => {
    const { report: run } = setUp({ reportRates: true, reportQuotas: true });
    const key = fakeKey({ rateLimit: '1/m', quota: '1/day' });
    await run(key);
    const over = await run(key);
    assert.equal(over.outcome?.code, 'rate_limited');
    assert.equal(over.reported, true);
  });

  it('reports a request over the route\'s rate, and still charges the key\'s own limits', async () => {
    const { report: run } = setUp({ reportRates: true });
    const key = fakeKey({ rateLimit: '10/s' });
    await run(key, NOW, search);
    const over = await run(key, NOW, search);
    assert.equal(over.outcome?.code, 'rate_limited');
    assert.equal(over.reported, true);
    assert.deepEqual(over.fields, [...fields('"route";q=1;w=60', '"route";r=0;t=60'), ...fields('"key";q=10;w=1', '"key";r=8;t=1')]);
  });

  it('never reports what is not a limit: an unparsable stored policy still refuses', async () => {
    const { report: run } = setUp({ reportRates: true, reportQuotas: true });
    const refused = await run(fakeKey({ rateLimit: 'fast' }));
    assert.equal(refused.outcome?.code, 'internal_error');
    assert.equal(refused.reported, false);
  });

  it('is made by the policy from reportOnly.policies', () => {
    const made = keyLimits.create({ reportOnly: { policies: new Set(['quotas'] as const), header: false }, limits: { keyRate: null, keyQuota: null } }, fakeParts({ limiter: new MemoryLimiter({ maxKeys: 4, maxAddresses: 4 }), quotas: new QuotaLedger(quotaStore(), { maxEntries: 4, onError: () => {} }) }));
    assert.equal(made?.reports?.(denial('quota_exceeded', 'over'), fakeContext()), true);
    assert.equal(made?.reports?.(denial('rate_limited', 'over'), fakeContext()), false);
  });
});
