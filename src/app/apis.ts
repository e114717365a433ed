import type { Logger } from 'pino';
import { ConfigError } from '../config/config-error.ts';
import type { UpstreamConfig } from '../engine/upstream-config.ts';
import type { ApiDefinition } from '../policies/policy.ts';
import type { Operation } from '../routes/operation.ts';
import { apisOf, type ApiSettings } from './apis-config.ts';
import type { Config } from './config.ts';
import { loadRoutes, logRouteSummary, type LoadedRoutes } from './routes.ts';

/** One API as the process runs it: its match and routes (for the checks) and its upstream (for the proxy). */
export interface LoadedApi extends ApiDefinition {
  readonly routes: LoadedRoutes | null;
  readonly upstream: UpstreamConfig;
}

/**
 * Every API of the configuration (`apis`, or the implicit `default`), its routes compiled. A
 * problem in an API's document or rules is a ConfigError naming the API's field
 * (`apis.1.openapi.file: …`).
 */
export function loadApis(config: Config, logger: Logger): LoadedApi[] {
  const several = config.apis.length > 0;
  return apisOf(config).map((api, index) => {
    const routes = loadApiRoutes(api, index, several);
    logRouteSummary(several ? logger.child({ api: api.name }) : logger, routes);
    return { name: api.name, index, hosts: api.hosts, pathPrefix: api.pathPrefix, stripPrefix: api.stripPrefix, routes, upstream: api.upstream };
  });
}

/** One API's routes (loadRoutes); with `apis`, a problem names the API's field (`apis.1.openapi.file: …`). */
export function loadApiRoutes(api: ApiSettings, index: number, several: boolean): LoadedRoutes | null {
  try {
    return loadRoutes(api.routes, api.reportOnly);
  } catch (error) {
    if (several && error instanceof ConfigError) throw new ConfigError(error.problems.map((problem) => `apis.${index}.${problem}`));
    throw error;
  }
}

/** Every API's operations together (the admin API's scope suggestions); undefined when no API has routes. */
export function operationsOf(apis: readonly LoadedApi[]): readonly Operation[] | undefined {
  const operations = apis.flatMap((api) => api.routes?.operations ?? []);
  return apis.every((api) => api.routes === null) ? undefined : operations;
}
