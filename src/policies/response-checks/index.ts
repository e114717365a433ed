import type { Policy } from '../policy.ts';
import { createResponseChecks, type ResponseCheckSettings } from './response-checks-check.ts';

/**
 * What response checks read from the configuration: `openapi.responseChecks` (the API's own,
 * with `apis`; the options are the openapi fragment's, src/app/routes-config.ts).
 */
interface ResponseChecksNeeds {
  openapi: { responseChecks: ResponseCheckSettings };
  apis: ReadonlyArray<{ routes: { openapi: { responseChecks: ResponseCheckSettings } } }>;
}

/**
 * Stage 10, the response side: upstream responses compared with the OpenAPI description, in
 * report mode (response-checks-check.ts). In the pipeline only when some API samples responses
 * and the process gives it somewhere to report (`parts.responseFindings`).
 */
export const responseChecks: Policy<never, ResponseChecksNeeds> = {
  name: 'response-checks',
  stage: 10,
  config: null,
  create(config, parts) {
    const findings = parts.responseFindings;
    if (findings === undefined) return null;
    const settings = config.apis.length > 0 ? config.apis.map((api) => api.routes.openapi.responseChecks) : [config.openapi.responseChecks];
    // An API without an OpenAPI document has no documented responses: nothing to sample.
    const apis = settings.map((each, index) => (apiHasResponses(parts.apis?.[index]?.routes ?? (index === 0 ? parts.routes : null)) ? each : null));
    return createResponseChecks({ apis, findings });
  },
};

function apiHasResponses(routes: { operations: ReadonlyArray<{ responses?: unknown }> } | null): boolean {
  return routes !== null && routes.operations.some((operation) => operation.responses !== undefined);
}
