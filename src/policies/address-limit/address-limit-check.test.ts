import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fakeContext, fakeKey, fakeParts } from '../../../test/support/fake-context.ts';
import { denial, type Denial } from '../../http/error-catalogue.ts';
import type { LimiterBackend } from '../../limits/limiter-backend.ts';
import { MemoryLimiter } from '../../limits/memory-limiter.ts';
import { compileRateText, type CompiledRate } from '../../limits/rate-policy.ts';
import { RefusedAddresses } from '../../limits/refused-addresses.ts';
import type { RequestContext } from '../request-context.ts';
import { AddressLimit } from './address-limit-check.ts';
import { addressLimit } from './index.ts';

const CLIENT = '198.51.100.7';
const NEIGHBOUR = '198.51.100.8';
const START = Date.parse('2026-12-01T12:00:00Z');
const SECOND = 1000;

// One request every 20 s, two at once: a budget small enough to spend in a test.
const ADDRESS_RATE = compileRateText('3/m burst 2') as CompiledRate;
const ADDRESS_POLICY = '"address";q=3;w=60;portcullis-burst=2';
const LOCKOUT = { maxFailures: 3, windowMs: 60 * SECOND, coolOffMs: 300 * SECOND };

const KEY_INVALID = denial('key_invalid');
const KEY_MISSING = denial('key_missing');
const KEY_REVOKED = denial('key_revoked');

function setUp(options: { addressRate?: CompiledRate | null; lockout?: typeof LOCKOUT | null; backend?: LimiterBackend } = {}) {
  const check = new AddressLimit({
    backend: options.backend ?? new MemoryLimiter({ maxKeys: 16, maxAddresses: 16 }),
    refused: new RefusedAddresses(16),
    addressRate: options.addressRate === undefined ? ADDRESS_RATE : options.addressRate,
    lockout: options.lockout === undefined ? LOCKOUT : options.lockout,
  });
  /** A request from `address` at `at`, as the pipeline makes it. */
  const request = (at = START, address = CLIENT, overrides: Partial<RequestContext> = {}) => fakeContext({ address }, { now: at, ...overrides });
  /** Stage 4 on a new request. */
  const run = (at = START, address = CLIENT) => {
    const context = request(at, address);
    return { outcome: check.run(context), context };
  };
  /** A request denied by some stage, told to the check as the responder does; its response headers. */
  const deny = async (refusal: Denial, at = START, address = CLIENT, overrides: Partial<RequestContext> = {}) => {
    const context = request(at, address, overrides);
    await check.onDenial(context, refusal);
    return context.responseHeaders;
  };
  return { check, run, deny };
}

describe('address-limit check: brute-force lockout', () => {
  it('passes every address while nobody is refused', () => {
    const { run } = setUp();
    assert.equal(run().outcome, null);
  });

  it('locks an address out at its Nth invalid key, with Retry-After for the cool-off, and only that address', async () => {
    const { run, deny } = setUp({ addressRate: null });
    await deny(KEY_INVALID, START);
    await deny(KEY_INVALID, START + 1 * SECOND);
    assert.equal(run(START + 2 * SECOND).outcome, null, 'two invalid keys of three: not yet');
    await deny(KEY_INVALID, START + 2 * SECOND);

    const { outcome } = run(START + 2 * SECOND);
    assert.equal(outcome?.code, 'locked_out');
    assert.equal(outcome?.status, 429);
    assert.deepEqual(outcome?.headers, [['retry-after', '300']]);
    assert.equal(outcome?.detail, 'Too many invalid API keys were sent from this address. It is refused until the number of seconds in Retry-After has passed.');
    assert.deepEqual(run(START + 62 * SECOND).outcome?.headers, [['retry-after', '240']], 'Retry-After counts down');
    assert.equal(run(START + 2 * SECOND, NEIGHBOUR).outcome, null);
    assert.equal(run(START + 302 * SECOND).outcome, null, 'free again after the cool-off');
  });

  it('counts only invalid keys: missing, revoked and other refusals are not guesses', async () => {
    const { run, deny } = setUp({ addressRate: null });
    for (const refusal of [KEY_MISSING, KEY_REVOKED, denial('key_expired'), denial('ip_not_allowed'), KEY_MISSING, KEY_REVOKED]) await deny(refusal);
    assert.equal(run().outcome, null);
  });

  it('counts invalid keys within the window from the first one', async () => {
    const { run, deny } = setUp({ addressRate: null });
    await deny(KEY_INVALID, START);
    await deny(KEY_INVALID, START + 30 * SECOND);
    await deny(KEY_INVALID, START + 61 * SECOND); // a new window opens here
    assert.equal(run(START + 61 * SECOND).outcome, null);
    await deny(KEY_INVALID, START + 62 * SECOND);
    await deny(KEY_INVALID, START + 63 * SECOND);
    assert.equal(run(START + 63 * SECOND).outcome?.code, 'locked_out');
  });

  it('puts no RateLimit fields on a lockout without an address rate', async () => {
    const { deny } = setUp({ addressRate: null });
    assert.equal(await deny(KEY_INVALID), null);
  });
});

