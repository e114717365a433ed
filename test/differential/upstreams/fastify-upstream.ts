import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { AddressInfo } from 'node:net';
import { boundFields, colonTemplate, nodeHeaders, nodeLookups, plainQuery, ROUTES, UPSTREAM_HEADER, type UpstreamReport } from './upstream-report.ts';
import type { RunningUpstream } from './running-upstream.ts';

/**
 * Fastify 5 with its defaults: a case-sensitive router (find-my-way), fast-querystring for the
 * query (`&` only), its own JSON parser (UTF-8 whatever the charset says). No method override:
 * Fastify has none.
 */
function report(request: FastifyRequest, route: string | null, error?: string): UpstreamReport {
  const headers = nodeHeaders(request.headers);
  return {
    upstream: 'fastify',
    route,
    method: request.method,
    wireMethod: request.raw.method ?? '',
    target: request.raw.url ?? '',
    pathParameters: { ...(request.params as Record<string, string> | undefined) },
    query: plainQuery(request.query),
    headers,
    ...nodeLookups(headers),
    body: request.body === undefined ? null : boundFields(request.body),
    ...(error === undefined ? {} : { error }),
  };
}

function send(reply: FastifyReply, status: number, body: UpstreamReport): void {
  void reply.code(status).header(UPSTREAM_HEADER, 'fastify').header('content-type', 'application/json').send(JSON.stringify(body));
}

export async function startFastifyUpstream(): Promise<RunningUpstream> {
  const app = Fastify({ logger: false });
  for (const route of ROUTES) {
    app.route({
      method: route.method as 'GET',
      url: colonTemplate(route.template),
      handler: function runOperation(request, reply) {
        send(reply, 200, report(request, route.operationId));
      },
    });
  }
  app.setNotFoundHandler(function noRoute(request, reply) {
    send(reply, 404, report(request, null));
  });
  app.setErrorHandler(function refused(error: { statusCode?: number; message: string }, request, reply) {
    send(reply, error.statusCode ?? 500, report(request, null, error.message));
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { name: 'fastify', url: `http://127.0.0.1:${port}`, stop: () => app.close() };
}
