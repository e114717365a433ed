import { denial, type Denial } from '../../http/error-catalogue.ts';
import type { Check } from '../request-context.ts';
import type { PathRoutes, RouteTable } from '../../routes/route-table.ts';

const ROUTE_NOT_FOUND = denial('route_not_found');

/**
 * Stage 5: deny by default. Once routes are known (an OpenAPI document or route rules), a path
 * no route matches is 404 route_not_found and a method its route does not declare is 405
 * method_not_allowed with `Allow`. The matched operation goes on the context for the scope
 * check (stage 7) and input validation (stage 9).
 */
export function createRouteMatchCheck(table: RouteTable): Check {
  // One 405 per path template, made on first use (bounded by the number of templates).
  const methodNotAllowed = new Map<PathRoutes, Denial>();
  return {
    name: 'route-match',
    run(context) {
      const captures: string[] = [];
      const routes = table.match(context.path, captures);
      if (routes === null) return ROUTE_NOT_FOUND;
      const operation = routes.operations.get(context.req.method as string);
      if (operation === undefined) {
        let refused = methodNotAllowed.get(routes);
        if (refused === undefined) {
          refused = denial('method_not_allowed', 'The route does not accept this method.', [['allow', routes.allow]]);
          methodNotAllowed.set(routes, refused);
        }
        return refused;
      }
      context.operation = operation;
      context.pathParameters = captures;
      return null;
    },
  };
}