describe('address-limit check: the address rate of denied requests', () => {
  it('charges every denial to the address and tells the client its budget', async () => {
    const { run, deny } = setUp({ lockout: null });
    assert.deepEqual(await deny(KEY_MISSING), ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=1;t=20']);
    assert.deepEqual(await deny(denial('method_not_allowed', 'x')), ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=0;t=40']);
    assert.equal(run().outcome, null, 'within the burst: not refused yet');
    // The third at once is over the budget: refused itself, and the address throttled.
    assert.deepEqual(await deny(KEY_INVALID), ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=0;t=20']);

    const { outcome, context } = run();
    assert.equal(outcome?.code, 'rate_limited');
    assert.equal(outcome?.status, 429);
    assert.deepEqual(outcome?.headers, [['retry-after', '20']]);
    assert.equal(outcome?.detail, 'Too many denied or unauthenticated requests came from this address. Retry after the number of seconds in Retry-After.');
    assert.deepEqual(context.responseHeaders, ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=0;t=20']);

    const later = run(START + 5 * SECOND);
    assert.deepEqual(later.outcome?.headers, [['retry-after', '15']]);
    assert.deepEqual(later.context.responseHeaders, ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=0;t=15']);
    assert.equal(run(START, NEIGHBOUR).outcome, null, 'a neighbour has its own budget');
    assert.equal(run(START + 20 * SECOND).outcome, null, 'served again once Retry-After has passed');
  });

  it('adds its fields after those a check already set on the response', async () => {
    const { deny } = setUp({ lockout: null });
    const fields = await deny(denial('scope_missing', 'x'), START, CLIENT, { key: fakeKey(), responseHeaders: ['RateLimit-Policy', '"key";q=10;w=1', 'RateLimit', '"key";r=9;t=1'] });
    assert.deepEqual(fields, ['RateLimit-Policy', '"key";q=10;w=1', 'RateLimit', '"key";r=9;t=1', 'RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=1;t=20']);
  });

  it('does not charge an authenticated key\'s own 429s (rate or quota), however many', async () => {
    const { run, deny } = setUp({ lockout: null });
    const key = fakeKey();
    for (let index = 0; index < 5; index++) {
      assert.equal(await deny(denial('rate_limited', 'x'), START, CLIENT, { key }), null);
      assert.equal(await deny(denial('quota_exceeded', 'x'), START, CLIENT, { key }), null);
    }
    assert.equal(run().outcome, null);
    // The budget is untouched: the next denial finds it full.
    assert.deepEqual(await deny(KEY_MISSING), ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=1;t=20']);
  });

  it('charges an authenticated key\'s other refusals, and a 429 of a request without a key', async () => {
    const { deny } = setUp({ lockout: null });
    assert.deepEqual(await deny(denial('scope_missing', 'x'), START, CLIENT, { key: fakeKey() }), ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=1;t=20']);
    assert.deepEqual(await deny(denial('rate_limited', 'x'), START, CLIENT, { key: null }), ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=0;t=40']);
  });

  it('does not charge the requests it refuses itself', async () => {
    const { check, run, deny } = setUp({ lockout: null });
    for (let index = 0; index < 3; index++) await deny(KEY_MISSING);
    const { outcome, context } = run(START + 10 * SECOND);
    assert.equal(outcome?.code, 'rate_limited');
    await check.onDenial(context, outcome as Denial);
    assert.deepEqual(context.responseHeaders, ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=0;t=10'], 'no second charge, no second field');
  });
});

describe('address-limit check: both limits', () => {
  it('charges a guess to the rate and to the lockout, and a lockout outranks throttling', async () => {
    const { run, deny } = setUp();
    assert.deepEqual(await deny(KEY_INVALID), ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=1;t=20']);
    await deny(KEY_INVALID);
    assert.deepEqual(await deny(KEY_INVALID), ['RateLimit-Policy', ADDRESS_POLICY, 'RateLimit', '"address";r=0;t=20']);
    const { outcome, context } = run();
    assert.equal(outcome?.code, 'locked_out');
    assert.deepEqual(outcome?.headers, [['retry-after', '300']]);
    assert.equal(context.responseHeaders, null, 'a lockout names no rate policy');
    assert.equal(run(START + 300 * SECOND).outcome, null);
  });

  it('applies a backend\'s answers that come later (Redis) just the same', async () => {
    const memory = new MemoryLimiter({ maxKeys: 16, maxAddresses: 16 });
    const later: LimiterBackend = {
      take: (...args) => Promise.resolve(memory.take(...args)),
      recordFailure: (...args) => Promise.resolve(memory.recordFailure(...args)),
      close: async () => {},
    };
    const { check, run } = setUp({ backend: later });
    const contexts = [0, 1, 2].map(() => fakeContext({ address: CLIENT }, { now: START }));
    const pending = contexts.map((context) => check.onDenial(context, KEY_INVALID));
    assert.ok(pending.every((outcome) => outcome instanceof Promise), 'the responder is given a promise to wait for');
    await Promise.all(pending);
    assert.deepEqual(contexts.map((context) => context.responseHeaders?.[3]), ['"address";r=1;t=20', '"address";r=0;t=40', '"address";r=0;t=20']);
    assert.equal(run().outcome?.code, 'locked_out');
  });
});

describe('address-limit policy', () => {
  const limits = (addressRate: CompiledRate | null, maxFailures: number) => ({ limits: { addressRate, maxAddresses: 16 }, lockout: { maxFailures, window: 60 * SECOND, coolOff: 300 * SECOND } });

  it('is off when the address rate and the lockout are both off', () => {
    assert.equal(addressLimit.stage, 4);
    assert.equal(addressLimit.create(limits(null, 0), fakeParts()), null);
  });

  it('is on with either, on the process\'s limiter', async () => {
    const limiter = new MemoryLimiter({ maxKeys: 16, maxAddresses: 16 });
    assert.equal(addressLimit.create(limits(ADDRESS_RATE, 0), fakeParts({ limiter }))?.name, 'address-limit');
    const lockoutOnly = addressLimit.create(limits(null, 1), fakeParts({ limiter }));
    assert.ok(lockoutOnly !== null);
    const context = fakeContext({ address: CLIENT }, { now: START });
    await lockoutOnly.onDenial?.(context, KEY_INVALID);
    assert.equal(context.responseHeaders, null, 'no address rate: no fields');
    const locked = lockoutOnly.run(fakeContext({ address: CLIENT }, { now: START })) as Denial | null;
    assert.equal(locked?.code, 'locked_out', 'maxFailures: 1 locks at the first invalid key');
    assert.deepEqual(locked?.headers, [['retry-after', '300']]);
  });
});
