import { denial, type Denial } from '../../http/error-catalogue.ts';
import type { KeyRecord } from '../../keys/key-record.ts';
import type { LimitOutcome, LimiterBackend } from '../../limits/limiter-backend.ts';
import type { QuotaEntry, QuotaLedger } from '../../limits/quota-ledger.ts';
import { compileQuotaText, compileRateText, type CompiledQuota, type CompiledRate } from '../../limits/rate-policy.ts';
import { keyPolicyField, limitItem, LIMIT_FIELD, POLICY_FIELD, ratePolicyItem, retryAfterSeconds } from '../../limits/rate-limit-fields.ts';
import { retryDenials } from '../../limits/retry-denials.ts';
import type { Operation } from '../../routes/operation.ts';
import type { CachedKey } from '../../verify/key-verifier.ts';
import type { Check, CheckOutcome, CheckResult, RequestContext } from '../request-context.ts';
import { afterReported, type ReportWhere } from '../report-only.ts';

const keyThrottled = retryDenials('rate_limited', 'The API key\'s rate limit is exceeded. Retry after the number of seconds in Retry-After.');
const routeThrottled = retryDenials('rate_limited', 'The API key\'s rate limit on this route is exceeded. Retry after the number of seconds in Retry-After.');
const quotaUsedUp = retryDenials('quota_exceeded', 'The API key\'s quota for this period is used up. It is refilled at the start of the next period (UTC), after the number of seconds in Retry-After.');
const POLICY_INVALID = denial('internal_error');
const STORE_UNAVAILABLE = denial('store_unavailable', null, [['retry-after', '5']]);

/** A key's limits, compiled once per key record. */
interface KeyLimitPlan {
  rate: CompiledRate | null;
  quota: CompiledQuota | null;
  policyField: string;
}

/** A route's limit per key: the limiter id's suffix (`<key id> <method> <template>`) and its RateLimit-Policy item. */
interface RoutePlan {
  suffix: string;
  policy: string;
}

const INVALID_POLICY: unique symbol = Symbol('invalid policy');

export interface KeyLimitsOptions {
  backend: LimiterBackend;
  ledger: QuotaLedger;
  /** For keys without a rate or quota of their own; null: none. */
  defaultRate: CompiledRate | null;
  defaultQuota: CompiledQuota | null;
  /** Report-only mode (policies/report-only.ts) for the route and key rates, and for the quota: everywhere (true), where the function says, or nowhere (false, the default). */
  reportRates?: boolean | ReportWhere;
  reportQuotas?: boolean | ReportWhere;
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
 *
 * In report mode (`rate-limits`, `quotas`), a request over a limit goes on as a would-deny,
 * with the RateLimit fields it would have had. One over the route's rate is still charged to
 * the key's own limits, and one over the key's rate to the quota: every request that reaches
 * the upstream counts against the limits that enforce. A request over its quota is not charged.
 *
 * The promise continuations are methods of their own, so the synchronous path creates no
 * closures (a closure over a parameter costs V8 a context per call).
 */
export class KeyLimitsCheck implements Check {
  readonly name = 'key-limits';
  readonly reports?: (refused: Denial, context: RequestContext) => boolean;
  readonly #reportRates: ReportWhere;
  readonly #backend: LimiterBackend;
  readonly #ledger: QuotaLedger;
  readonly #defaultRate: CompiledRate | null;
  readonly #defaultQuota: CompiledQuota | null;
  readonly #noDefaults: boolean;
  readonly #onInvalidPolicy: (keyId: string) => void;
  readonly #onStoreError: (error: unknown) => void;
  /** Keyed by record: a change from the feed brings a new record object, and so a new plan. */
  readonly #plans = new WeakMap<KeyRecord, KeyLimitPlan | null | typeof INVALID_POLICY>();
  readonly #routePlans = new WeakMap<Operation, RoutePlan>();

