import { denial } from '../../http/error-catalogue.ts';
import { ApiMatcher, NO_API, stripPathPrefix } from '../../routes/api-matcher.ts';
import type { ApiDefinition } from '../policy.ts';
import type { Check } from '../request-context.ts';

const API_NOT_FOUND = denial('api_not_found');

/**
 * Stage 5: which API the request is for, by its host name and canonical path (several APIs,
 * `apis`); none is 404 api_not_found, deny by default. The host is the request's one `Host`
 * header as stage 1 accepted it (a request-target in absolute form, a repeated or invalid Host
 * were refused there) and as the upstream receives it in `X-Forwarded-Host`; a client's own
 * `X-Forwarded-Host` or `Forwarded` never reaches this check (the header scan drops them), so
 * it cannot steer a request to another API. With `stripPrefix`, the API's prefix is removed
 * from the path its routes are matched against and from the path sent upstream.
 *
 * No check at all when the only API matches every request: the engine starts every request
 * with it (`RequestContext.api`).
 */
export function createApiMatchCheck(apis: readonly ApiDefinition[]): Check | null {
  if (apis.length === 0) return null;
  if (apis.length === 1 && matchesEverything(apis[0] as ApiDefinition)) return null;
  const matcher = new ApiMatcher(apis);
  return {
    name: 'api-match',
    run(context) {
      const host = context.host;
      // Stage 1 refused a repeated Host; a symbol here is never matched against.
      const index = matcher.match(typeof host === 'string' ? host : undefined, context.path);
      if (index === NO_API) return API_NOT_FOUND;
      const api = apis[index] as ApiDefinition;
      context.api = api;
      if (api.stripPrefix && api.pathPrefix !== '') {
        context.path = stripPathPrefix(context.path, api.pathPrefix);
        context.upstreamPath = stripPathPrefix(context.upstreamPath, api.pathPrefix);
      }
      return null;
    },
  };
}

function matchesEverything(api: ApiDefinition): boolean {
  return api.hosts.length === 0 && api.pathPrefix === '';
}
