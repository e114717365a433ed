import cluster from 'node:cluster';
import { Command } from 'commander';
import type { Logger } from 'pino';
import { createLogger } from '../telemetry/logger.ts';
import { formatHostPort } from '../config/units.ts';
import { startGateway, type RunningGateway } from '../gateway/gateway.ts';
import { describeStoreLocation } from '../store/store-location.ts';
import { startGatewayWorker } from '../workers/gateway-worker.ts';
import { superviseWorkers } from '../workers/worker-supervisor.ts';
import { loadCommandConfig, type StoreFlags } from './cli-support.ts';

interface ServeFlags extends StoreFlags {
  listen?: string;
  upstream?: string;
  workers?: string;
  staleFor?: string;
  healthListen?: string;
}

/** What a person sees on start-up: where it listens, what it protects, and the next step. */
function printStartBanner(gateway: Pick<RunningGateway, 'address' | 'upstreamUrl' | 'usingExampleUpstream'>, store: string, workers: number): void {
  const listen = `http://${formatHostPort(gateway.address)}`;
  const lines = [
    '',
    `Portcullis is listening on ${listen}${workers > 1 ? ` (${workers} worker processes)` : ''}`,
    `  key store: ${describeStoreLocation(store)}`,
    gateway.usingExampleUpstream
      ? `  upstream:  ${gateway.upstreamUrl.href}  <-- built-in EXAMPLE upstream (no upstream configured).\n             Point the gateway at your API with --upstream URL, e.g. npm start -- --upstream http://127.0.0.1:3000`
      : `  upstream:  ${gateway.upstreamUrl.href}`,
    '',
    'Next steps:',
    '  1. Create a key (in another terminal):  ./bin/portcullis keys create --name my-first-client',
    `  2. Call the API through the gateway:     curl -H "Authorization: Bearer <key>" ${listen}/hello`,
    '  3. Revoke it:                            ./bin/portcullis keys revoke <key id> --reason "test"',
    '',
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
}

/** SIGTERM/SIGINT: stop accepting, drain in-flight requests, flush, exit 0. */
function exitGracefully(gateway: RunningGateway, logger: Logger): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, 'stopping: no new connections; draining in-flight requests');
    gateway.stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Without a handler SIGHUP would end the process; reloading is added with the TLS layer.
  process.on('SIGHUP', () => logger.info('SIGHUP received: nothing to reload in this configuration'));
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('run the gateway')
    .option('--config <file>', 'config file (default ./portcullis.yaml when present)')
    .option('--listen <host:port>', 'public listener (default 127.0.0.1:8080)')
    .option('--upstream <url>', 'the API to protect, such as http://127.0.0.1:3000')
    .option('--store <path>', 'key store: SQLite file or postgres:// URL (default ./data/portcullis.db)')
    .option('--workers <n>', 'gateway processes on this host sharing the port (default 1)')
    .option('--stale-for <duration>', 'how long known keys keep working while the store is unreachable (default 5m)')
    .option('--health-listen <host:port>', 'serve GET /healthz and /readyz here (default off)')
    .action(async (flags: ServeFlags) => {
      const config = loadCommandConfig(flags, [
        { field: 'listen', value: flags.listen, flag: '--listen' },
        { field: 'upstream.url', value: flags.upstream, flag: '--upstream' },
        { field: 'workers', value: flags.workers !== undefined && /^\d+$/.test(flags.workers) ? Number(flags.workers) : flags.workers, flag: '--workers' },
        { field: 'changeFeed.staleFor', value: flags.staleFor, flag: '--stale-for' },
        { field: 'health.listen', value: flags.healthListen, flag: '--health-listen' },
      ]);
      const logger = createLogger(config.log.level);
      const showBanner = (started: Pick<RunningGateway, 'address' | 'upstreamUrl' | 'usingExampleUpstream'>) => {
        if (process.stderr.isTTY || process.env.PORTCULLIS_BANNER === '1' || started.usingExampleUpstream) printStartBanner(started, config.store, config.workers);
      };
      if (cluster.isWorker) {
        exitGracefully(await startGatewayWorker(config, logger), logger);
      } else if (config.workers > 1) {
        const supervised = await superviseWorkers(config, logger);
        showBanner(supervised);
        process.exit(await supervised.stopped);
      } else {
        const gateway = await startGateway(config, logger);
        exitGracefully(gateway, logger);
        showBanner(gateway);
      }
    });
}
