import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.ts';
import type { AdminRoute } from './admin-openapi.ts';
import { registerOperation } from './admin-routes.ts';
import { incidentViews, listIncidents } from './incident-list.ts';

/** Audit entries read per page while looking for incidents. */
const PAGE = 500;

/** `GET /api/incidents` (read role): the leak incidents of the store, as `portcullis incidents list --json` prints them. */
export function registerIncidentRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, store: Store): void {
  registerOperation(app, routes, 'listIncidents', async (request) => {
    const { limit } = request.query as { limit: number };
    const found = await listIncidents((before) => store.listAuditEntries({ before, limit: PAGE }), limit);
    return incidentViews(found, (id) => store.getKeyById(id));
  });
}
