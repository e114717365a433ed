import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import { createKeyParser } from '../keys/key-format.ts';
import type { KeyVerifier } from '../verify/key-verifier.ts';
import { VerifiedKeyMemo } from '../verify/verified-key-memo.ts';
import { createRequestSanityCheck } from '../policies/request-sanity/request-sanity-check.ts';
import { createKeyAuthCheck } from '../policies/key-auth/key-auth-check.ts';
import { createNetworkAccessCheck } from '../policies/network-access/network-access-check.ts';
import { createClientCertificateCheck } from '../policies/client-certificate/client-certificate-check.ts';
import { createCertificateIdentity } from '../policies/key-auth/certificate-identity.ts';
import { createKeyPolicyCheck } from '../policies/key-policy/key-policy-check.ts';
import { createPathCanonicalCheck } from '../policies/path-canonical/path-canonical-check.ts';
import { createCorsCheck } from '../policies/cors/cors-check.ts';
import type { CorsPolicy } from '../policies/cors/cors-policy.ts';
import { createRouteMatchCheck } from '../policies/route-match/route-match-check.ts';
import { createScopeCheck } from '../policies/scopes/scope-check.ts';
import { createInputValidationCheck } from '../policies/input-validation/input-validation-check.ts';
import type { LoadedRoutes } from './load-routes.ts';
import type { Check } from '../policies/request-context.ts';
import type { AbuseLimits } from './abuse-limits.ts';

export interface CheckDependencies {
  verifier: KeyVerifier;
  logger: Logger;
  /** Lockout, address throttling and key limits (src/limits/abuse-limits.ts). */
  abuseLimits?: Pick<AbuseLimits, 'addressGuard' | 'keyLimits'>;
  /** The compiled route table (routes/load-routes.ts); null when no routes are configured. */
  routes?: LoadedRoutes | null;
  /** The compiled CORS policy; null when CORS is off. */
  cors?: CorsPolicy | null;
}

/**
 * The pipeline's checks in their run order (docs/architecture.md has the table). Cheap,
 * key-free checks come first so floods cost little; a check that is not configured is left
 * out, so it costs nothing. Each layer adds its check at its numbered place below.
 */
export function buildChecks(config: Config, { verifier, logger, abuseLimits, routes = null, cors = null }: CheckDependencies): Check[] {
  const onStoreError = (error: unknown) => logger.error({ err: error }, 'key store lookup failed');
  const checks: Array<Check | null> = [
    // 1. Sanity: method and request-target form; then the one canonical path.
    createRequestSanityCheck(),
    createPathCanonicalCheck(config.paths.nonCanonical),
    // 2. Client address: resolved before the pipeline runs (see pipeline.ts).
    // 3. Network allowlist / denylist (global).
    createNetworkAccessCheck(config.network),
    // 4. Brute-force lockout (and addresses throttled for too many denied requests).
    abuseLimits?.addressGuard ?? null,
    // 5. CORS preflights (answered here), then route match (deny by default once routes are known).
    cors === null ? null : createCorsCheck(cors),
    routes === null ? null : createRouteMatchCheck(routes.table),
    // 6. Authentication: a client certificate when required per request, then the key (or the certificate as identity).
    config.tls?.clientCa != null && config.tls.clientAuth === 'request' ? createClientCertificateCheck() : null,
    createKeyAuthCheck({
      parseKey: createKeyParser(config.keys.acceptedPrefixes),
      verifier,
      queryParameter: config.keys.queryParameter,
      onStoreError,
      memo: config.cache.maxVerifiedKeys > 0 ? new VerifiedKeyMemo(config.cache.maxVerifiedKeys) : null,
      onMissingKey: config.tls?.certificateIdentity === true ? createCertificateIdentity(verifier, onStoreError) : undefined,
    }),
    // 7. Key policy: per-key network allowlist, certificate binding, scopes.
    createKeyPolicyCheck((keyId, error) => logger.error({ err: error, keyId }, 'key has an invalid allowed CIDR; refusing every request with it')),
    routes !== null && routes.operations.some((operation) => operation.scopes !== null) ? createScopeCheck() : null,
    // 8. Rate limits and quotas.
    abuseLimits?.keyLimits ?? null,
    // 9. Input validation: parameters and bodies against the route's description, body size limits.
    createInputValidationCheck(config.requests),
  ];
  return checks.filter((check): check is Check => check !== null);
}
