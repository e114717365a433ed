import type { Policy } from '../policy.ts';
import { withReportMode, type ReportOnlySettings } from '../report-only.ts';
import { createApiRouteMatchCheck, createRouteMatchCheck } from './route-match-check.ts';

/** Stage 5: deny by default once routes are known (an OpenAPI document or route rules). */
export const routeMatch: Policy<never, ReportOnlySettings> = {
  name: 'route-match',
  stage: 5,
  config: null,
  create: (config, parts) => withReportMode(parts.apis !== undefined && parts.apis.length > 1 ? createApiRouteMatchCheck(parts.apis.map((api) => api.routes?.table ?? null)) : parts.routes === null ? null : createRouteMatchCheck(parts.routes.table), config, 'route-match'),
};
