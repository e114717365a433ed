import type { Logger } from 'pino';
import { ConfigError } from '../config/config-error.ts';
import { compileCorsPolicy, type CorsOptions, type CorsPolicy } from '../policies/cors/cors-policy.ts';
import type { LoadedRoutes } from './load-routes.ts';

/** The CORS policy, or null when `cors.allowedOrigins` is empty (CORS off). Unsafe combinations are a ConfigError. */
export function compileCors(options: CorsOptions): CorsPolicy | null {
  if (options.allowedOrigins.length === 0) return null;
  try {
    return compileCorsPolicy(options);
  } catch (error) {
    throw new ConfigError([(error as Error).message]);
  }
}

/** Says at start what the route layer does, and what it cannot check. */
export function logRouteSummary(logger: Logger, routes: LoadedRoutes | null): void {
  if (routes === null) {
    logger.info('no OpenAPI document or route rules: every path and method is forwarded (with a valid key); see docs/security.md');
    return;
  }
  logger.info({ operations: routes.table.size }, 'routes compiled: other paths get 404, other methods 405');
  for (const parameter of routes.unchecked) logger.warn({ parameter }, 'parameter not validated: its serialisation is not supported');
}
