import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { LogController, type FastifyInstance, type FastifyListenOptions } from 'fastify';
import cookie from '@fastify/cookie';
import type { Logger } from 'pino';
import { isLoopbackHost, type AdminConfig } from './admin-config.ts';
import { formatHostPort, type HostPort } from '../http/units.ts';
import { ADMIN_LISTEN, CANNOT_LISTEN_CODES, ListenError } from '../engine/reuse-port-listen.ts';
import { NO_RENEGOTIATION } from '../engine/tls-credentials.ts';
import type { Store } from '../store/store.ts';
import type { GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import type { RequestIds } from '../telemetry/request-id.ts';
import type { AdminRole } from '../store/admin-token-store.ts';
import { healthResponse, type HealthReport } from '../health/health-report.ts';
import { adminClientAddress, createAdminAuthenticator, isLoopback, type AdminAuthenticator } from './admin-auth.ts';
import { adminOpenApi, adminRoutes, type AdminRoute } from './admin-openapi.ts';
import { createAdminErrorHandler, sendAdminProblem } from './admin-problems.ts';
import { registerOperation } from './admin-routes.ts';
import { AdminSessions } from './admin-sessions.ts';
import { registerDashboard } from './dashboard-assets.ts';
import { KeyEventStreams, type KeyEventSource } from './event-stream.ts';
import { registerKeyRoutes } from './key-routes.ts';
import { registerReportRoutes } from './report-routes.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { registerAuditRoutes } from './audit-routes.ts';
import { registerTokenRoutes } from './token-routes.ts';
import { registerDelegatedTokenRoutes } from './delegated-token-routes.ts';
import { registerWebhookRoutes, type WebhookEndpointView } from './webhook-routes.ts';
import { registerIncidentRoutes } from './incident-routes.ts';
import type { WebhookDeliveryStore } from '../store/webhooks/webhook-deliveries.ts';
import { registerOverviewRoutes } from './overview-routes.ts';
import { KeyCatalogue } from './key-catalogue.ts';
import { UsageRollup } from './usage-rollup.ts';
import { AdminTokenActivity } from './token-activity.ts';
import { listNodes, nodeHealth } from './node-health.ts';
import { describeThisNode, type NodeIdentity } from '../health/node-heartbeat.ts';
import type { Operation } from '../routes/operation.ts';

interface ChangeFeedState extends KeyEventSource {
  readonly lastSeq: number;
  readonly caughtUpAt: number | null;
}

export interface AdminDependencies {
  /** The admin listener's settings, and the prefix of the keys it creates. */
  config: { admin: AdminConfig; keys: { prefix: string } };
  store: Store;
  changeFeed: ChangeFeedState;
  metrics: GatewayMetrics;
  requestIds: RequestIds;
  logger: Logger;
  /** This node's health report (the gateway's one health logic, also served on health.listen). */
  health: () => HealthReport;
  /** The built dashboard's folder (tests may point elsewhere). */
  dashboardDirectory?: string;
  /** The gateway's routes, whose required scopes the dashboard suggests for keys. */
  operations?: readonly Operation[];
  /** Whether Redis is reachable right now; null or absent when limits are kept in memory only. */
  redisShared?: (() => boolean) | null;
  /** This node as its heartbeat row names it (a fresh identity when absent). */
  node?: NodeIdentity;
  /** The webhook delivery log; null or absent when this node sends no webhooks. */
  webhookDeliveries?: WebhookDeliveryStore | null;
  /** The configured webhook endpoints (URL and events; their secrets are not read here). */
  webhookEndpoints?: readonly WebhookEndpointView[];
}

/**
 * A strict policy for everything the admin listener serves: scripts, styles and API calls
 * only from this origin, no inline code, no framing, no plugins.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

declare module 'fastify' {
  interface FastifyContextConfig {
    role?: AdminRole | 'public';
  }
}

/**
 * Builds the admin app (not listening): the admin API, its OpenAPI document, metrics, the
 * change-feed event stream and the dashboard. Tests call it directly and use `inject`.
 */
export async function buildAdminApp(dependencies: AdminDependencies): Promise<{ app: FastifyInstance; streams: KeyEventStreams }> {
  const { config, store, changeFeed, logger } = dependencies;
  const protocol = config.admin.tls === null ? 'http' : 'https';
  const app = createAdminFastify(config.admin.tls, logger, dependencies.requestIds);

  const sessions = new AdminSessions({ lifetime: config.admin.sessionLifetime, idleTimeout: config.admin.sessionIdleTimeout });
  const activity = new AdminTokenActivity();
  const auth = createAdminAuthenticator(store, sessions, protocol, activity);
  const streams = new KeyEventStreams(changeFeed, store, sessions);
  const routes = adminRoutes();
  const catalogue = new KeyCatalogue(store, changeFeed);
  const rollup = new UsageRollup(store);

  await app.register(cookie);
  app.decorateRequest('admin', null);
  app.setErrorHandler(createAdminErrorHandler(logger));
  app.setNotFoundHandler((_request, reply) => sendAdminProblem(reply, 'not_found', 'No such admin route.'));
  addAdminHooks(app, config.admin, auth, logger);

  registerKeyRoutes(app, routes, { store, keyPrefix: config.keys.prefix, catalogue, rollup });
  registerReportRoutes(app, routes, store);
  registerAuditRoutes(app, routes, store, catalogue);
  registerTokenRoutes(app, routes, store, activity);
  registerDelegatedTokenRoutes(app, routes, store);
  registerWebhookRoutes(app, routes, dependencies.webhookDeliveries ?? null, dependencies.webhookEndpoints ?? []);
  registerIncidentRoutes(app, routes, store);
  const self = { identity: dependencies.node ?? describeThisNode(), health: () => nodeHealth(dependencies) };
  registerOverviewRoutes(app, routes, { store, catalogue, operations: dependencies.operations ?? [], health: self.health, nodes: () => listNodes(store, self) });
  registerSessionRoutes(app, routes, store, sessions, protocol);
  registerOperation(app, routes, 'streamEvents', async (request, reply) => streams.open(request, reply));
  registerOperation(app, routes, 'openapi', async () => adminOpenApi);
  registerMonitoringRoutes(app, routes, dependencies);
  await registerDashboard(app, dependencies.dashboardDirectory);
  return { app, streams };
}

/** The Fastify instance: HTTPS (no renegotiation; client certificates if asked) when `admin.tls` is set, else HTTP. */
function createAdminFastify(tls: AdminConfig['tls'], logger: Logger, requestIds: RequestIds): FastifyInstance {
  return Fastify({
    loggerInstance: logger.child({ component: 'admin' }),
    // Our own `admin request` line (onResponse in addAdminHooks) replaces Fastify's per-request lines.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    genReqId: (req) => requestIds.forRequest(req.rawHeaders),
    requestIdHeader: false,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    ...(tls === null
      ? {}
      : { https: { cert: readFileSync(tls.cert), key: readFileSync(tls.key), secureOptions: NO_RENEGOTIATION, ...(tls.clientCa === null ? {} : { ca: readFileSync(tls.clientCa), requestCert: true, rejectUnauthorized: true }) } }),
  }) as unknown as FastifyInstance;
}

/**
 * On every request, the security headers, the this-host-only check (unless
 * admin.allowRemote) and the route's role; on every response, one `admin request` log line.
 */
function addAdminHooks(app: FastifyInstance, admin: AdminConfig, auth: AdminAuthenticator, logger: Logger): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.headers({ ...SECURITY_HEADERS, 'x-request-id': request.id });
    // Never trust forwarding headers here: the socket's own address decides.
    if (!admin.allowRemote && !isLoopback(adminClientAddress(request))) {
      return sendAdminProblem(reply, 'admin_client_refused', 'The admin listener only accepts clients on this host (admin.allowRemote is off).');
    }
    const role = request.routeOptions.config.role ?? 'public';
    if (role !== 'public' && !(await auth.authorise(request, reply, role))) return reply;
    return undefined;
  });
  // Optional bodies (revoke, rotate): a POST without one is validated as `{}`.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body !== undefined) request.body = {};
  });
  app.addHook('onResponse', async (request, reply) => {
    const line = { reqId: request.id, method: request.method, route: request.routeOptions.url ?? null, status: reply.statusCode, actor: request.admin?.tokenId ?? null, client: adminClientAddress(request) };
    if (request.method === 'GET' || request.method === 'HEAD') logger.debug(line, 'admin request');
    else logger.info(line, 'admin request');
  });
}

