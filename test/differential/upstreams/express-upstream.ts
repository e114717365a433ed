import express, { type NextFunction, type Request, type Response } from 'express';
import { METHODS } from 'node:http';
import type { AddressInfo } from 'node:net';
import { boundFields, colonTemplate, nodeHeaders, nodeLookups, plainQuery, ROUTES, UPSTREAM_HEADER, type UpstreamReport } from './upstream-report.ts';
import type { RunningUpstream } from './running-upstream.ts';

/**
 * Express 5 with its defaults: a case-insensitive router, the "simple" query parser
 * (node:querystring, `&` only), `express.json()` (body-parser, which decodes the body in the
 * charset the Content-Type names, through iconv-lite), and the `method-override` middleware's
 * behaviour, inlined: on a POST, `X-HTTP-Method-Override` (its first comma-separated value, if
 * it is a method Node knows) replaces the method before routing.
 */
function methodOverride(req: Request, _res: Response, next: NextFunction): void {
  const header = req.headers['x-http-method-override'];
  if (req.method === 'POST' && typeof header === 'string' && header !== '') {
    const comma = header.indexOf(',');
    const method = (comma === -1 ? header : header.slice(0, comma)).trim().toUpperCase();
    if (METHODS.includes(method)) req.method = method;
  }
  next();
}

function report(req: Request, route: string | null, error?: string): UpstreamReport {
  const headers = nodeHeaders(req.headers);
  return {
    upstream: 'express',
    route,
    method: req.method,
    wireMethod: (req as Request & { originalMethod?: string }).originalMethod ?? req.method,
    target: req.originalUrl,
    pathParameters: { ...(req.params as Record<string, string> | undefined) },
    query: plainQuery(req.query),
    headers,
    ...nodeLookups(headers),
    body: req.body === undefined ? null : boundFields(req.body),
    ...(error === undefined ? {} : { error }),
  };
}

function send(res: Response, status: number, body: UpstreamReport): void {
  res.status(status).set(UPSTREAM_HEADER, 'express').type('application/json').send(JSON.stringify(body));
}

export async function startExpressUpstream(): Promise<RunningUpstream> {
  const app = express();
  app.use(function rememberMethod(req: Request, _res: Response, next: NextFunction) {
    (req as Request & { originalMethod?: string }).originalMethod = req.method;
    next();
  });
  app.use(methodOverride);
  app.use(express.json());
  for (const route of ROUTES) {
    app[route.method.toLowerCase() as 'get'](colonTemplate(route.template), function runOperation(req: Request, res: Response) {
      send(res, 200, report(req, route.operationId));
    });
  }
  app.use(function noRoute(req: Request, res: Response) {
    send(res, 404, report(req, null));
  });
  // Express tells an error handler by its four parameters, so `next` stays although unused.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  app.use(function refused(error: { status?: number; message: string }, req: Request, res: Response, next: NextFunction) {
    send(res, error.status ?? 500, report(req, null, error.message));
  });
  const server = await new Promise<ReturnType<typeof app.listen>>((resolve, reject) => {
    const listening = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(listening)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    name: 'express',
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
