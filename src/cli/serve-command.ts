import cluster from 'node:cluster';
import { Command } from 'commander';
import type { Logger } from 'pino';
import { gatewayConfig, loadConfig } from '../app/config.ts';
import { startGateway, type RunningGateway } from '../app/gateway.ts';
import { configFormats } from '../config/config-schema.ts';
import { formatHostPort } from '../http/units.ts';
import { describeStoreLocation } from '../store/store-location.ts';
import { createLogger } from '../telemetry/logger.ts';
import { startGatewayWorker } from '../workers/gateway-worker.ts';
import { superviseWorkers } from '../workers/worker-supervisor.ts';
import { addServeFlags, givenServeFlags } from './serve-flags.ts';

/** The parts of a running gateway (one process, or the supervisor of `--workers N`) the banner shows. */
interface BannerFacts {
  address: RunningGateway['address'];
  protocol: RunningGateway['protocol'];
  upstreamUrl: URL;
  usingExampleUpstream: boolean;
  adminUrl: string | null;
}

/** What a person sees on start-up: where it listens, what it protects, and the next step. */
function printStartBanner(gateway: BannerFacts, store: string, workers: number): void {
  const listen = `${gateway.protocol}://${formatHostPort(gateway.address)}`;
  const lines = [
    '',
    `Portcullis is listening on ${listen}${workers > 1 ? ` (${workers} worker processes)` : ''}`,
    `  key store: ${describeStoreLocation(store)}`,
    gateway.usingExampleUpstream
      ? `  upstream:  ${gateway.upstreamUrl.href}  <-- built-in EXAMPLE upstream (no upstream configured).\n             Point the gateway at your API with --upstream URL, e.g. npm start -- --upstream http://127.0.0.1:3000`
      : `  upstream:  ${gateway.upstreamUrl.href}`,
    gateway.adminUrl === null ? '  dashboard: off (admin.listen is not set)' : `  dashboard: ${gateway.adminUrl}/  (admin API and /metrics on the same listener; log in with a token from: ./bin/portcullis admin token create --role write)`,
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
  // SIGHUP: reload the TLS certificate, key and client CA; open connections keep theirs.
  process.on('SIGHUP', () => {
    if (gateway.protocol !== 'https') {
      logger.info('SIGHUP received: nothing to reload (TLS is off)');
      return;
    }
    const reloaded = gateway.reloadCertificates();
    logger.info({ reloaded }, reloaded ? 'SIGHUP: TLS certificate reloaded' : 'SIGHUP: TLS files unchanged (or not loadable; see any error above)');
  });
}

export function serveCommand(): Command {
  const command = new Command('serve').option('--config <file>', 'config file (default ./portcullis.yaml when present)');
  // Every other flag is a config option's (its `x-flag`): docs/configuration.md lists them all.
  const flags = addServeFlags(command, gatewayConfig.options, configFormats(gatewayConfig.fragments));
  return command.action(async (values: Record<string, unknown> & { config?: string }) => {
    const config = loadConfig({ configFile: values.config, flags: givenServeFlags(flags, values) });
    const logger = createLogger(config.log.level);
    const showBanner = (started: BannerFacts) => {
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
      showBanner({ ...gateway, adminUrl: gateway.admin?.url ?? null });
    }
  });
}
