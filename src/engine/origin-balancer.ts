import type { BalancePolicy } from './upstream-config.ts';

/** What the balancer tells about an origin leaving and rejoining the rotation (upstream-monitor.ts logs and counts it). */
export interface OriginEvents {
  /** The origin failed `failures` requests in a row and is skipped until `until`. */
  originEjected(index: number, failures: number, until: number): void;
  /** A request to an ejected origin succeeded: it is back in the rotation after `outFor` ms. */
  originRestored(index: number, outFor: number): void;
}

export interface OriginBalancerOptions {
  /** How many origins; they are known by index, 0 to count - 1. */
  count: number;
  policy: BalancePolicy;
  /** Failures in a row that eject an origin. */
  failuresToEject: number;
  /** How long an ejected origin is skipped, in ms, before one request tries it again. */
  ejectFor: number;
  events?: OriginEvents;
  /** Milliseconds; injected by tests. */
  now?: () => number;
}

/** One origin's state, kept by the balancer. */
class OriginState {
  /** Requests sent to it and not over yet. */
  inFlight = 0;
  /** Failures in a row, with no response in between. */
  failures = 0;
  /**
   * 0 while in the rotation. Otherwise the origin is ejected: skipped until this time, then
   * sent one request (a trial, which moves this time on again so that nothing else follows it
   * until it has an outcome, or until it has been out for another `ejectFor`).
   */
  ejectedUntil = 0;
  /** When it was ejected (0 while in the rotation). */
  ejectedAt = 0;
  /** When it last failed (0: never). */
  lastFailedAt = 0;
}

/**
 * Chooses which origin of an upstream each request goes to, and keeps passive health: an
 * origin that fails `failuresToEject` requests in a row is ejected (skipped) for `ejectFor`,
 * then gets one request; a response from it, any status, puts it back. When every origin the
 * request may go to is ejected, the one that failed longest ago is used anyway: a guess that
 * may work beats refusing every request. With one origin there is nothing to skip to, so
 * nothing is ejected.
 *
 * `round-robin` takes the origins in turn; `least-busy` the one with the fewest requests in
 * flight, in turn among equals (the turn starts after the last origin picked). Origins are
 * indexes so that the proxy keeps its pools in a plain array beside this one.
 *
 * The hot path is `pick`, `started`, `ended` and `succeeded`: a loop over a few objects, with
 * the clock read only while some origin is ejected.
 *
 * @example
 * const balancer = new OriginBalancer({ count: 2, policy: 'round-robin', failuresToEject: 3, ejectFor: 10_000 });
 * const index = balancer.pick();
 * balancer.started(index);
 * // … the origin answered: balancer.succeeded(index), or could not be reached: balancer.failed(index)
 * balancer.ended(index);
 */
export class OriginBalancer {
  readonly #origins: OriginState[];
  readonly #leastBusy: boolean;
  readonly #failuresToEject: number;
  readonly #ejectFor: number;
  readonly #events: OriginEvents | null;
  readonly #now: () => number;
  /** Where the next turn starts. */
  #cursor = 0;

  constructor(options: OriginBalancerOptions) {
    if (!Number.isInteger(options.count) || options.count < 1) throw new RangeError(`count must be a positive integer, got ${options.count}`);
    this.#origins = Array.from({ length: options.count }, () => new OriginState());
    this.#leastBusy = options.policy === 'least-busy';
    // One origin: nothing to skip to, so never ejected.
    this.#failuresToEject = options.count === 1 ? Infinity : options.failuresToEject;
    this.#ejectFor = options.ejectFor;
    this.#events = options.events ?? null;
    this.#now = options.now ?? Date.now;
  }

  get count(): number {
    return this.#origins.length;
  }

  /** How many origins are ejected right now (a trial out counts as ejected). */
  get ejectedCount(): number {
    let ejected = 0;
    for (const origin of this.#origins) if (origin.ejectedUntil !== 0) ejected++;
    return ejected;
  }

  /** Whether an origin is out of the rotation. */
  isEjected(index: number): boolean {
    return (this.#origins[index] as OriginState).ejectedUntil !== 0;
  }

  /**
   * The origin for the next request; `avoid` (an origin that just failed this request) is not
   * picked when there is another. An ejected origin whose time is up is picked as a trial.
   */
  pick(avoid = -1): number {
    const origins = this.#origins;
    const count = origins.length;
    if (count === 1) return 0;
    let chosen = -1;
    let now = -1;
    for (let step = 0; step < count; step++) {
      const index = (this.#cursor + step) % count;
      if (index === avoid) continue;
      const origin = origins[index] as OriginState;
      if (origin.ejectedUntil !== 0) {
        if (now === -1) now = this.#now();
        if (origin.ejectedUntil > now) continue;
      }
      if (!this.#leastBusy) {
        chosen = index;
        break;
      }
      if (chosen === -1 || origin.inFlight < (origins[chosen] as OriginState).inFlight) chosen = index;
    }
    if (chosen === -1) chosen = this.#longestSinceFailure(avoid);
    else if ((origins[chosen] as OriginState).ejectedUntil !== 0) (origins[chosen] as OriginState).ejectedUntil = (now === -1 ? this.#now() : now) + this.#ejectFor;
    this.#cursor = (chosen + 1) % count;
    return chosen;
  }

  /** A request went out to the origin. */
  started(index: number): void {
    (this.#origins[index] as OriginState).inFlight++;
  }

  /** A request to the origin is over, however it ended. */
  ended(index: number): void {
    (this.#origins[index] as OriginState).inFlight--;
  }

  /** The origin answered (a response began, any status): its run of failures is over, and an ejected origin is back. */
  succeeded(index: number): void {
    const origin = this.#origins[index] as OriginState;
    if (origin.failures === 0 && origin.ejectedUntil === 0) return;
    origin.failures = 0;
    if (origin.ejectedUntil === 0) return;
    const outFor = this.#now() - origin.ejectedAt;
    origin.ejectedUntil = 0;
    origin.ejectedAt = 0;
    this.#events?.originRestored(index, outFor);
  }

  /**
   * A request could not reach the origin (refused, reset or timed out before any response
   * byte). The failure that completes a run ejects it; a failure while ejected (its trial, or
   * a request sent before the ejection) keeps it out for another `ejectFor`.
   */
  failed(index: number): void {
    const origin = this.#origins[index] as OriginState;
    const now = this.#now();
    origin.failures++;
    origin.lastFailedAt = now;
    if (origin.ejectedUntil !== 0) {
      origin.ejectedUntil = now + this.#ejectFor;
      return;
    }
    if (origin.failures < this.#failuresToEject) return;
    origin.ejectedAt = now;
    origin.ejectedUntil = now + this.#ejectFor;
    this.#events?.originEjected(index, origin.failures, origin.ejectedUntil);
  }

  /** Every origin but `avoid` is ejected: the one whose last failure is the oldest (ties: the first). */
  #longestSinceFailure(avoid: number): number {
    let chosen = -1;
    for (let index = 0; index < this.#origins.length; index++) {
      if (index === avoid) continue;
      if (chosen === -1 || (this.#origins[index] as OriginState).lastFailedAt < (this.#origins[chosen] as OriginState).lastFailedAt) chosen = index;
    }
    return chosen;
  }
}
