import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { startAdminServer, type RunningAdmin } from '../admin/admin-server.ts';
import { ConfigError } from '../config/config-error.ts';
import { createClientAddressResolver } from '../engine/client-address.ts';
import { GatewayServer } from '../engine/gateway-server.ts';
import { createHttpsRedirectServer } from '../engine/https-redirect.ts';
import { createPipeline, type PipelineParts } from '../engine/pipeline.ts';
import { WouldDenyReport } from '../engine/would-deny-report.ts';
import { RequestTelemetry } from '../engine/request-telemetry.ts';
import { CertificateReloader, listenerTlsOptions, readListenerCredentials, upstreamConnectOptions } from '../engine/tls-credentials.ts';
import { UpstreamMonitor } from '../engine/upstream-monitor.ts';
import { UpstreamProxy } from '../engine/upstream-proxy.ts';
import { ApiUpstreams, originsFrom } from '../engine/api-upstreams.ts';
import { WebSocketTunnels, type TunnelTarget } from '../engine/websocket-tunnel.ts';
import type { Upstream } from '../engine/pipeline.ts';
import { addressIsTaken, listenSharingPort, REDIRECT_LISTEN } from '../engine/reuse-port-listen.ts';
import { assessHealth, type GatewayHealthSnapshot, type HealthReport } from '../health/health-report.ts';
import { startHealthServer } from '../health/health-server.ts';
import { InvalidCidrError } from '../http/cidr.ts';
import { formatHostPort, type HostPort } from '../http/units.ts';
import { createKeyParser } from '../keys/key-format.ts';
import { ADMIN_TOKEN_PREFIX } from '../keys/mint-key.ts';
import type { PolicyParts } from '../policies/policy.ts';
import type { Operation } from '../routes/operation.ts';
import { reportedCodes } from '../policies/report-only.ts';
import { RESPONSE_FINDING_CODES } from '../policies/response-findings.ts';
import type { Check } from '../policies/request-context.ts';
import type { ChangeSubscription } from '../store/key-store.ts';
import { openKeyStore } from '../store/open-key-store.ts';
import { describeStoreLocation, isInMemoryLocation, isPostgresLocation } from '../store/store-location.ts';
import type { Store } from '../store/store.ts';
import { REFUSALS_BEFORE_DROP } from '../store/store-errors.ts';
import type { StoreWrites } from '../store/usage-writes.ts';
import { NodeHeartbeatWriter, describeThisNode, type NodeIdentity } from '../health/node-heartbeat.ts';
import { nodeHealth } from '../admin/node-health.ts';
import { StoreWriteThread } from '../store/write-thread/store-write-thread.ts';
import { ChangeFeedThread } from '../store/feed-thread/change-feed-thread.ts';
import { ApiOutcomes, GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import { RateLimitedLog } from '../telemetry/rate-limited-log.ts';
import { RequestIds } from '../telemetry/request-id.ts';
import { UsageRecorder } from '../telemetry/usage-recorder.ts';
import { warmKeyCache } from '../verify/key-cache-warmup.ts';
import { ChangeFeedFollower } from '../verify/change-feed-follower.ts';
import { TokenKeyRing } from '../verify/dpop/token-key-ring.ts';
import { KeyVerifier } from '../verify/key-verifier.ts';
import { apisOf } from './apis-config.ts';
import type { Config } from './config.ts';
import { startExampleUpstream } from './example-upstream.ts';
import { startLimiter, type Limiter } from './limiter.ts';
import { PIPELINE_POLICIES } from './pipeline-policies.ts';
import { ProcessParts } from './process-parts.ts';
import { startWebhooks } from '../webhooks/start-webhooks.ts';
import { loadApis, operationsOf, type LoadedApi } from './apis.ts';

export interface RunningGateway {
  address: HostPort;
  /** The upstream's (first) origin. */
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
  /**
   * SIGTERM behaviour: not ready at once (`/readyz` 503, phase `draining`), then stop
   * accepting, drain, flush usage, release everything.
   */
  stop(): Promise<void>;
}

export interface GatewayDependencies {
  /** A store to use instead of opening `config.store` (tests wrap one to observe it). */
  store?: Store;
  /**
   * Set in a worker of `--workers N`: how the workers share the public port. `reuse-port`:
   * each worker binds it itself with SO_REUSEPORT; `cluster`: through the supervisor, which
   * owns the socket and hands connections over. Unset: a process of its own (SO_REUSEPORT).
   */
  workerBalancing?: 'reuse-port' | 'cluster';
  /** Serve `health.listen` from this process (false in workers: the supervisor serves it). */
  serveHealth?: boolean;
  /**
   * Serve the admin listener from this process (default true). With `--workers N`, only the
   * first worker serves it: N processes cannot all bind `admin.listen`.
   */
  serveAdmin?: boolean;
}

/** The store and what follows it: the key cache, the change feed, usage batches and limits. */
interface KeyParts {
  store: Store;
  verifier: KeyVerifier;
  follower: ChangeFeedFollower;
  subscription: ChangeSubscription | null;
  metrics: GatewayMetrics;
  usage: UsageRecorder;
  limiter: Limiter;
  /** Where usage and this node's heartbeat are written (the store write thread, usually). */
  writes: StoreWrites;
}

/**
 * Builds every part from a validated config and starts listening. The parts start in order
 * and are closed in the reverse order by `stop` (or by a start that fails half-way): the
 * public listener drains first, the store closes last.
 */
export async function startGateway(config: Config, logger: Logger, dependencies: GatewayDependencies = {}): Promise<RunningGateway> {
  // Routes compile first: a bad document exits 2 before anything opens.
  const apis = loadApis(config, logger);
  const routes = (apis[0] as LoadedApi).routes;
  const parts = new ProcessParts(logger);
  try {
    const keys = await startKeyParts(config, logger, parts, dependencies.store);
    const upstream = await startUpstream(config, apis, logger, keys.metrics, parts);
    let phase: GatewayHealthSnapshot['phase'] = 'starting';
    const health = () => healthOf(keys, upstream.monitor, phase, config.health.readyWhileStoreUnreachable);
    // Everything that reads files or compiles config comes before anything listens, so a bad
    // CIDR, PEM or CA stops the start with exit status 2.
    const repeatedErrors = (message: string) => {
      const log = parts.add(`log of "${message}"`, new RateLimitedLog(logger, { level: 'error', message }), (counting) => counting.close());
      return (error: unknown) => log.report(error);
    };
    const tokenKeys = createTokenKeyRing(config, keys.store, repeatedErrors);
    const responseReport = createResponseReport(config, logger, operationsOf(apis) ?? [], keys);
    const checks = withConfigErrors(() => createChecks(config, { logger, repeatedErrors, verifier: keys.verifier, store: keys.store, routes, apis, limiter: keys.limiter.backend, quotas: keys.limiter.quotas, tokenKeys, writes: keys.writes, keepRunning: (name, part, close) => parts.add(name, part, close), ...(responseReport === null ? {} : { responseFindings: responseReport }) }));
    const requestIds = new RequestIds(undefined, credentialShape(config));
    const websockets = createWebSocketTunnels(config, logger, upstream, keys);
    const listener = createPublicListener(config, logger, { checks, proxy: websockets ?? upstream.proxy, api: apis.length === 1 ? (apis[0] as LoadedApi) : null, operations: operationsOf(apis) ?? [], responseReport }, keys, requestIds, dependencies, websockets);
    const heartbeat = startNodeHeartbeat(config, logger, parts, keys, health);
    const webhookDeliveries = await startWebhooks(config, logger, (name, part, close) => parts.add(name, part, close), repeatedErrors);
    // The admin listener first: a gateway whose admin address is taken never serves traffic.
    const admin = config.admin.listen !== null && dependencies.serveAdmin !== false
      ? parts.add('admin listener', await startAdminServer({ config, store: keys.store, changeFeed: keys.follower, metrics: keys.metrics, requestIds, logger, health, operations: operationsOf(apis), redisShared: keys.limiter.isShared, node: heartbeat.identity, webhookDeliveries, webhookEndpoints: config.webhooks.endpoints }), (running) => running.close())
      : null;
    const healthServer = config.health.listen !== null && dependencies.serveHealth !== false ? parts.add('health listener', await startHealthServer(config.health.listen, health), (running) => running.close()) : null;
    const address = await listenPublic(config, logger, listener, parts, dependencies.workerBalancing === undefined);
    // Added after the listener, so stopping closes WebSockets (1001) before the listener drains.
    if (websockets !== null) parts.add('WebSockets', websockets, (tunnels) => tunnels.close());
    phase = 'serving';
    void heartbeat.beat();
    const reloader = watchCertificates(config, listener, parts);
    const redirectAddress = await startRedirectListener(config, address, parts);
    if (admin !== null) logger.info({ listen: formatHostPort(admin.address), url: admin.url }, 'admin listening');
    logger.info({ listen: formatHostPort(address), protocol: listener.protocol, upstream: apis.length === 1 ? upstream.origins.map((origin) => origin.href).join(', ') : apis.map((api) => `${api.name}: ${api.upstream.origins.map((origin) => origin.href).join(' ')}`).join(', '), store: describeStoreLocation(config.store), ...(redirectAddress ? { redirect: formatHostPort(redirectAddress) } : {}), ...(healthServer && { health: formatHostPort(healthServer.address) }) }, 'gateway listening');
    return {
      address,
      upstreamUrl: upstream.url,
      usingExampleUpstream: upstream.example,
      protocol: listener.protocol,
      redirectAddress,
      reloadCertificates: () => reloader?.reload() ?? false,
      store: keys.store,
      metrics: keys.metrics,
      admin,
      verifier: keys.verifier,
      follower: keys.follower,
      healthAddress: healthServer?.address ?? null,
      health,
      flushUsage: () => Promise.all([keys.usage.flush(), keys.limiter.flush()]).then(() => undefined),
      stop: () => {
        // Before anything closes: a load balancer polling /readyz stops sending traffic now.
        phase = 'draining';
        return parts.closeAll();
      },
    };
  } catch (error) {
    await parts.closeAll().catch(() => {});
    throw error;
  }
}

/** Opens the store (unless one is given) and starts what reads it: key cache, change feed, usage, limits. */
async function startKeyParts(config: Config, logger: Logger, parts: ProcessParts, given: Store | undefined): Promise<KeyParts> {
  const storeErrors = parts.add('store error logs', storeErrorLogs(logger), (logs) => logs.close());
  const store = given ?? parts.add('key store', await openKeyStore(config.store, { onConnectionError: (error) => storeErrors.connectionLost.report(error) }), (opened) => opened.close());
  await store.migrate();
  // Before the follower, so it closes after the follower's last poll.
  const feedReads = startChangeFeedReads(config.store, logger, parts, store, given !== undefined);
  // A cache miss is read where the feed reads: off the request thread on SQLite.
  const verifier = new KeyVerifier(feedReads, { ...config.cache, staleFor: config.changeFeed.staleFor });
  const metrics = new GatewayMetrics({
    keyCache: () => verifier.stats,
    changeFeedCaughtUpAt: () => follower.caughtUpAt,
    changeFeedPosition: () => follower.lastSeq,
  });
  const follower = new ChangeFeedFollower(feedReads, verifier, {
    pollInterval: config.changeFeed.pollInterval,
    onError: (error) => {
      metrics.changeFeedPollErrors.inc();
      storeErrors.pollFailed.report(error);
    },
    onReachabilityChange: (reachable, error) => {
      if (reachable) logger.info('key store reachable again; change feed caught up');
      else logger.warn({ err: error, staleFor: config.changeFeed.staleFor }, 'key store unreachable: serving known keys from memory for changeFeed.staleFor, unknown keys get 503');
    },
    onLogReset: (previousSeq, latestSeq) => logger.warn({ previousSeq, latestSeq }, 'key event log is behind this node (restored or replaced database): dropped cached keys'),
    onApplied: (seq, count) => logger.debug({ seq, count }, 'applied key changes'),
  });
  await follower.start();
  parts.add('change feed', follower, (started) => started.stop());
  // In the background, once the feed is followed: requests meanwhile read through as usual.
  const warming = warmKeyCache(verifier, feedReads, config.cache.warmKeys, (error) => logger.warn({ err: error }, 'could not load recently used keys into the key cache at start; it fills as requests come'))
    .then((warmed) => {
      if (warmed !== null) logger.info({ read: warmed.read, cached: warmed.cached, ms: Math.round(warmed.ms) }, warmed.cached === 0 && warmed.read > 0 ? 'key cache warm-up discarded: a key changed during the read' : 'key cache warmed with recently used keys');
    });
  parts.add('key cache warm-up', warming, (running) => running);
  const subscription = store.subscribeToChanges ? parts.add('change notifications', await store.subscribeToChanges(() => follower.wake()), (listening) => listening.close()) : null;
  // Added before the recorder and the limiter, so it closes after their last flushes.
  const writes = startUsageWrites(config.store, logger, parts, store, given !== undefined, storeErrors.connectionLost);
  const usage = new UsageRecorder(writes, {
    retention: config.usage.retention,
    onError: (error) => {
      metrics.usageFlushErrors.inc();
      storeErrors.usageFlushFailed.report(error);
    },
    onDropped: ({ error, ...held }) => {
      if (held.reason === 'overflow') storeErrors.usageOverflow.report(new Error('usage kept too long while the key store was unreachable'), { usage: held });
      else logger.error({ err: error, usage: held }, `usage batch dropped: the key store refused it ${REFUSALS_BEFORE_DROP} times`);
    },
  });
  usage.start(config.usage.flushInterval);
  parts.add('usage recorder', usage, (recorder) => recorder.stop().catch((error: unknown) => logger.error({ err: error }, 'final usage flush failed')));
  const limiter = parts.add('limiter', await startLimiter(config, writes, logger), (started) => started.stop());
  // The limiter backend's state is a metric: memory is always up; Redis is up while shared.
  if (limiter.isShared !== null) metrics.addLimiterBackend('redis', limiter.isShared);
  metrics.addLimiterBackend('memory', () => true);
  return { store, verifier, follower, subscription, metrics, usage, limiter, writes };
}

/**
 * Where the change feed reads the key event log and the key cache reads a key it has not seen:
 * on SQLite, the change feed thread, a worker with a read-only connection of its own, so
 * neither a poll nor a cache miss runs a query on the thread that answers requests.
 * PostgreSQL's reads are asynchronous already (the pool's socket), and a store handed in or an
 * in-memory SQLite database are read here, as for the writes below.
 */
function startChangeFeedReads(location: string, logger: Logger, parts: ProcessParts, store: Store, storeGiven: boolean): Store | ChangeFeedThread {
  if (storeGiven || isInMemoryLocation(location) || isPostgresLocation(location)) return store;
  return parts.add('change feed thread', new ChangeFeedThread(location, {
    onCrash: (error) => logger.error({ err: error }, 'change feed thread stopped; restarting it (the change feed is unreachable until it answers)'),
  }), (thread) => thread.close());
}

/**
 * Where usage, last uses and quota counts are written: the store write thread, a worker with a
 * store connection of its own, so no store work runs on the thread that answers requests. A
 * store handed in (tests wrap one to observe or break it) is written on this thread, and so is
 * an in-memory SQLite database, which a second connection would not see.
 */
function startUsageWrites(location: string, logger: Logger, parts: ProcessParts, store: Store, storeGiven: boolean, connectionLost: RateLimitedLog): StoreWrites {
  if (storeGiven || isInMemoryLocation(location)) return store;
  return parts.add('store write thread', new StoreWriteThread(location, {
    onCrash: (error) => logger.error({ err: error }, 'store write thread crashed; restarting it (unwritten usage and quota counts are kept for the next flush)'),
    onConnectionError: (error) => connectionLost.report(error),
  }), (thread) => thread.close());
}

/**
 * This node's heartbeat row in the shared store, written every `health.heartbeatInterval` through
 * the store write thread, so the admin API of every node can list them all. Added after the
 * write thread, so it stops before the thread closes.
 */
function startNodeHeartbeat(config: Config, logger: Logger, parts: ProcessParts, keys: KeyParts, health: () => HealthReport): { identity: NodeIdentity; beat: () => Promise<void> } {
  const identity = describeThisNode();
  const failed = parts.add('heartbeat log', new RateLimitedLog(logger, { level: 'warn', message: 'node heartbeat not written; will retry', interval: 60_000 }), (log) => log.close());
  const writer = new NodeHeartbeatWriter(keys.writes, {
    identity,
    interval: config.health.heartbeatInterval,
    health: () => nodeHealth({ health, changeFeed: keys.follower, redisShared: keys.limiter.isShared }),
    onError: (error) => failed.report(error),
  });
  writer.start();
  parts.add('node heartbeat', writer, (started) => started.stop());
  // Beaten again once serving, so the other nodes do not show this one as starting for an interval.
  return { identity, beat: () => writer.beat() };
}

/**
 * The store failures that can repeat every request, poll or flush, each logged at most once
 * per interval with a count (src/telemetry/rate-limited-log.ts), so an outage cannot flood the log.
 */
function storeErrorLogs(logger: Logger) {
  const logs = {
    connectionLost: new RateLimitedLog(logger, { level: 'debug', message: 'key store connection lost' }),
    pollFailed: new RateLimitedLog(logger, { level: 'debug', message: 'change feed poll failed; retrying' }),
    usageFlushFailed: new RateLimitedLog(logger, { level: 'warn', message: 'usage flush failed; will retry', interval: 60_000 }),
    usageOverflow: new RateLimitedLog(logger, { level: 'error', message: 'usage batch dropped: kept too long while the key store was unreachable', interval: 60_000 }),
  };
  return { ...logs, close: () => Object.values(logs).forEach((log) => log.close()) };
}

/**
 * Each API's upstream (the built-in example when the only API has none), the pools that reach
 * it and the one monitor that watches every origin. A probe of the origins starts here and is
 * not waited for: a gateway starts whether or not its upstreams answer, and warns when one does not.
 */
async function startUpstream(config: Config, apis: readonly LoadedApi[], logger: Logger, metrics: GatewayMetrics, parts: ProcessParts): Promise<{ url: URL; origins: readonly URL[]; example: boolean; proxy: Upstream; monitor: UpstreamMonitor; targets: TunnelTarget[] }> {
  let originsByApi: ReadonlyArray<readonly URL[]> = apis.map((api) => api.upstream.origins);
  let example: Server | null = null;
  if (apis.length === 1 && (originsByApi[0] as readonly URL[]).length === 0) {
    const started = await startExampleUpstream();
    example = parts.add('example upstream', started.server, (server) => new Promise<void>((resolve) => server.close(() => resolve())));
    originsByApi = [[started.url]];
  }
  // APIs whose upstreams are configured alike share one pool: its keep-alive connections serve
  // all of them, as one upstream would (a pool per API split them, and cost a third of the throughput).
  const poolOf = apis.map((api, index) => upstreamIdentity(api.upstream, originsByApi[index] as readonly URL[]));
  const poolKeys = [...new Set(poolOf)];
  const firstApiOf = poolKeys.map((key) => poolOf.indexOf(key));
  const origins = firstApiOf.flatMap((index) => originsByApi[index] as readonly URL[]);
  const monitor = new UpstreamMonitor({ origins, logger, registry: metrics.registry, connectTimeout: Math.min(config.upstream.connectTimeout, 2000) });
  let offset = 0;
  const pools = firstApiOf.map((index) => {
    const api = apis[index] as LoadedApi;
    const own = originsByApi[index] as readonly URL[];
    const connect = (own[0] as URL).protocol === 'https:' ? upstreamConnectOptions(api.upstream.tls) : undefined;
    const watcher = firstApiOf.length === 1 ? monitor : originsFrom(monitor, offset);
    offset += own.length;
    const proxy = parts.add(`upstream pool of ${api.name}`, new UpstreamProxy({ ...api.upstream, origins: own, monitor: watcher, ...(connect ? { connect } : {}) }), (pool) => pool.close());
    return { proxy, target: { origins: own, connect, connectTimeout: api.upstream.connectTimeout, headersTimeout: api.upstream.headersTimeout } satisfies TunnelTarget };
  });
  const poolOfApi = poolOf.map((key) => pools[poolKeys.indexOf(key)] as (typeof pools)[number]);
  const targets: TunnelTarget[] = poolOfApi.map((pool) => pool.target);
  const proxies = poolOfApi.map((pool) => pool.proxy);
  void monitor.probeAtStart();
  const proxy = pools.length === 1 ? (proxies[0] as UpstreamProxy) : new ApiUpstreams(proxies);
  return { url: origins[0] as URL, origins, example: example !== null, proxy, monitor, targets };
}

/** What makes two APIs' upstreams the same pool: their origins and every setting of the hop (timeouts, pool sizes, TLS, balancing). */
function upstreamIdentity(upstream: LoadedApi['upstream'], origins: readonly URL[]): string {
  return JSON.stringify({ ...upstream, origins: origins.map(String) });
}

/**
 * With `websockets.enabled`, stage 10 for upgrade requests (engine/websocket-tunnel.ts), in
 * front of the proxy; it follows the change feed to close the WebSockets of a changed key.
 */
function createWebSocketTunnels(config: Config, logger: Logger, upstream: { proxy: Upstream; targets: TunnelTarget[] }, keys: KeyParts): WebSocketTunnels | null {
  if (!config.websockets.enabled) return null;
  const tunnels = new WebSocketTunnels(upstream.proxy, { settings: config.websockets, targets: upstream.targets, verifier: keys.verifier, registry: keys.metrics.registry, logger, usage: keys.usage });
  keys.follower.subscribe((events) => tunnels.keysChanged(events));
  return tunnels;
}

function healthOf(keys: KeyParts, upstream: UpstreamMonitor, phase: GatewayHealthSnapshot['phase'], readyWhileStoreUnreachable: boolean): HealthReport {
  const feed = keys.follower.state;
  const subscription = keys.subscription;
  const isShared = keys.limiter.isShared;
  return assessHealth({
    phase,
    store: { reachable: feed.reachable, lastContactAt: feed.lastContactAt, freshUntil: keys.verifier.freshUntil },
    changeFeed: { lastSeq: feed.lastSeq, notifications: subscription === null ? 'not-used' : subscription.listening ? 'listening' : 'reconnecting' },
    rateLimits: isShared === null ? { backend: 'memory', shared: false } : { backend: 'redis', shared: isShared() },
    upstream: upstream.snapshot,
    readyWhileStoreUnreachable,
  }, Date.now());
}

/**
 * The token signing keys of delegated browser tokens (read from the store on first need, never
 * per request). A retired key verifies for the longest token lifetime plus a minute, so every
 * token any node signed with it before hearing of a rotation still verifies until it expires.
 */
function createTokenKeyRing(config: Config, store: Store, repeatedErrors: (message: string) => (error: unknown) => void): TokenKeyRing {
  return new TokenKeyRing(store, { overlapMs: (config.dpop.maxTokenLifetime + 60) * 1000, refreshIntervalMs: 30_000, onError: repeatedErrors('token signing keys: key store read failed') });
}

/**
 * With response checks on some API (operations that carry their documented responses), the
 * would-deny report is made before the checks, for the response-checks policy to report to;
 * the pipeline then records the would-denies of report mode in it too.
 */
function createResponseReport(config: Config, logger: Logger, operations: readonly Operation[], keys: KeyParts): WouldDenyReport | null {
  if (!operations.some((operation) => operation.responses !== undefined)) return null;
  return new WouldDenyReport({ registry: keys.metrics.registry, logger, header: config.reportOnly.header, codes: [...reportedCodes(config, operations), ...RESPONSE_FINDING_CODES], usage: keys.usage, responseChecks: true });
}

/** The pipeline's checks, made from the configuration in the order of the list; a policy left off makes none. */
function createChecks(config: Config, parts: PolicyParts): Check[] {
  const checks: Check[] = [];
  for (const policy of PIPELINE_POLICIES) {
    const check = policy.create(config, parts);
    if (check !== null) checks.push(check);
  }
  return checks;
}

/** A bad CIDR found while making the checks is a configuration error (exit 2). */
function withConfigErrors<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof InvalidCidrError) throw new ConfigError([error.message]);
    throw error;
  }
}

