import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AdminRoute } from './admin-openapi.ts';

export type AdminHandler = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

/**
 * Registers the handler of one OpenAPI operation at its path, with its request schemas (so
 * Fastify validates against the document) and its least role (checked by the auth hook).
 */
export function registerOperation(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, operationId: string, handler: AdminHandler): void {
  const route = routes.get(operationId);
  if (route === undefined) throw new Error(`The admin OpenAPI document has no operation ${operationId}`);
  app.route({ method: route.method as 'GET', url: route.url, schema: route.schema, config: { role: route.role }, handler });
}
