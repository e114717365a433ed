import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import { createKeyParser } from '../keys/key-format.ts';
import type { KeyVerifier } from '../verify/key-verifier.ts';
import { createRequestSanityCheck } from '../policies/request-sanity/request-sanity-check.ts';
import { createKeyAuthCheck } from '../policies/key-auth/key-auth-check.ts';
import { createCredentialReader } from '../policies/key-auth/credential-reader.ts';
import type { Check } from './request-context.ts';
import type { AbuseLimits } from '../limits/abuse-limits.ts';

export interface CheckDependencies {
  verifier: KeyVerifier;
  logger: Logger;
  /** Lockout, address throttling and key limits (src/limits/abuse-limits.ts). */
  abuseLimits?: Pick<AbuseLimits, 'addressGuard' | 'keyLimits'>;
}

/**
 * The pipeline's checks in their run order (docs/architecture.md has the table). Cheap,
 * key-free checks come first so floods cost little; a check that is not configured is left
 * out, so it costs nothing. Each layer adds its check at its numbered place below.
 */
export function buildChecks(config: Config, { verifier, logger, abuseLimits }: CheckDependencies): Check[] {
  const checks: Array<Check | null> = [
    // 1. Sanity: method and request-target form.
    createRequestSanityCheck(),
    // 2. Client address: resolved before the pipeline runs (see pipeline.ts).
    // 3. Network allowlist / denylist (global).
    // 4. Brute-force lockout (and addresses throttled for too many denied requests).
    abuseLimits?.addressGuard ?? null,
    // 5. Route match (and CORS preflights).
    // 6. Authentication.
    createKeyAuthCheck({
      readCredential: createCredentialReader(config.keys),
      parseKey: createKeyParser(config.keys.acceptedPrefixes),
      verifier,
      queryParameter: config.keys.queryParameter,
      onStoreError: (error) => logger.error({ err: error }, 'key store lookup failed'),
    }),
    // 7. Key policy: per-key network allowlist, certificate binding, scopes.
    // 8. Rate limits and quotas.
    abuseLimits?.keyLimits ?? null,
    // 9. Input validation.
  ];
  return checks.filter((check): check is Check => check !== null);
}
