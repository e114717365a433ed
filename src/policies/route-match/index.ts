import type { Policy } from '../policy.ts';
import { createRouteMatchCheck } from './route-match-check.ts';

/** Stage 5: deny by default once routes are known (an OpenAPI document or route rules). */
export const routeMatch: Policy<never, unknown> = {
  name: 'route-match',
  stage: 5,
  config: null,
  create: (_config, parts) => (parts.routes === null ? null : createRouteMatchCheck(parts.routes.table)),
};
