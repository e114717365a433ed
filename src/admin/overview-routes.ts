import type { FastifyInstance } from 'fastify';
import type { Operation } from '../routes/operation.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { registerOperation } from './admin-routes.ts';
import type { KeyCatalogue } from './key-catalogue.ts';
import { buildOverview, SettledSteps, type OverviewUsage } from './overview.ts';
import { scopeSuggestions } from './scope-suggestions.ts';

interface OverviewParts {
  store: OverviewUsage;
  catalogue: KeyCatalogue;
  operations: readonly Operation[];
  health: () => unknown;
}

/** The overview page's one call, and the scopes the gateway's routes require. */
export function registerOverviewRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, parts: OverviewParts): void {
  const steps = new SettledSteps();
  registerOperation(app, routes, 'getOverview', async (request, reply) => {
    const { window } = request.query as { window: string };
    reply.header('cache-control', 'no-store');
    return { ...(await buildOverview({ ...parts, steps }, window, Date.now())), node: parts.health() };
  });

  const suggestions = scopeSuggestions(parts.operations);
  const source = parts.operations.some((operation) => operation.validation !== null) ? 'openapi' : parts.operations.length > 0 ? 'routes' : 'none';
  registerOperation(app, routes, 'listScopes', async () => ({ source, scopes: suggestions }));
}
