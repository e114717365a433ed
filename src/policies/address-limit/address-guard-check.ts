import type { Check } from '../request-context.ts';
import type { RefusedAddresses } from '../../limits/refused-addresses.ts';
import type { CompiledRate } from '../../limits/rate-policy.ts';
import { LIMIT_FIELD, POLICY_FIELD, ratePolicyItem, retryAfterSeconds } from '../../limits/rate-limit-fields.ts';
import { retryDenials } from '../../limits/retry-denials.ts';

export const lockedOut = retryDenials('locked_out', 'Too many invalid API keys were sent from this address. It is refused until the number of seconds in Retry-After has passed.');
export const addressThrottled = retryDenials('rate_limited', 'Too many denied or unauthenticated requests came from this address. Retry after the number of seconds in Retry-After.');

/**
 * Stage 4: refuses an address that is locked out (too many invalid keys) or throttled (too
 * many denied requests), before its key is read or looked up, so a guessing or flooding
 * client costs one map lookup per request. Whether an address belongs on the list is decided
 * when its requests are denied (denial-charges.ts); this check only reads the list.
 */
export function createAddressGuardCheck(refused: RefusedAddresses, addressRate: CompiledRate | null): Check {
  const policy = addressRate === null ? null : ratePolicyItem('address', addressRate);
  return {
    name: 'address-guard',
    run(context) {
      // Usually nobody is refused: then there is nothing to look up.
      if (refused.size === 0) return null;
      const slot = refused.find(context.clientAddress);
      if (slot === -1) return null;
      const now = context.now;
      const lockedUntil = refused.lockedUntilAt(slot);
      if (lockedUntil > now) return lockedOut(retryAfterSeconds(lockedUntil - now));
      const throttledUntil = refused.throttledUntilAt(slot);
      if (throttledUntil <= now) return null;
      const seconds = retryAfterSeconds(throttledUntil - now);
      if (policy !== null) context.responseHeaders = [POLICY_FIELD, policy, LIMIT_FIELD, `"address";r=0;t=${seconds}`];
      return addressThrottled(seconds);
    },
  };
}
