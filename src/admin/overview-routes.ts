import type { FastifyInstance } from 'fastify';
import type { Operation } from '../routes/operation.ts';
import type { UsageStore } from '../store/usage-store.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { registerOperation } from './admin-routes.ts';
import type { KeyCatalogue } from './key-catalogue.ts';
import type { ListedNode } from './node-health.ts';
import { buildOverview, SettledSteps, type OverviewUsage } from './overview.ts';
import { windowBounds } from './usage-rollup.ts';
import { scopeSuggestions } from './scope-suggestions.ts';

/** Would-deny rows the dashboard shows at most (the total still counts every one). */
const WOULD_DENY_ROWS = 500;
/** Rows read to make the total: past them, the total is a lower bound, which the page never reaches in practice. */
const WOULD_DENY_TOTAL_ROWS = 100_000;

interface OverviewParts {
  store: OverviewUsage & Pick<UsageStore, 'wouldDenyTotals'>;
  catalogue: KeyCatalogue;
  operations: readonly Operation[];
  health: () => unknown;
  /** Every node sharing the store, this one first (node-health.ts). */
  nodes: () => Promise<ListedNode[]>;
}

/** The overview page's one call (with every node sharing the store), and the scopes the gateway's routes require. */
export function registerOverviewRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, parts: OverviewParts): void {
  const steps = new SettledSteps();
  registerOperation(app, routes, 'getOverview', async (request, reply) => {
    const { window } = request.query as { window: string };
    reply.header('cache-control', 'no-store');
    const [overview, nodes] = await Promise.all([buildOverview({ ...parts, steps }, window, Date.now()), parts.nodes()]);
    return { ...overview, node: parts.health(), nodes };
  });

  registerOperation(app, routes, 'getWouldDenies', async (request, reply) => {
    const { window } = request.query as { window: string };
    const now = Date.now();
    const { from, to } = windowBounds(window, now);
    reply.header('cache-control', 'no-store');
    const [all, snapshot] = await Promise.all([parts.store.wouldDenyTotals(from, to, WOULD_DENY_TOTAL_ROWS), parts.catalogue.snapshot(now)]);
    const iso = (time: number) => new Date(time).toISOString();
    return {
      window, from: iso(from), to: iso(to),
      total: all.reduce((sum, row) => sum + row.requests, 0),
      rows: all.slice(0, WOULD_DENY_ROWS).map((row) => ({ ...row, keyName: row.keyId === null ? null : (snapshot.byId.get(row.keyId)?.name ?? null), firstMinute: iso(row.firstMinute), lastMinute: iso(row.lastMinute) })),
    };
  });

  const suggestions = scopeSuggestions(parts.operations);
  const source = parts.operations.some((operation) => operation.validation !== null) ? 'openapi' : parts.operations.length > 0 ? 'routes' : 'none';
  registerOperation(app, routes, 'listScopes', async () => ({ source, scopes: suggestions }));
}
