import { denial, type Denial } from '../../http/error-catalogue.ts';
import type { Check, CheckOutcome, CheckResult, RequestContext } from '../request-context.ts';
import type { KeyRecord } from '../../keys/key-record.ts';
import type { LimitOutcome, LimiterBackend } from '../../limits/limiter-backend.ts';
import type { QuotaEntry, QuotaLedger } from '../../limits/quota-ledger.ts';
import { compileQuotaText, compileRateText, type CompiledQuota, type CompiledRate } from '../../limits/rate-policy.ts';
import { keyPolicyField, limitItem, LIMIT_FIELD, POLICY_FIELD, ratePolicyItem, retryAfterSeconds } from '../../limits/rate-limit-fields.ts';
import type { Operation } from '../../routes/operation.ts';
import type { CachedKey } from '../../verify/key-verifier.ts';
import { retryDenials } from '../../limits/retry-denials.ts';

const keyThrottled = retryDenials('rate_limited', 'The API key\'s rate limit is exceeded. Retry after the number of seconds in Retry-After.');
const routeThrottled = retryDenials('rate_limited', 'The API key\'s rate limit on this route is exceeded. Retry after the number of seconds in Retry-After.');
const quotaUsedUp = retryDenials('quota_exceeded', 'The API key\'s quota for this period is used up. It is refilled at the start of the next period (UTC), after the number of seconds in Retry-After.');
const POLICY_INVALID = denial('internal_error', 'The gateway failed to handle the request.');
const STORE_UNAVAILABLE = denial('store_unavailable', 'The key store cannot be reached; try again shortly.', [['retry-after', '5']]);

/** A key's limits, compiled once per key record. */
interface KeyLimitPlan {
  rate: CompiledRate | null;
  quota: CompiledQuota | null;
  policyField: string;
}

const INVALID_POLICY: unique symbol = Symbol('invalid policy');

export interface KeyLimitCheckOptions {
  backend: LimiterBackend;
  ledger: QuotaLedger;
  /** For keys without a rate or quota of their own; null: none. */
  defaultRate: CompiledRate | null;
  defaultQuota: CompiledQuota | null;
  /** A key whose stored policy does not parse (written by hand, or by a newer version). */
  onInvalidPolicy: (keyId: string) => void;
  onStoreError: (error: unknown) => void;
}

/**
 * Stage 8: the authenticated key's rate (GCRA) and quota. Both are charged in one backend
 * call (one Redis round trip when Redis is configured) and only when both allow the request;
 * a refused request costs neither. Every response to a limited key carries RateLimit-Policy
 * and RateLimit. The charge stands whatever the upstream then answers.
 *
 * A route with a rate of its own (`x-portcullis-rate`, a route rule's `rate`) is limited per key
 * first, as the policy named "route": a request it refuses costs the key's own rate and quota
 * nothing. Its RateLimit fields go on field lines of their own, which RFC 9651 lists allow.
 */
