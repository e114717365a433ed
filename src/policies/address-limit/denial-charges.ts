import type { Denial } from '../../http/error-catalogue.ts';
import type { RequestContext } from '../request-context.ts';
import type { LimitOutcome, LimiterBackend, LockoutPolicy } from '../../limits/limiter-backend.ts';
import type { CompiledRate } from '../../limits/rate-policy.ts';
import type { RefusedAddresses } from '../../limits/refused-addresses.ts';
import { limitItem, LIMIT_FIELD, POLICY_FIELD, ratePolicyItem, retryAfterSeconds } from '../../limits/rate-limit-fields.ts';

/** Called by the pipeline for every denied request, before the denial is sent. */
export type DenialObserver = (context: RequestContext, denial: Denial) => void | Promise<void>;

export interface DenialChargesOptions {
  backend: LimiterBackend;
  refused: RefusedAddresses;
  /** Budget of denied requests per address; null: not limited. */
  addressRate: CompiledRate | null;
  /** Null: no brute-force lockout. */
  lockout: LockoutPolicy | null;
}

/**
 * What a denied request costs its address, decided where every denial passes: the responder.
 * So every denial counts, whichever stage produced it (a missing key, an OPTIONS preflight
 * without one, a refused method, a key over its rate), without each check having to report it.
 *
 * - Every denial is charged to the address's rate (`limits.addressRate`); an address over it
 *   is throttled: refused at stage 4 until it is back under.
 * - A `key_invalid` denial (malformed or unknown key: a guess) also counts towards the
 *   brute-force lockout; reaching `lockout.maxFailures` locks the address out.
 *
 * Two kinds of denial are not charged. Requests refused at stage 4: the address is already
 * refused, and charging them would cost a Redis round trip per request of a flood. And an
 * authenticated key's own 429s (its rate or quota): that traffic is already limited per key,
 * and charging it would let one over-eager key throttle every other key behind the same
 * address (a NAT, an office), authenticated or not.
 */
export function createDenialCharges(options: DenialChargesOptions): DenialObserver {
  const { backend, refused, addressRate, lockout } = options;
  const policy = addressRate === null ? null : ratePolicyItem('address', addressRate);

  function apply(context: RequestContext, lockMs: number, outcome: LimitOutcome | null): void {
    const address = context.clientAddress;
    const now = context.now;
    if (lockMs > 0) refused.lock(address, now + lockMs, now);
    if (outcome === null || policy === null) return;
    let item: string;
    if (outcome.refusedBy === null) item = limitItem('address', outcome.remaining, outcome.resetMs);
    else {
      refused.throttle(address, now + outcome.retryAfterMs, now);
      item = `"address";r=0;t=${retryAfterSeconds(outcome.retryAfterMs)}`;
    }
    if (context.responseHeaders === null) context.responseHeaders = [POLICY_FIELD, policy, LIMIT_FIELD, item];
    else context.responseHeaders.push(POLICY_FIELD, policy, LIMIT_FIELD, item);
  }

  return function chargeDenial(context, denial) {
    const address = context.clientAddress;
    const now = context.now;
    if (refused.isRefused(address, now)) return;
    if (context.key !== null && (denial.code === 'rate_limited' || denial.code === 'quota_exceeded')) return;
    const failure = lockout !== null && denial.code === 'key_invalid' ? backend.recordFailure(address, lockout, now) : 0;
    const charge = addressRate === null ? null : backend.take('address', address, addressRate, null, now);
    if (failure instanceof Promise || charge instanceof Promise) {
      return Promise.all([failure, charge]).then(([lockMs, outcome]) => apply(context, lockMs, outcome));
    }
    apply(context, failure, charge);
  };
}