/** Metrics, this node's health report (with the change feed's position) and the probes. */
function registerMonitoringRoutes(app: FastifyInstance, routes: ReadonlyMap<string, AdminRoute>, dependencies: AdminDependencies): void {
  const { metrics } = dependencies;
  registerOperation(app, routes, 'metrics', async (_request, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).header('cache-control', 'no-store').send(body);
  });
  registerOperation(app, routes, 'health', async (_request, reply) => {
    const report = nodeHealth(dependencies);
    reply.code(report.ready ? 200 : 503).header('cache-control', 'no-store');
    return report;
  });
  for (const probe of ['healthz', 'readyz'] as const) {
    registerOperation(app, routes, probe, async (_request, reply) => {
      const { statusCode, body } = healthResponse(dependencies.health(), probe);
      return reply.code(statusCode).type('application/json').header('cache-control', 'no-store').send(body);
    });
  }
}

/**
 * Says, at every start, when the listener reaches beyond this host: an error for plain HTTP
 * (only possible with admin.insecurePlaintextRemote; admin-config.ts refuses it otherwise), a
 * warning otherwise.
 */
function logReach(admin: AdminConfig, listen: HostPort, bound: HostPort, logger: Logger): void {
  if (isLoopbackHost(listen.host)) return;
  const fields = { listen: formatHostPort(bound), allowRemote: admin.allowRemote };
  if (admin.tls === null) {
    logger.error(fields, 'INSECURE: admin.insecurePlaintextRemote is set; the admin listener serves plain HTTP beyond this host, so admin tokens and session cookies cross the network in clear text');
  } else {
    logger.warn(fields, admin.allowRemote ? 'admin listener accepts remote clients' : 'admin listener bound beyond loopback, but refuses remote clients (admin.allowRemote is off)');
  }
}