export function createKeyLimitCheck(options: KeyLimitCheckOptions): Check {
  const { backend, ledger, defaultRate, defaultQuota, onInvalidPolicy, onStoreError } = options;
  // Keyed by record: a change from the feed brings a new record object, and so a new plan.
  const plans = new WeakMap<KeyRecord, KeyLimitPlan | null | typeof INVALID_POLICY>();
  const noDefaults = defaultRate === null && defaultQuota === null;

  function planFor(record: KeyRecord): KeyLimitPlan | null | typeof INVALID_POLICY {
    const rate = record.rateLimit === null ? defaultRate : compileRateText(record.rateLimit);
    const quota = record.quota === null ? defaultQuota : compileQuotaText(record.quota);
    if ((record.rateLimit !== null && rate === null) || (record.quota !== null && quota === null)) {
      onInvalidPolicy(record.id);
      return INVALID_POLICY;
    }
    if (rate === null && quota === null) return null;
    return { rate, quota, policyField: keyPolicyField(rate, quota) };
  }

  function setFields(context: RequestContext, policyField: string, limitField: string): void {
    if (context.responseHeaders === null) context.responseHeaders = [POLICY_FIELD, policyField, LIMIT_FIELD, limitField];
    else context.responseHeaders.push(POLICY_FIELD, policyField, LIMIT_FIELD, limitField);
  }

  function decide(context: RequestContext, plan: KeyLimitPlan, entry: QuotaEntry | null, outcome: LimitOutcome): Denial | null {
    if (outcome.refusedBy === null) {
      let field = plan.rate === null ? '' : limitItem('key', outcome.remaining, outcome.resetMs);
      if (entry !== null) {
        ledger.admitted(entry, outcome.quotaUsed);
        const quotaItem = limitItem('quota', entry.used >= entry.limit ? 0 : entry.limit - entry.used, entry.periodEnd - context.now);
        field = field === '' ? quotaItem : `${field}, ${quotaItem}`;
      }
      setFields(context, plan.policyField, field);
      return null;
    }
    const seconds = retryAfterSeconds(outcome.retryAfterMs);
    if (outcome.refusedBy === 'rate') {
      setFields(context, plan.policyField, `"key";r=0;t=${seconds}`);
      return keyThrottled(seconds);
    }
    // Redis knows the cluster's count; keep it for when this node must decide alone.
    if (entry !== null && outcome.quotaUsed > entry.used) entry.used = outcome.quotaUsed;
    setFields(context, plan.policyField, `"quota";r=0;t=${seconds}`);
    return quotaUsedUp(seconds);
  }

  // The promise continuations below are functions of their own, so the synchronous path
  // creates no closures (a closure over a parameter costs a context per call in V8).
  function take(context: RequestContext, plan: KeyLimitPlan, entry: QuotaEntry | null): CheckOutcome {
    const outcome = backend.take('key', (context.key as { record: KeyRecord }).record.id, plan.rate, entry, context.now);
    if (outcome instanceof Promise) return decideLater(outcome, context, plan, entry);
    return decide(context, plan, entry, outcome);
  }

  function decideLater(outcome: Promise<LimitOutcome>, context: RequestContext, plan: KeyLimitPlan, entry: QuotaEntry | null): Promise<Denial | null> {
    return outcome.then((result) => decide(context, plan, entry, result));
  }

  function takeOnceLoaded(entry: Promise<QuotaEntry>, context: RequestContext, plan: KeyLimitPlan): Promise<CheckResult> {
    return entry.then((loaded) => take(context, plan, loaded), storeFailed);
  }

  function afterRouteLater(outcome: Promise<LimitOutcome>, context: RequestContext, key: CachedKey, policy: string): Promise<CheckResult> {
    return outcome.then((result) => afterRoute(context, key, policy, result));
  }

  function storeFailed(error: unknown): Denial {
    onStoreError(error);
    return STORE_UNAVAILABLE;
  }

  /** Per operation with a rate: the limiter id's suffix (`<key id> <method> <template>`) and its RateLimit-Policy item. */
  const routePlans = new WeakMap<Operation, { suffix: string; policy: string }>();
  function routePlanFor(operation: Operation, rate: CompiledRate): { suffix: string; policy: string } {
    let plan = routePlans.get(operation);
    if (plan === undefined) {
      plan = { suffix: ` ${operation.method} ${operation.template}`, policy: ratePolicyItem('route', rate) };
      routePlans.set(operation, plan);
    }
    return plan;
  }

  function afterRoute(context: RequestContext, key: CachedKey, policy: string, outcome: LimitOutcome): CheckOutcome {
    if (outcome.refusedBy !== null) {
      const seconds = retryAfterSeconds(outcome.retryAfterMs);
      setFields(context, policy, `"route";r=0;t=${seconds}`);
      return routeThrottled(seconds);
    }
    setFields(context, policy, limitItem('route', outcome.remaining, outcome.resetMs));
    return keyLimits(context, key);
  }

  function keyLimits(context: RequestContext, key: CachedKey): CheckOutcome {
    // A key without limits of its own, and no defaults: planFor would say null. Skipping the
    // WeakMap saves a lookup that is cold in memory when many keys take turns.
    if (noDefaults && key.record.rateLimit === null && key.record.quota === null) return null;
    let plan = plans.get(key.record);
    if (plan === undefined) {
      plan = planFor(key.record);
      plans.set(key.record, plan);
    }
    if (plan === null) return null;
    if (plan === INVALID_POLICY) return POLICY_INVALID;
    if (plan.quota === null) return take(context, plan, null);
    const entry = ledger.entry(key.record.id, plan.quota, context.now);
    if (entry instanceof Promise) return takeOnceLoaded(entry, context, plan);
    return take(context, plan, entry);
  }

  return {
    name: 'key-limits',
    run(context): CheckOutcome {
      const key = context.key;
      if (key === null) return null;
      const operation = context.operation;
      if (operation === null || operation.rate === null) return keyLimits(context, key);
      const routePlan = routePlanFor(operation, operation.rate);
      const outcome = backend.take('route', key.record.id + routePlan.suffix, operation.rate, null, context.now);
      if (outcome instanceof Promise) return afterRouteLater(outcome, context, key, routePlan.policy);
      return afterRoute(context, key, routePlan.policy, outcome);
    },
  };
}
