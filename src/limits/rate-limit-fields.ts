import type { CompiledQuota, CompiledRate } from './rate-policy.ts';

/**
 * The IETF RateLimit header fields, as in draft-ietf-httpapi-ratelimit-headers-11 (May 2026):
 * both are Structured Field Lists (RFC 9651) of items named by a quoted policy name.
 *
 *   RateLimit-Policy: "key";q=100;w=1, "quota";q=10000;w=86400
 *   RateLimit: "key";r=42;t=1
 *
 * `q` is the quota in requests and `w` its window in seconds (draft §3.1); `r` the requests
 * still available and `t` the effective window in seconds (§4.1). GCRA has no fixed window, so
 * for a rate `t` is the time until the full burst is available again; a burst that differs
 * from the limit is given as the vendor parameter `portcullis-burst` (§3.1 allows those).
 * A monthly quota has no fixed window length, so it has no `w`; its `t` says when it resets.
 * On a refusal, RateLimit names only the refusing policy, with `r=0` and a `t` equal to
 * Retry-After, so Retry-After never points before the end of the effective window (§6).
 */
export const POLICY_FIELD = 'RateLimit-Policy';
export const LIMIT_FIELD = 'RateLimit';

export type PolicyName = 'key' | 'route' | 'quota' | 'address';

/** One policy item of RateLimit-Policy for a rate. */
export function ratePolicyItem(name: PolicyName, rate: CompiledRate): string {
  const burst = rate.burst === rate.limit ? '' : `;portcullis-burst=${rate.burst}`;
  return `"${name}";q=${rate.limit};w=${rate.windowSeconds}${burst}`;
}

/** One policy item of RateLimit-Policy for a quota. */
function quotaPolicyItem(quota: CompiledQuota): string {
  return quota.period === 'day' ? `"quota";q=${quota.limit};w=86400` : `"quota";q=${quota.limit}`;
}

/** The RateLimit-Policy value for a key's rate and quota (either may be null, not both). */
export function keyPolicyField(rate: CompiledRate | null, quota: CompiledQuota | null): string {
  if (rate === null) return quotaPolicyItem(quota as CompiledQuota);
  return quota === null ? ratePolicyItem('key', rate) : `${ratePolicyItem('key', rate)}, ${quotaPolicyItem(quota)}`;
}

/** Whole seconds, rounded up: a client that waits this long is never early. */
export function secondsFor(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / 1000 - 1e-9);
}

/** One service-limit item of the RateLimit field. */
export function limitItem(name: PolicyName, remaining: number, windowMs: number): string {
  return `"${name}";r=${remaining};t=${secondsFor(windowMs)}`;
}

/** Retry-After for a refusal: whole seconds, at least 1 (RFC 9110 §10.2.3). */
export function retryAfterSeconds(ms: number): number {
  const seconds = secondsFor(ms);
  return seconds < 1 ? 1 : seconds;
}