  constructor(options: KeyLimitsOptions) {
    this.#backend = options.backend;
    this.#ledger = options.ledger;
    this.#defaultRate = options.defaultRate;
    this.#defaultQuota = options.defaultQuota;
    this.#noDefaults = options.defaultRate === null && options.defaultQuota === null;
    const reportRates = (this.#reportRates = reportWhereOf(options.reportRates));
    const reportQuotas = reportWhereOf(options.reportQuotas);
    if (reportRates !== null || reportQuotas !== null) {
      this.reports = (refused, context) => (refused.code === 'rate_limited' && reportRates !== null && reportRates(context)) || (refused.code === 'quota_exceeded' && reportQuotas !== null && reportQuotas(context));
    }
    this.#onInvalidPolicy = options.onInvalidPolicy;
    this.#onStoreError = options.onStoreError;
  }

  run(context: RequestContext): CheckOutcome {
    const key = context.key;
    if (key === null) return null;
    const operation = context.operation;
    if (operation === null || operation.rate === null) return this.#keyLimits(context, key);
    return this.#routeLimit(context, key, operation, operation.rate);
  }

  // The route's own rate per key, first.

  #routeLimit(context: RequestContext, key: CachedKey, operation: Operation, rate: CompiledRate): CheckOutcome {
    const plan = this.#routePlanFor(operation, rate);
    const outcome = this.#backend.take('route', key.record.id + plan.suffix, rate, null, context.now);
    if (outcome instanceof Promise) return this.#afterRouteLater(outcome, context, key, plan.policy);
    return this.#afterRoute(context, key, plan.policy, outcome);
  }

  async #afterRouteLater(outcome: Promise<LimitOutcome>, context: RequestContext, key: CachedKey, policy: string): Promise<CheckResult> {
    return this.#afterRoute(context, key, policy, await outcome);
  }

  /** Refused by the route: the key's own limits are not charged. Admitted: they are next. */
  #afterRoute(context: RequestContext, key: CachedKey, policy: string, outcome: LimitOutcome): CheckOutcome {
    if (outcome.refusedBy !== null) {
      const seconds = retryAfterSeconds(outcome.retryAfterMs);
      setFields(context, policy, `"route";r=0;t=${seconds}`);
      if (this.#reportRates === null || !this.#reportRates(context)) return routeThrottled(seconds);
      return afterReported((refused) => this.reports!(refused, context), routeThrottled(seconds), this.#keyLimits(context, key));
    }
    setFields(context, policy, limitItem('route', outcome.remaining, outcome.resetMs));
    return this.#keyLimits(context, key);
  }

  #routePlanFor(operation: Operation, rate: CompiledRate): RoutePlan {
    let plan = this.#routePlans.get(operation);
    if (plan === undefined) {
      plan = { suffix: ` ${operation.method} ${operation.template}`, policy: ratePolicyItem('route', rate) };
      this.#routePlans.set(operation, plan);
    }
    return plan;
  }

  // Then the key's own rate and quota, charged together.

  #keyLimits(context: RequestContext, key: CachedKey): CheckOutcome {
    // A key without limits of its own, and no defaults: the plan would be null. Skipping the
    // WeakMap saves a lookup that is cold in memory when many keys take turns.
    if (this.#noDefaults && key.record.rateLimit === null && key.record.quota === null) return null;
    const plan = this.#planFor(key.record);
    if (plan === null) return null;
    if (plan === INVALID_POLICY) return POLICY_INVALID;
    if (plan.quota === null) return this.#take(context, plan, null);
    const entry = this.#ledger.entry(key.record.id, plan.quota, context.now);
    if (entry instanceof Promise) return this.#takeOnceLoaded(entry, context, plan);
    return this.#take(context, plan, entry);
  }

