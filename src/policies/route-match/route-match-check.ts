import { denial, type Denial } from '../../http/error-catalogue.ts';
import type { Check } from '../request-context.ts';
import { LETTER_CASE_DIFFERS, type PathRoutes, type RouteTable } from '../../routes/route-table.ts';

const ROUTE_NOT_FOUND = denial('route_not_found');
const LETTER_CASE_REFUSED = denial('path_not_canonical', 'A path segment differs only in letter case from one of this API\'s paths; upstream routers disagree on case, so send it spelled as the API spells it.');

/**
 * Stage 5: deny by default. Once routes are known (an OpenAPI document or route rules), a path
 * no route matches is 404 route_not_found and a method its route does not declare is 405
 * method_not_allowed with `Allow`. A path that would match a route only if letter case were
 * ignored is refused (400 path_not_canonical: routers disagree on case; route-table.ts).
 * The matched operation goes on the context for the scope
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
      if (routes === LETTER_CASE_DIFFERS) return LETTER_CASE_REFUSED;
      // The method the request is judged by: a method override stage 1 honoured, or req.method.
      const operation = routes.operations.get(context.method);
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

/**
 * Stage 5 with several APIs: the route table of the API the request matched (`tables[api.index]`);
 * an API without routes forwards every path and method. Null when no API has routes.
 */
export function createApiRouteMatchCheck(tables: ReadonlyArray<RouteTable | null>): Check | null {
  const checks = tables.map((table) => (table === null ? null : createRouteMatchCheck(table)));
  if (checks.every((check) => check === null)) return null;
  return {
    name: 'route-match',
    run(context) {
      // The API match (just before) set the API, or refused the request.
      const check = context.api === null ? null : checks[context.api.index];
      return check === null || check === undefined ? null : check.run(context);
    },
  };
}
