import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import { createKeyParser } from '../keys/key-format.ts';
import type { KeyVerifier } from '../verify/key-verifier.ts';
import { createRequestSanityCheck } from '../policies/request-sanity/request-sanity-check.ts';
import { createKeyAuthCheck } from '../policies/key-auth/key-auth-check.ts';
import { createCredentialReader } from '../policies/key-auth/credential-reader.ts';
import { createPathCanonicalCheck } from '../policies/path-canonical/path-canonical-check.ts';
import { createCorsCheck } from '../policies/cors/cors-check.ts';
import type { CorsPolicy } from '../policies/cors/cors-policy.ts';
import { createRouteMatchCheck } from '../policies/route-match/route-match-check.ts';
import { createScopeCheck } from '../policies/scopes/scope-check.ts';
import { createInputValidationCheck } from '../policies/input-validation/input-validation-check.ts';
import type { LoadedRoutes } from '../routes/load-routes.ts';
import type { Check } from './request-context.ts';

export interface CheckDependencies {
  verifier: KeyVerifier;
  logger: Logger;
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
export function buildChecks(config: Config, { verifier, logger, routes = null, cors = null }: CheckDependencies): Check[] {
  const checks: Array<Check | null> = [
    // 1. Sanity: method and request-target form; then the one canonical path.
    createRequestSanityCheck(),
    createPathCanonicalCheck(config.paths.nonCanonical),
    // 2. Client address: resolved before the pipeline runs (see pipeline.ts).
    // 3. Network allowlist / denylist (global).
    // 4. Brute-force lockout.
    // 5. CORS preflights (answered here), then route match (deny by default once routes are known).
    cors === null ? null : createCorsCheck(cors),
    routes === null ? null : createRouteMatchCheck(routes.table),
    // 6. Authentication.
    createKeyAuthCheck({
      readCredential: createCredentialReader(config.keys),
      parseKey: createKeyParser(config.keys.acceptedPrefixes),
      verifier,
      queryParameter: config.keys.queryParameter,
      onStoreError: (error) => logger.error({ err: error }, 'key store lookup failed'),
    }),
    // 7. Key policy: per-key network allowlist, certificate binding, scopes.
    routes !== null && routes.operations.some((operation) => operation.scopes !== null) ? createScopeCheck() : null,
    // 8. Rate limits and quotas.
    // 9. Input validation: parameters and bodies against the route's description, body size limits.
    createInputValidationCheck(config.requests),
  ];
  return checks.filter((check): check is Check => check !== null);
}