  #planFor(record: KeyRecord): KeyLimitPlan | null | typeof INVALID_POLICY {
    let plan = this.#plans.get(record);
    if (plan !== undefined) return plan;
    const rate = record.rateLimit === null ? this.#defaultRate : compileRateText(record.rateLimit);
    const quota = record.quota === null ? this.#defaultQuota : compileQuotaText(record.quota);
    if ((record.rateLimit !== null && rate === null) || (record.quota !== null && quota === null)) {
      this.#onInvalidPolicy(record.id);
      plan = INVALID_POLICY;
    } else plan = rate === null && quota === null ? null : { rate, quota, policyField: keyPolicyField(rate, quota) };
    this.#plans.set(record, plan);
    return plan;
  }

  async #takeOnceLoaded(entry: Promise<QuotaEntry>, context: RequestContext, plan: KeyLimitPlan): Promise<CheckResult> {
    let loaded: QuotaEntry;
    try {
      loaded = await entry;
    } catch (error) {
      this.#onStoreError(error);
      return STORE_UNAVAILABLE;
    }
    return this.#take(context, plan, loaded);
  }

  #take(context: RequestContext, plan: KeyLimitPlan, entry: QuotaEntry | null): CheckOutcome {
    const outcome = this.#backend.take('key', (context.key as CachedKey).record.id, plan.rate, entry, context.now);
    if (outcome instanceof Promise) return this.#decideLater(outcome, context, plan, entry);
    return this.#decide(context, plan, entry, outcome);
  }

  async #decideLater(outcome: Promise<LimitOutcome>, context: RequestContext, plan: KeyLimitPlan, entry: QuotaEntry | null): Promise<CheckResult> {
    return this.#decide(context, plan, entry, await outcome);
  }

  #decide(context: RequestContext, plan: KeyLimitPlan, entry: QuotaEntry | null, outcome: LimitOutcome): CheckOutcome {
    if (outcome.refusedBy === null) {
      let field = plan.rate === null ? '' : limitItem('key', outcome.remaining, outcome.resetMs);
      if (entry !== null) {
        this.#ledger.admitted(entry, outcome.quotaUsed);
        const quotaItem = limitItem('quota', entry.used >= entry.limit ? 0 : entry.limit - entry.used, entry.periodEnd - context.now);
        field = field === '' ? quotaItem : `${field}, ${quotaItem}`;
      }
      setFields(context, plan.policyField, field);
      return null;
    }
    const seconds = retryAfterSeconds(outcome.retryAfterMs);
    if (outcome.refusedBy === 'rate') {
      setFields(context, plan.policyField, `"key";r=0;t=${seconds}`);
      if (this.#reportRates === null || !this.#reportRates(context) || entry === null) return keyThrottled(seconds);
      return afterReported((refused) => this.reports!(refused, context), keyThrottled(seconds), this.#chargeQuota(context, entry));
    }
    // Redis knows the cluster's count; keep it for when this node must decide alone.
    if (entry !== null && outcome.quotaUsed > entry.used) entry.used = outcome.quotaUsed;
    setFields(context, plan.policyField, `"quota";r=0;t=${seconds}`);
    return quotaUsedUp(seconds);
  }

  // Report mode: a request over the key's rate goes on, so it is charged to the quota alone.

  #chargeQuota(context: RequestContext, entry: QuotaEntry): CheckOutcome {
    const outcome = this.#backend.take('key', (context.key as CachedKey).record.id, null, entry, context.now);
    if (outcome instanceof Promise) return this.#quotaChargedLater(outcome, context, entry);
    return this.#quotaCharged(context, entry, outcome);
  }

  async #quotaChargedLater(outcome: Promise<LimitOutcome>, context: RequestContext, entry: QuotaEntry): Promise<Denial | null> {
    return this.#quotaCharged(context, entry, await outcome);
  }

  #quotaCharged(context: RequestContext, entry: QuotaEntry, outcome: LimitOutcome): Denial | null {
    if (outcome.refusedBy === null) {
      this.#ledger.admitted(entry, outcome.quotaUsed);
      return null;
    }
    if (outcome.quotaUsed > entry.used) entry.used = outcome.quotaUsed;
    return quotaUsedUp(retryAfterSeconds(outcome.retryAfterMs));
  }
}

function setFields(context: RequestContext, policyField: string, limitField: string): void {
  if (context.responseHeaders === null) context.responseHeaders = [POLICY_FIELD, policyField, LIMIT_FIELD, limitField];
  else context.responseHeaders.push(POLICY_FIELD, policyField, LIMIT_FIELD, limitField);
}

/** A report setting as a place: true is everywhere, false or absent nowhere. */
function reportWhereOf(setting: boolean | ReportWhere | undefined): ReportWhere {
  if (setting === true) return () => true;
  return setting === false || setting === undefined ? null : setting;
}