/** Says whether a value is shaped like a key or an admin token, so it is never logged or forwarded as a request id. */
function credentialShape(config: Config): (value: string) => boolean {
  const isKey = createKeyParser([...config.keys.acceptedPrefixes, ADMIN_TOKEN_PREFIX]);
  return (value) => isKey(value) !== null;
}

interface PublicListener {
  server: GatewayServer;
  protocol: 'http' | 'https';
  /** Reads the TLS files again when they change; null without TLS. */
  reloader: CertificateReloader | null;
}

/** The public listener with the pipeline behind it (not listening yet). */
function createPublicListener(config: Config, logger: Logger, { checks, proxy, api, operations, responseReport }: Pick<PipelineParts, 'checks' | 'proxy' | 'api'> & { operations: readonly Operation[]; responseReport: WouldDenyReport | null }, keys: KeyParts, requestIds: RequestIds, dependencies: GatewayDependencies, websockets: WebSocketTunnels | null): PublicListener {
  const tls = config.tls;
  const credentials = tls === null ? null : readListenerCredentials(tls);
  for (const each of apisOf(config)) {
    if (!each.upstream.tls.insecureSkipVerify) continue;
    logger.error({ upstream: each.upstream.origins.map((origin) => origin.href).join(', '), ...(config.apis.length > 0 ? { api: each.name } : {}) }, 'INSECURE: upstream.tls.insecureSkipVerify is set; the upstream certificate and host name are NOT verified, so anyone on the network path can read and change this traffic');
  }
  const protocol = tls === null ? 'http' : 'https';
  const apiNames = apisOf(config).map((each) => each.name);
  const apiOutcomes = new ApiOutcomes(keys.metrics.registry, apiNames);
  const telemetry = new RequestTelemetry({ metrics: keys.metrics, usage: keys.usage, logger, accessLog: config.log.access, apiOutcomes, apiUsage: keys.usage.countApis(apiNames) });
  const resolveClient = withConfigErrors(() => createClientAddressResolver({ trustProxy: config.network.trustProxy, header: config.network.clientAddressHeader }));
  const wouldDeny = responseReport ?? (checks.some((check) => check.reports !== undefined) ? new WouldDenyReport({ registry: keys.metrics.registry, logger, header: config.reportOnly.header, codes: reportedCodes(config, operations), usage: keys.usage }) : null);
  const handler = createPipeline({ checks, proxy, api, protocol, resolveClient, forwardedHeader: config.network.forwardedHeader, telemetry, requestIds, logger, wouldDeny });
  const server = new GatewayServer(handler, {
    listen: config.listen,
    ...config.server,
    throughSupervisor: dependencies.workerBalancing === 'cluster',
    upgrades: websockets === null ? null : (req, socket, head, onRequest) => websockets.handleUpgrade(req, socket, head, onRequest),
    tls: tls === null || credentials === null ? null : listenerTlsOptions(tls, credentials),
    hsts: tls === null || tls.hstsMaxAge === 0 ? null : `max-age=${tls.hstsMaxAge}`,
    http2: tls?.http2 === true ? config.http2 : null,
    onHttp2Flood: (flood, session) => logger.warn({ flood, client: session.socket?.remoteAddress }, 'HTTP/2 connection closed for a frame flood (GOAWAY ENHANCE_YOUR_CALM)'),
  });
  server.server.on('tlsClientError', (error: Error) => logger.debug({ err: error }, 'TLS handshake failed'));
  const reloader = tls === null || credentials === null
    ? null
    : new CertificateReloader(tls, credentials, (fresh) => {
        server.setSecureContext(listenerTlsOptions(tls, fresh));
        logger.info({ cert: tls.cert }, 'TLS certificate reloaded; new connections use it');
      }, (error) => logger.error({ err: error }, 'TLS certificate reload failed; still serving the previous certificate'));
  return { server, protocol, reloader };
}

