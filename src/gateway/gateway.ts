import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import { formatHostPort, type HostPort } from '../config/units.ts';
import { openKeyStore } from '../store/open-key-store.ts';
import type { ChangeSubscription, KeyStore } from '../store/key-store.ts';
import { describeStoreLocation } from '../store/store-location.ts';
import { assessHealth, type GatewayHealthSnapshot, type HealthReport } from '../health/health-report.ts';
import { startHealthServer, type HealthServer } from '../health/health-server.ts';
import { KeyVerifier } from '../verify/key-verifier.ts';
import { ChangeFeedFollower } from '../verify/change-feed-follower.ts';
import { UsageRecorder } from '../telemetry/usage-recorder.ts';
import { buildChecks } from './build-checks.ts';
import { createPipeline } from './pipeline.ts';
import { GatewayServer } from './gateway-server.ts';
import { UpstreamProxy } from './upstream-proxy.ts';
import { startExampleUpstream } from './example-upstream.ts';

export interface RunningGateway {
  address: HostPort;
  upstreamUrl: URL;
  usingExampleUpstream: boolean;
  store: KeyStore;
  verifier: KeyVerifier;
  follower: ChangeFeedFollower;
  /** Where `/healthz` and `/readyz` are served (`health.listen`), null when off. */
  healthAddress: HostPort | null;
  /** This node's health, as /healthz and /readyz report it. */
  health(): HealthReport;
  /** Writes aggregated usage now instead of at the next interval. */
  flushUsage(): Promise<void>;
  /** SIGTERM behaviour: stop accepting, drain, flush usage, release everything. */
  stop(): Promise<void>;
}

export interface GatewayDependencies {
  /** A store to use instead of opening `config.store` (tests wrap one to observe it). */
  store?: KeyStore;
  /** Listen with SO_REUSEPORT (a worker of `--workers N` in `reuse-port` balancing). */
  reusePort?: boolean;
  /** Serve `health.listen` from this process (false in workers: the supervisor serves it). */
  serveHealth?: boolean;
}

/** Builds every part from a validated config and starts listening. */
export async function startGateway(config: Config, logger: Logger, dependencies: GatewayDependencies = {}): Promise<RunningGateway> {
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
    onError: (error) => logger.debug({ err: error }, 'change feed poll failed; retrying'),
    onReachabilityChange: (reachable, error) => {
      if (reachable) logger.info('key store reachable again; change feed caught up');
      else logger.warn({ err: error, staleFor: config.changeFeed.staleFor }, 'key store unreachable: serving known keys from memory for changeFeed.staleFor, unknown keys get 503');
    },
    onLogReset: (previousSeq, latestSeq) => logger.warn({ previousSeq, latestSeq }, 'key event log is behind this node (restored or replaced database): dropped cached keys'),
    onApplied: (seq, count) => logger.debug({ seq, count }, 'applied key changes'),
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

  const usage = new UsageRecorder(store, (error) => logger.warn({ err: error }, 'usage flush failed; will retry'));
  usage.start(config.usage.flushInterval);

  const proxy = new UpstreamProxy({ ...config.upstream, url: upstreamUrl });
  const checks = buildChecks(config, { verifier, logger });
  const handler = createPipeline({ checks, proxy, keyHeaders: new Set(config.keys.headers), protocol: 'http', usage, logger });
  const server = new GatewayServer(handler, { listen: config.listen, ...config.server, reusePort: dependencies.reusePort ?? false });
  const address = await server.listen();
  phase = 'serving';
  const healthServer: HealthServer | null = config.health.listen !== null && dependencies.serveHealth !== false ? await startHealthServer(config.health.listen, health) : null;
  logger.info({ listen: formatHostPort(address), upstream: upstreamUrl.href, store: describeStoreLocation(config.store), ...(healthServer && { health: formatHostPort(healthServer.address) }) }, 'gateway listening');

  let stopping: Promise<void> | undefined;
  return {
    address,
    upstreamUrl,
    usingExampleUpstream: exampleUpstream !== null,
    store,
    verifier,
    follower,
    healthAddress: healthServer?.address ?? null,
    health,
    flushUsage: () => usage.flush(),
    stop() {
      stopping ??= (async () => {
        phase = 'draining';
        const { forced } = await server.drain(config.server.drainTimeout);
        if (forced > 0) logger.warn({ connections: forced }, 'drain time ran out; closed remaining connections');
        await healthServer?.close();
        await subscription?.close();
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
