import { addressLimit } from '../policies/address-limit/index.ts';
import { anomaly } from '../policies/anomaly/index.ts';
import { apiMatch } from '../policies/api-match/index.ts';
import { clientCertificate } from '../policies/client-certificate/index.ts';
import { cors } from '../policies/cors/index.ts';
import { dpop } from '../policies/dpop/index.ts';
import { dpopTokenIssuer } from '../policies/dpop-token-issuer/index.ts';
import { inputValidation } from '../policies/input-validation/index.ts';
import { keyAuth } from '../policies/key-auth/index.ts';
import { keyLimits } from '../policies/key-limits/index.ts';
import { keyPolicy } from '../policies/key-policy/index.ts';
import { leakAlerts } from '../policies/leak-alerts/index.ts';
import { networkAccess } from '../policies/network-access/index.ts';
import { pathCanonical } from '../policies/path-canonical/index.ts';
import { presentedKeys } from '../policies/presented-keys/index.ts';
import { requestSanity } from '../policies/request-sanity/index.ts';
import { responseChecks } from '../policies/response-checks/index.ts';
import { routeMatch } from '../policies/route-match/index.ts';
import { scopes } from '../policies/scopes/index.ts';
import { signedRequestBody, signedRequests } from '../policies/signed-requests/index.ts';

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
  // 5. Secret-scanning alerts, keys reported by their finders and CORS preflights (all answered
  // here), then the route (deny by default once routes are known).
  leakAlerts,
  presentedKeys,
  // Delegated browser tokens issued to a frontend server's key (dpop.enabled).
  dpopTokenIssuer,
  cors,
  // The API (with several: by host and path prefix), then its route.
  apiMatch,
  routeMatch,
  // 6. Authentication: a client certificate when required per request, then the key.
  clientCertificate,
  // A delegated DPoP-bound token (dpop.enabled) authenticates as its parent key; key auth then passes.
  dpop,
  keyAuth,
  // 7. Key policy: per-key networks and certificate binding, the request signature of a key
  // bound to a signing key (RFC 9421), then the operation's scopes.
  keyPolicy,
  signedRequests,
  scopes,
  // 8. Rate limits and quotas.
  keyLimits,
  // 9. Input validation: parameters and bodies against the route's description, body size limits.
  inputValidation,
  // The forwarded body of a signed request against its signed Content-Digest (last: it sees the body as forwarded).
  signedRequestBody,
  // 10. The response side: a sample of responses compared with the description (report only).
  responseChecks,
  // 11. Record: each key's traffic learned and judged (anomaly detection); it never refuses.
  anomaly,
] as const;
