import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import { formatHostPort, type HostPort } from '../config/units.ts';
import { openKeyStore } from '../store/open-key-store.ts';
import type { Store } from '../store/store.ts';
import { KeyVerifier } from '../verify/key-verifier.ts';
import { ChangeFeedFollower } from '../verify/change-feed-follower.ts';
import { UsageRecorder } from '../telemetry/usage-recorder.ts';
import { GatewayMetrics } from '../telemetry/gateway-metrics.ts';
import { RequestTelemetry } from '../telemetry/request-telemetry.ts';
import { RequestIds } from '../telemetry/request-id.ts';
import { createKeyParser } from '../keys/key-format.ts';
import { ADMIN_TOKEN_PREFIX } from '../keys/mint-key.ts';
import { startAdminServer, type RunningAdmin } from '../admin/admin-server.ts';
import { buildChecks } from './build-checks.ts';
import { createPipeline } from './pipeline.ts';
import { GatewayServer } from './gateway-server.ts';
import { UpstreamProxy } from './upstream-proxy.ts';
import { startExampleUpstream } from './example-upstream.ts';

export interface RunningGateway {
  address: HostPort;
  upstreamUrl: URL;
  usingExampleUpstream: boolean;
  store: Store;
  metrics: GatewayMetrics;
  /** The admin listener (admin API, metrics, dashboard), or null when `admin.listen` is off. */
  admin: RunningAdmin | null;
  verifier: KeyVerifier;
  follower: ChangeFeedFollower;
  /** Writes aggregated usage now instead of at the next interval. */
  flushUsage(): Promise<void>;
  /** SIGTERM behaviour: stop accepting, drain, flush usage, release everything. */
  stop(): Promise<void>;
}

export interface GatewayDependencies {
  /** A store to use instead of opening `config.store` (tests wrap one to observe it). */
  store?: Store;
}

/** Builds every part from a validated config and starts listening. */
export async function startGateway(config: Config, logger: Logger, dependencies: GatewayDependencies = {}): Promise<RunningGateway> {
  const store = dependencies.store ?? (await openKeyStore(config.store));
  await store.migrate();

  let exampleUpstream: Server | null = null;
  let upstreamUrl = config.upstream.url;
  if (upstreamUrl === null) {
    const example = await startExampleUpstream();
    exampleUpstream = example.server;
    upstreamUrl = example.url;
  }

  const verifier = new KeyVerifier(store, config.cache);
  const follower = new ChangeFeedFollower(store, verifier, {
    pollInterval: config.changeFeed.pollInterval,
    // Polls start after `metrics` exists (follower.start() below).
    onError: (error) => {
      metrics.changeFeedPollErrors.inc();
      logger.warn({ err: error }, 'change feed poll failed; retrying');
    },
    onApplied: (seq, count) => logger.debug({ seq, count }, 'applied key changes'),
  });
  const metrics = new GatewayMetrics({
    keyCache: () => verifier.stats,
    changeFeedCaughtUpAt: () => follower.caughtUpAt,
    changeFeedPosition: () => follower.lastSeq,
  });
  await follower.start();

  const usage = new UsageRecorder(store, {
    retention: config.usage.retention,
    onError: (error) => {
      metrics.usageFlushErrors.inc();
      logger.warn({ err: error }, 'usage flush failed; will retry');
    },
  });
  usage.start(config.usage.flushInterval);

  const isKey = createKeyParser([...config.keys.acceptedPrefixes, ADMIN_TOKEN_PREFIX]);
  const requestIds = new RequestIds(undefined, (value) => isKey(value) !== null);
  const telemetry = new RequestTelemetry({ metrics, usage, logger, accessLog: config.log.access });
  const proxy = new UpstreamProxy({ ...config.upstream, url: upstreamUrl, observer: telemetry });
  const checks = buildChecks(config, { verifier, logger });
  const handler = createPipeline({ checks, proxy, keyHeaders: new Set(config.keys.headers), protocol: 'http', telemetry, requestIds, logger });
  const server = new GatewayServer(handler, { listen: config.listen, ...config.server });
  let admin: RunningAdmin | null = null;
  let address: HostPort;
  try {
    // The admin listener first: a gateway whose admin address is taken never serves traffic.
    if (config.admin.listen !== null) admin = await startAdminServer({ config, store, changeFeed: follower, metrics, requestIds, logger });
    address = await server.listen();
  } catch (error) {
    // Release what has started, so a failed start leaves nothing running in this process.
    await admin?.close();
    await follower.stop();
    await usage.stop().catch(() => {});
    await proxy.close();
    if (exampleUpstream !== null) await new Promise((resolve) => exampleUpstream.close(resolve));
    if (dependencies.store === undefined) await store.close();
    throw error;
  }
  if (admin !== null) logger.info({ listen: formatHostPort(admin.address), url: admin.url }, 'admin listening');
  logger.info({ listen: formatHostPort(address), upstream: upstreamUrl.href, store: config.store }, 'gateway listening');

  let stopping: Promise<void> | undefined;
  return {
    address,
    upstreamUrl,
    usingExampleUpstream: exampleUpstream !== null,
    store,
    metrics,
    admin,
    verifier,
    follower,
    flushUsage: () => usage.flush(),
    stop() {
      stopping ??= (async () => {
        const { forced } = await server.drain(config.server.drainTimeout);
        if (forced > 0) logger.warn({ connections: forced }, 'drain time ran out; closed remaining connections');
        await admin?.close();
        await follower.stop();
        await usage.stop().catch((error: unknown) => logger.error({ err: error }, 'final usage flush failed'));
        await proxy.close();
        if (exampleUpstream !== null) await new Promise((resolve) => exampleUpstream.close(resolve));
        await store.close();
      })();
      return stopping;
    },
  };
}
