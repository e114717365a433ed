import { Command } from 'commander';
import type { Logger } from 'pino';
import { createLogger } from '../telemetry/logger.ts';
import { formatHostPort } from '../config/units.ts';
import { startGateway, type RunningGateway } from '../gateway/gateway.ts';
import { loadCommandConfig, type StoreFlags } from './cli-support.ts';

interface ServeFlags extends StoreFlags {
  listen?: string;
  upstream?: string;
  adminListen?: string;
}

/** What a person sees on start-up: where it listens, what it protects, and the next step. */
function printStartBanner(gateway: RunningGateway, store: string): void {
  const listen = `http://${formatHostPort(gateway.address)}`;
  const lines = [
    '',
    `Portcullis is listening on ${listen}`,
    `  key store: ${store}`,
    gateway.usingExampleUpstream
      ? `  upstream:  ${gateway.upstreamUrl.href}  <-- built-in EXAMPLE upstream (no upstream configured).\n             Point the gateway at your API with --upstream URL, e.g. npm start -- --upstream http://127.0.0.1:3000`
      : `  upstream:  ${gateway.upstreamUrl.href}`,
    gateway.admin === null ? '  dashboard: off (admin.listen is not set)' : `  dashboard: ${gateway.admin.url}/  (admin API and /metrics on the same listener; log in with a token from: ./bin/portcullis admin token create --role write)`,
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
    .option('--store <path>', 'key store (default ./data/portcullis.db)')
    .option('--admin-listen <host:port>', 'admin API and dashboard listener (default 127.0.0.1:8081)')
    .action(async (flags: ServeFlags) => {
      const config = loadCommandConfig(flags, [
        { field: 'listen', value: flags.listen, flag: '--listen' },
        { field: 'upstream.url', value: flags.upstream, flag: '--upstream' },
        { field: 'admin.listen', value: flags.adminListen, flag: '--admin-listen' },
      ]);
      const logger = createLogger(config.log.level);
      const gateway = await startGateway(config, logger);
      exitGracefully(gateway, logger);
      if (process.stderr.isTTY || process.env.PORTCULLIS_BANNER === '1' || gateway.usingExampleUpstream) printStartBanner(gateway, config.store);
    });
}
