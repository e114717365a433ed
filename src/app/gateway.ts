import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import { formatHostPort, type HostPort } from '../http/units.ts';
import { openKeyStore } from '../store/open-key-store.ts';
import type { Store } from '../store/store.ts';
import type { ChangeSubscription } from '../store/key-store.ts';
import { describeStoreLocation } from '../store/store-location.ts';
import { assessHealth, type GatewayHealthSnapshot, type HealthReport } from '../health/health-report.ts';
import { startHealthServer, type HealthServer } from '../health/health-server.ts';
import { KeyVerifier } from '../verify/key-verifier.ts';
import { ChangeFeedFollower } from '../verify/change-feed-follower.ts';
import { UsageRecorder } from '../telemetry/usage-recorder.ts';
import { GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import { RequestTelemetry } from '../engine/request-telemetry.ts';
import { RequestIds } from '../telemetry/request-id.ts';
import { createKeyParser } from '../keys/key-format.ts';
import { ADMIN_TOKEN_PREFIX } from '../keys/mint-key.ts';
import { startAdminServer, type RunningAdmin } from '../admin/admin-server.ts';
import { buildChecks } from './pipeline-checks.ts';
import { createPipeline } from '../engine/pipeline.ts';
import { GatewayServer } from '../engine/gateway-server.ts';
import { UpstreamProxy } from '../engine/upstream-proxy.ts';
import { startExampleUpstream } from './example-upstream.ts';
import { createClientAddressResolver } from '../engine/client-address.ts';
import { InvalidCidrError } from '../http/cidr.ts';
import { ConfigError } from '../config/config-error.ts';
import { CertificateReloader, listenerTlsOptions, readListenerCredentials, upstreamConnectOptions } from '../engine/tls-credentials.ts';
import { createHttpsRedirectServer } from '../engine/https-redirect.ts';
import { startAbuseLimits } from './abuse-limits.ts';
import { loadRoutes } from './load-routes.ts';
import { compileCors, logRouteSummary } from './route-setup.ts';

export interface RunningGateway {
  address: HostPort;
  upstreamUrl: URL;
  usingExampleUpstream: boolean;
  /** `https` when the listener speaks TLS. */
  protocol: 'http' | 'https';
  /** The plaintext redirect listener's address, when there is one. */
  redirectAddress: HostPort | null;
  /** SIGHUP: reads the TLS files again; true when a new certificate was applied. */
  reloadCertificates(): boolean;
  store: Store;
  metrics: GatewayMetrics;
  /** The admin listener (admin API, metrics, dashboard), or null when `admin.listen` is off. */
  admin: RunningAdmin | null;
  verifier: KeyVerifier;
  follower: ChangeFeedFollower;
  /** Where `/healthz` and `/readyz` are served (`health.listen`), null when off. */
  healthAddress: HostPort | null;
  /** This node's health, as /healthz and /readyz report it. */
  health(): HealthReport;
  /** Writes aggregated usage (last use, quota counts) now instead of at the next interval. */
  flushUsage(): Promise<void>;
  /** SIGTERM behaviour: stop accepting, drain, flush usage, release everything. */
  stop(): Promise<void>;
}

export interface GatewayDependencies {
  /** A store to use instead of opening `config.store` (tests wrap one to observe it). */
  store?: Store;
  reusePort?: boolean;
  /** Serve `health.listen` from this process (false in workers: the supervisor serves it). */
  serveHealth?: boolean;
  /**
   * Serve the admin listener from this process (default true). With `--workers N`, only the
   * first worker serves it: N processes cannot all bind `admin.listen`.
   */
  serveAdmin?: boolean;
}

/** Builds every part from a validated config and starts listening. */
export async function startGateway(config: Config, logger: Logger, dependencies: GatewayDependencies = {}): Promise<RunningGateway> {
  // Routes and CORS compile first: a bad document or policy exits 2 before anything opens.
  const routes = loadRoutes(config);
  const cors = compileCors(config.cors);
  logRouteSummary(logger, routes);
  const store = dependencies.store ?? (await openKeyStore(config.store, { onConnectionError: (error) => logger.debug({ err: error }, 'key store connection lost') }));
  await store.migrate();
  let phase: GatewayHealthSnapshot['phase'] = 'starting';

  let exampleUpstream: Server | null = null;
  let upstreamUrl = config.upstream.url;
  if (upstreamUrl === null) {
    const example = await startExampleUpstream();
    exampleUpstream = example.server;
    upstreamUrl = example.url;
  }

  const verifier = new KeyVerifier(store, { ...config.cache, staleFor: config.changeFeed.staleFor });
  const follower = new ChangeFeedFollower(store, verifier, {
    pollInterval: config.changeFeed.pollInterval,
    // Polls start after `metrics` exists (follower.start() below).
    onError: (error) => {
      metrics.changeFeedPollErrors.inc();
      logger.debug({ err: error }, 'change feed poll failed; retrying');
    },
    onReachabilityChange: (reachable, error) => {
      if (reachable) logger.info('key store reachable again; change feed caught up');
      else logger.warn({ err: error, staleFor: config.changeFeed.staleFor }, 'key store unreachable: serving known keys from memory for changeFeed.staleFor, unknown keys get 503');
    },
    onLogReset: (previousSeq, latestSeq) => logger.warn({ previousSeq, latestSeq }, 'key event log is behind this node (restored or replaced database): dropped cached keys'),
    onApplied: (seq, count) => logger.debug({ seq, count }, 'applied key changes'),
  });
  const metrics = new GatewayMetrics({
    keyCache: () => verifier.stats,
    changeFeedCaughtUpAt: () => follower.caughtUpAt,
    changeFeedPosition: () => follower.lastSeq,
  });
  await follower.start();
  const subscription: ChangeSubscription | null = store.subscribeToChanges ? await store.subscribeToChanges(() => follower.wake()) : null;

  const health = (): HealthReport => {
    const feed = follower.state;
    return assessHealth({
      phase,
      store: { reachable: feed.reachable, lastContactAt: feed.lastContactAt, freshUntil: verifier.freshUntil },
      changeFeed: { lastSeq: feed.lastSeq, notifications: subscription === null ? 'not-used' : subscription.listening ? 'listening' : 'reconnecting' },
    }, Date.now());
  };

  const usage = new UsageRecorder(store, {
    retention: config.usage.retention,
    onError: (error) => {
      metrics.usageFlushErrors.inc();
      logger.warn({ err: error }, 'usage flush failed; will retry');
    },
  });
  usage.start(config.usage.flushInterval);

  // Everything that reads files or compiles config comes before anything listens, so a bad
  // CIDR, PEM or CA stops the start with exit status 2.
  let checks: ReturnType<typeof buildChecks>;
  let resolveClient: ReturnType<typeof createClientAddressResolver>;
  const abuseLimits = await startAbuseLimits(config, store, logger);
  // The limiter backend's state is a metric: memory is always up; Redis is up while shared.
  const limiterBackend = abuseLimits.backend as { shared?: boolean };
  if (typeof limiterBackend.shared === 'boolean') metrics.addLimiterBackend('redis', () => limiterBackend.shared === true);
  metrics.addLimiterBackend('memory', () => true);
  try {
    checks = buildChecks(config, { verifier, logger, abuseLimits, routes, cors });
    resolveClient = createClientAddressResolver({ trustProxy: config.network.trustProxy, header: config.network.clientAddressHeader });
  } catch (error) {
    if (error instanceof InvalidCidrError) throw new ConfigError([error.message]);
    throw error;
  }
  const tls = config.tls;
  const credentials = tls === null ? null : readListenerCredentials(tls);
  const upstreamTls = upstreamUrl.protocol === 'https:' ? upstreamConnectOptions(config.upstream.tls) : undefined;
  if (upstreamTls?.rejectUnauthorized === false) {
    logger.error({ upstream: upstreamUrl.href }, 'INSECURE: upstream.tls.insecureSkipVerify is set; the upstream certificate and host name are NOT verified, so anyone on the network path can read and change this traffic');
  }

  const protocol = tls === null ? 'http' : 'https';
  const isKey = createKeyParser([...config.keys.acceptedPrefixes, ADMIN_TOKEN_PREFIX]);
  const requestIds = new RequestIds(undefined, (value) => isKey(value) !== null);
  const telemetry = new RequestTelemetry({ metrics, usage, logger, accessLog: config.log.access });
  const proxy = new UpstreamProxy({ ...config.upstream, url: upstreamUrl, ...(upstreamTls ? { connect: upstreamTls } : {}) });
  const handler = createPipeline({ checks, proxy, keyHeaders: new Set(config.keys.headers), protocol, resolveClient, forwardedHeader: config.network.forwardedHeader, ownsCors: cors !== null, telemetry, requestIds, logger, onDenial: abuseLimits.onDenial });
  const server = new GatewayServer(handler, {
    listen: config.listen,
    ...config.server,
    reusePort: dependencies.reusePort ?? false,
    tls: tls === null || credentials === null ? null : listenerTlsOptions(tls, credentials),
    hsts: tls === null || tls.hstsMaxAge === 0 ? null : `max-age=${tls.hstsMaxAge}`,
  });
  server.server.on('tlsClientError', (error: Error) => logger.debug({ err: error }, 'TLS handshake failed'));
  const reloader = tls === null || credentials === null
    ? null
    : new CertificateReloader(tls, credentials, (fresh) => {
        server.setSecureContext(listenerTlsOptions(tls, fresh));
        logger.info({ cert: tls.cert }, 'TLS certificate reloaded; new connections use it');
      }, (error) => logger.error({ err: error }, 'TLS certificate reload failed; still serving the previous certificate'));
  let admin: RunningAdmin | null = null;
  let healthServer: HealthServer | null = null;
  let address: HostPort;
  try {
    // The admin listener first: a gateway whose admin address is taken never serves traffic.
    if (config.admin.listen !== null && dependencies.serveAdmin !== false) admin = await startAdminServer({ config, store, changeFeed: follower, metrics, requestIds, logger, health });
    address = await server.listen();
    phase = 'serving';
    if (config.health.listen !== null && dependencies.serveHealth !== false) healthServer = await startHealthServer(config.health.listen, health);
  } catch (error) {
    // Release what has started, so a failed start leaves nothing running in this process.
    await server.drain(0).catch(() => {});
    await admin?.close();
    await subscription?.close();
    await follower.stop();
    await usage.stop().catch(() => {});
    await abuseLimits.stop();
    await proxy.close();
    if (exampleUpstream !== null) await new Promise((resolve) => exampleUpstream.close(resolve));
    if (dependencies.store === undefined) await store.close();
    throw error;
  }
  if (admin !== null) logger.info({ listen: formatHostPort(admin.address), url: admin.url }, 'admin listening');
  if (reloader !== null && tls?.watch === true) reloader.watch();
  let redirect: Server | null = null;
  let redirectAddress: HostPort | null = null;
  if (tls?.redirectListen != null) {
    const redirectServer = createHttpsRedirectServer(address.port);
    redirect = redirectServer;
    const wanted = tls.redirectListen;
    await new Promise<void>((resolve, reject) => {
      redirectServer.once('error', reject);
      redirectServer.listen(wanted.port, wanted.host, () => resolve());
    });
    const bound = redirectServer.address();
    if (bound !== null && typeof bound !== 'string') redirectAddress = { host: bound.address, port: bound.port };
  }
  logger.info({ listen: formatHostPort(address), protocol, upstream: upstreamUrl.href, store: describeStoreLocation(config.store), ...(redirectAddress ? { redirect: formatHostPort(redirectAddress) } : {}), ...(healthServer && { health: formatHostPort(healthServer.address) }) }, 'gateway listening');

  let stopping: Promise<void> | undefined;
  return {
    address,
    upstreamUrl,
    usingExampleUpstream: exampleUpstream !== null,
    protocol,
    redirectAddress,
    reloadCertificates: () => reloader?.reload() ?? false,
    store,
    metrics,
    admin,
    verifier,
    follower,
    healthAddress: healthServer?.address ?? null,
    health,
    flushUsage: () => Promise.all([usage.flush(), abuseLimits.flush()]).then(() => undefined),
    stop() {
      stopping ??= (async () => {
        reloader?.close();
        if (redirect !== null) {
          const closing = new Promise((resolve) => redirect.close(resolve));
          redirect.closeAllConnections();
          await closing;
        }
        const { forced } = await server.drain(config.server.drainTimeout);
        if (forced > 0) logger.warn({ connections: forced }, 'drain time ran out; closed remaining connections');
        await admin?.close();
        await healthServer?.close();
        await subscription?.close();
        await follower.stop();
        await usage.stop().catch((error: unknown) => logger.error({ err: error }, 'final usage flush failed'));
        await abuseLimits.stop();
        await proxy.close();
        if (exampleUpstream !== null) await new Promise((resolve) => exampleUpstream.close(resolve));
        await store.close();
      })();
      return stopping;
    },
  };
}
