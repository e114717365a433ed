import { addressLimit } from '../policies/address-limit/index.ts';
import { clientCertificate } from '../policies/client-certificate/index.ts';
import { cors } from '../policies/cors/index.ts';
import { inputValidation } from '../policies/input-validation/index.ts';
import { keyAuth } from '../policies/key-auth/index.ts';
import { keyLimits } from '../policies/key-limits/index.ts';
import { keyPolicy } from '../policies/key-policy/index.ts';
import { leakAlerts } from '../policies/leak-alerts/index.ts';
import { networkAccess } from '../policies/network-access/index.ts';
import { pathCanonical } from '../policies/path-canonical/index.ts';
import { requestSanity } from '../policies/request-sanity/index.ts';
import { routeMatch } from '../policies/route-match/index.ts';
import { scopes } from '../policies/scopes/index.ts';

/**
 * The one ordered list of checks: the pipeline of docs/architecture.md, top to bottom. Cheap,
 * key-free checks come first, so a flood of junk costs little. A policy whose options leave it
 * off makes no check and is not in the pipeline. Stage 2 (the client address) is the engine's,
 * before the first check; stages 10 and 11 (proxy, record) follow the last.
 */
export const PIPELINE_POLICIES = [
  // 1. Sanity: method and request-target form; then the one canonical path.
  requestSanity,
  pathCanonical,
  // 3. Network allowlist / denylist (global).
  networkAccess,
  // 4. Brute-force lockout and the per-address budget of denied requests.
  addressLimit,
  // 5. Secret-scanning alerts and CORS preflights (both answered here), then the route (deny by
  // default once routes are known).
  leakAlerts,
  cors,
  routeMatch,
  // 6. Authentication: a client certificate when required per request, then the key.
  clientCertificate,
  keyAuth,
  // 7. Key policy: per-key networks and certificate binding, then the operation's scopes.
  keyPolicy,
  scopes,
  // 8. Rate limits and quotas.
  keyLimits,
  // 9. Input validation: parameters and bodies against the route's description, body size limits.
  inputValidation,
] as const;
