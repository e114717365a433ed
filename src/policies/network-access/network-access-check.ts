import { createCidrMatcher } from '../../http/cidr.ts';
import { denial } from '../../http/error-catalogue.ts';
import type { Check } from '../request-context.ts';

const IP_NOT_ALLOWED = denial('ip_not_allowed');

export interface NetworkAccessOptions {
  allow: readonly string[];
  deny: readonly string[];
}

/**
 * Stage 3: the global allowlist and denylist, on the resolved client address, before any key
 * is read. Deny wins over allow; an empty allowlist allows every address not denied. Returns
 * null (no check in the pipeline) when neither list has an entry. Throws InvalidCidrError,
 * naming the entry, on a bad CIDR.
 */
export function createNetworkAccessCheck(options: NetworkAccessOptions): Check | null {
  if (options.allow.length === 0 && options.deny.length === 0) return null;
  const allow = options.allow.length === 0 ? null : createCidrMatcher(options.allow, 'network.allow (--allow-ip)');
  const deny = options.deny.length === 0 ? null : createCidrMatcher(options.deny, 'network.deny (--deny-ip)');
  return {
    name: 'network-access',
    run(context) {
      const ip = context.client.ip;
      if (deny !== null && deny.matches(ip)) return IP_NOT_ALLOWED;
      if (allow !== null && !allow.matches(ip)) return IP_NOT_ALLOWED;
      return null;
    },
  };
}