export interface RunningAdmin {
  address: HostPort;
  url: string;
  close(): Promise<void>;
}

/** Starts the admin listener, which is never the public one. */
export async function startAdminServer(dependencies: AdminDependencies): Promise<RunningAdmin> {
  const listen = dependencies.config.admin.listen as HostPort;
  const { app, streams } = await buildAdminApp(dependencies);
  try {
    // SO_REUSEPORT, like every listener: a new process binds it while this one drains.
    // `exclusive`: in a `--workers` cluster worker, bind here rather than through the supervisor,
    // which would otherwise share one socket between listeners that asked for the same port 0.
    const options: FastifyListenOptions & { reusePort: boolean } = { host: listen.host, port: listen.port, exclusive: true, reusePort: true };
    await app.listen(options);
  } catch (error) {
    await app.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === undefined || !CANNOT_LISTEN_CODES.has(code)) throw error;
    throw new ListenError(ADMIN_LISTEN, listen, code, error, 'or turn the admin listener off with an empty PORTCULLIS_ADMIN_LISTEN');
  }
  const info = (app.server as Server).address() as AddressInfo;
  const address = { host: info.address, port: info.port };
  const url = `${dependencies.config.admin.tls === null ? 'http' : 'https'}://${formatHostPort(address)}`;
  logReach(dependencies.config.admin, listen, address, dependencies.logger);
  return {
    address,
    url,
    async close() {
      streams.closeAll();
      await app.close();
    },
  };
}
