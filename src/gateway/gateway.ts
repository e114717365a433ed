import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/load-config.ts';
import { formatHostPort, type HostPort } from '../config/units.ts';
import { openKeyStore } from '../store/open-key-store.ts';
import type { KeyStore } from '../store/key-store.ts';
import { KeyVerifier } from '../verify/key-verifier.ts';
import { ChangeFeedFollower } from '../verify/change-feed-follower.ts';
import { UsageRecorder } from '../telemetry/usage-recorder.ts';
import { buildChecks } from './build-checks.ts';
import { createPipeline } from './pipeline.ts';
import { GatewayServer } from './gateway-server.ts';
import { UpstreamProxy } from './upstream-proxy.ts';
import { startExampleUpstream } from './example-upstream.ts';
import { loadRoutes } from '../routes/load-routes.ts';
import { compileCors, logRouteSummary } from './route-setup.ts';

export interface RunningGateway {
  address: HostPort;
  upstreamUrl: URL;
  usingExampleUpstream: boolean;
  store: KeyStore;
  verifier: KeyVerifier;
  follower: ChangeFeedFollower;
  /** Writes aggregated usage now instead of at the next interval. */
  flushUsage(): Promise<void>;
  /** SIGTERM behaviour: stop accepting, drain, flush usage, release everything. */
  stop(): Promise<void>;
}

export interface GatewayDependencies {
  /** A store to use instead of opening `config.store` (tests wrap one to observe it). */
  store?: KeyStore;
}

/** Builds every part from a validated config and starts listening. */
export async function startGateway(config: Config, logger: Logger, dependencies: GatewayDependencies = {}): Promise<RunningGateway> {
  // Routes and CORS compile first: a bad document or policy exits 2 before anything opens.
  const routes = loadRoutes(config);
  const cors = compileCors(config.cors);
  logRouteSummary(logger, routes);
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
    onError: (error) => logger.warn({ err: error }, 'change feed poll failed; retrying'),
    onApplied: (seq, count) => logger.debug({ seq, count }, 'applied key changes'),
  });
  await follower.start();

  const usage = new UsageRecorder(store, (error) => logger.warn({ err: error }, 'usage flush failed; will retry'));
  usage.start(config.usage.flushInterval);

  const proxy = new UpstreamProxy({ ...config.upstream, url: upstreamUrl, ownsCors: cors !== null });
  const checks = buildChecks(config, { verifier, logger, routes, cors });
  const handler = createPipeline({ checks, proxy, keyHeaders: new Set(config.keys.headers), protocol: 'http', usage, logger });
  const server = new GatewayServer(handler, { listen: config.listen, ...config.server });
  const address = await server.listen();
  logger.info({ listen: formatHostPort(address), upstream: upstreamUrl.href, store: config.store }, 'gateway listening');

  let stopping: Promise<void> | undefined;
  return {
    address,
    upstreamUrl,
    usingExampleUpstream: exampleUpstream !== null,
    store,
    verifier,
    follower,
    flushUsage: () => usage.flush(),
    stop() {
      stopping ??= (async () => {
        const { forced } = await server.drain(config.server.drainTimeout);
        if (forced > 0) logger.warn({ connections: forced }, 'drain time ran out; closed remaining connections');
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
