import type { Denial } from '../../http/error-catalogue.ts';
import type { LimitOutcome, LimiterBackend, LockoutPolicy } from '../../limits/limiter-backend.ts';
import type { CompiledRate } from '../../limits/rate-policy.ts';
import { limitItem, LIMIT_FIELD, POLICY_FIELD, ratePolicyItem, retryAfterSeconds } from '../../limits/rate-limit-fields.ts';
import type { RefusedAddresses } from '../../limits/refused-addresses.ts';
import { retryDenials } from '../../limits/retry-denials.ts';
import type { Check, RequestContext } from '../request-context.ts';

const lockedOut = retryDenials('locked_out', 'Too many invalid API keys were sent from this address. It is refused until the number of seconds in Retry-After has passed.');
const addressThrottled = retryDenials('rate_limited', 'Too many denied or unauthenticated requests came from this address. Retry after the number of seconds in Retry-After.');

export interface AddressLimitOptions {
  backend: LimiterBackend;
  refused: RefusedAddresses;
  /** Budget of denied requests per address; null: not limited. */
  addressRate: CompiledRate | null;
  /** Null: no brute-force lockout. */
  lockout: LockoutPolicy | null;
}

/**
 * The limit on what one client address may get wrong, in both of its halves:
 *
 * - **Stage 4 (`run`)**: an address that is locked out (too many invalid keys) or throttled
 *   (too many denied requests) is refused before its key is read or looked up, so a guessing
 *   or flooding client costs one map lookup per request.
 * - **Every denial (`onDenial`)**, whichever stage made it (a missing key, an OPTIONS
 *   preflight, a refused method, a key over its rate), decides whether the address goes on
 *   that list: each is charged to the address's rate (`limits.addressRate`), and a `key_invalid`
 *   (a guess) also counts towards the lockout (`lockout.maxFailures`).
 *
 * Two kinds of denial are not charged. Requests refused at stage 4: the address is already
 * refused. And an authenticated key's own 429s: the key is already limited per key, and
 * charging it would let one over-eager key throttle every other key behind the same address
 * (a NAT, an office), authenticated or not.
 */
export class AddressLimit implements Check {
  readonly name = 'address-limit';
  readonly #backend: LimiterBackend;
  readonly #refused: RefusedAddresses;
  readonly #addressRate: CompiledRate | null;
  readonly #lockout: LockoutPolicy | null;
  /** The address's RateLimit-Policy item; null without an address rate. */
  readonly #policy: string | null;

  constructor(options: AddressLimitOptions) {
    this.#backend = options.backend;
    this.#refused = options.refused;
    this.#addressRate = options.addressRate;
    this.#lockout = options.lockout;
    this.#policy = options.addressRate === null ? null : ratePolicyItem('address', options.addressRate);
  }

  run(context: RequestContext): Denial | null {
    const refused = this.#refused;
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
    if (this.#policy !== null) context.responseHeaders = [POLICY_FIELD, this.#policy, LIMIT_FIELD, `"address";r=0;t=${seconds}`];
    return addressThrottled(seconds);
  }

  onDenial(context: RequestContext, denial: Denial): void | Promise<void> {
    const address = context.clientAddress;
    const now = context.now;
    if (this.#refused.isRefused(address, now)) return;
    if (context.key !== null && (denial.code === 'rate_limited' || denial.code === 'quota_exceeded')) return;
    const failure = this.#lockout !== null && denial.code === 'key_invalid' ? this.#backend.recordFailure(address, this.#lockout, now) : 0;
    const charge = this.#addressRate === null ? null : this.#backend.take('address', address, this.#addressRate, null, now);
    if (failure instanceof Promise || charge instanceof Promise) return this.#applyLater(context, failure, charge);
    this.#apply(context, failure, charge);
  }

  async #applyLater(context: RequestContext, failure: number | Promise<number>, charge: LimitOutcome | null | Promise<LimitOutcome>): Promise<void> {
    const [lockMs, outcome] = await Promise.all([failure, charge]);
    this.#apply(context, lockMs, outcome);
  }

  /** Puts the address on the refused list when the charge says so, and tells the client its budget. */
  #apply(context: RequestContext, lockMs: number, outcome: LimitOutcome | null): void {
    const address = context.clientAddress;
    const now = context.now;
    if (lockMs > 0) this.#refused.lock(address, now + lockMs, now);
    if (outcome === null || this.#policy === null) return;
    let item: string;
    if (outcome.refusedBy === null) item = limitItem('address', outcome.remaining, outcome.resetMs);
    else {
      this.#refused.throttle(address, now + outcome.retryAfterMs, now);
      item = `"address";r=0;t=${retryAfterSeconds(outcome.retryAfterMs)}`;
    }
    if (context.responseHeaders === null) context.responseHeaders = [POLICY_FIELD, this.#policy, LIMIT_FIELD, item];
    else context.responseHeaders.push(POLICY_FIELD, this.#policy, LIMIT_FIELD, item);
  }
}