/**
 * Listens; stopping drains in-flight requests for `server.drainTimeout`, then closes what is
 * left. A process of its own (not a worker) says when another process already listens on its
 * address: expected while a restart overlaps, a mistake otherwise (the two share connections).
 */
async function listenPublic(config: Config, logger: Logger, { server }: PublicListener, parts: ProcessParts, warnIfShared: boolean): Promise<HostPort> {
  parts.add('public listener', server, async (listening) => {
    // drain() closes the listening socket before it first waits: from this line on, a new connection is refused.
    const draining = listening.drain(config.server.drainTimeout);
    logger.info('public listener closed; draining open connections');
    const { forced } = await draining;
    if (forced > 0) logger.warn({ connections: forced }, 'drain time ran out; closed remaining connections');
  });
  const shared = warnIfShared && (await addressIsTaken(config.listen));
  const address = await server.listen();
  if (shared) logger.warn({ listen: formatHostPort(address) }, 'another process already listens on this address (SO_REUSEPORT): the kernel spreads new connections over both. Expected while a restart overlaps (stop the old process once this one is ready); otherwise stop the other process');
  return address;
}

/** Serves renewed certificates without a restart: on SIGHUP, and when the files change (`tls.watch`). */
function watchCertificates(config: Config, { reloader }: PublicListener, parts: ProcessParts): CertificateReloader | null {
  if (reloader === null) return null;
  if (config.tls?.watch === true) reloader.watch();
  return parts.add('certificate watcher', reloader, (watcher) => watcher.close());
}

/** With TLS, the optional plaintext listener that only redirects to https (`tls.redirectListen`). */
async function startRedirectListener(config: Config, address: HostPort, parts: ProcessParts): Promise<HostPort | null> {
  const wanted = config.tls?.redirectListen ?? null;
  if (wanted === null) return null;
  const redirect = createHttpsRedirectServer(address.port);
  const bound = await listenSharingPort(redirect, wanted, REDIRECT_LISTEN);
  parts.add('redirect listener', redirect, (server) => {
    const closing = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    return closing.then(() => undefined);
  });
  return bound;
}
