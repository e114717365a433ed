import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';

/** Where `npm run build` (vite) puts the dashboard. */
const DASHBOARD_DIRECTORY = resolve(import.meta.dirname, '..', '..', 'dist', 'dashboard');

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portcullis dashboard</title></head>
<body><h1>The dashboard has not been built</h1><p>Run <code>npm run build</code> in the Portcullis folder, then reload.
The admin API works without it.</p></body></html>`;

/**
 * Serves the built dashboard: `index.html` at `/` (never cached, so a new build is picked up)
 * and content-hashed files under `/assets/` (cached for a year). Without a build, `/` says how
 * to make one.
 */
export async function registerDashboard(app: FastifyInstance, directory = DASHBOARD_DIRECTORY): Promise<void> {
  if (!existsSync(join(directory, 'index.html'))) {
    app.get('/', { config: { role: 'public' } }, async (_request, reply) => reply.type('text/html; charset=utf-8').send(NOT_BUILT));
    return;
  }
  await app.register(fastifyStatic, {
    root: directory,
    prefix: '/',
    index: ['index.html'],
    wildcard: false,
    decorateReply: false,
    cacheControl: false,
    // Every static route is public (no `role` in its config): the page holds no data, and the API it calls checks the session.
    setHeaders(reply, path) {
      reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
