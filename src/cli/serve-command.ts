import cluster from 'node:cluster';
import { Command } from 'commander';
import type { Logger } from 'pino';
import { createLogger } from '../telemetry/logger.ts';
import { formatHostPort } from '../http/units.ts';
import { startGateway, type RunningGateway } from '../app/gateway.ts';
import { describeStoreLocation } from '../store/store-location.ts';
import { startGatewayWorker } from '../workers/gateway-worker.ts';
import { superviseWorkers } from '../workers/worker-supervisor.ts';
import { collect, loadCommandConfig, type StoreFlags } from './cli-support.ts';

interface ServeFlags extends StoreFlags {
  listen?: string;
  upstream?: string;
  allowIp?: string[];
  denyIp?: string[];
  trustProxy?: string[];
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
  redirectListen?: string;
  upstreamCa?: string;
  upstreamCert?: string;
  upstreamKey?: string;
  redis?: string;
  openapi?: string;
  adminListen?: string;
  workers?: string;
  staleFor?: string;
  healthListen?: string;
}

/** Serve flags beyond --listen/--upstream/--store, each with the config field it sets. */
const NETWORK_AND_TLS_FLAGS = [
  { flag: '--allow-ip', option: 'allowIp', field: 'network.allow' },
  { flag: '--deny-ip', option: 'denyIp', field: 'network.deny' },
  { flag: '--trust-proxy', option: 'trustProxy', field: 'network.trustProxy' },
  { flag: '--tls-cert', option: 'tlsCert', field: 'tls.cert' },
  { flag: '--tls-key', option: 'tlsKey', field: 'tls.key' },
  { flag: '--tls-client-ca', option: 'tlsClientCa', field: 'tls.clientCa' },
  { flag: '--redirect-listen', option: 'redirectListen', field: 'tls.redirectListen' },
  { flag: '--upstream-ca', option: 'upstreamCa', field: 'upstream.tls.ca' },
  { flag: '--upstream-cert', option: 'upstreamCert', field: 'upstream.tls.cert' },
  { flag: '--upstream-key', option: 'upstreamKey', field: 'upstream.tls.key' },
] as const;

/** What a person sees on start-up: where it listens, what it protects, and the next step. */
/** The parts of a running gateway (one process, or the supervisor of `--workers N`) the banner shows. */
interface BannerFacts {
  address: RunningGateway['address'];
  protocol: RunningGateway['protocol'];
  upstreamUrl: URL;
  usingExampleUpstream: boolean;
  adminUrl: string | null;
}

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
  return new Command('serve')
    .description('run the gateway')
    .option('--config <file>', 'config file (default ./portcullis.yaml when present)')
    .option('--listen <host:port>', 'public listener (default 127.0.0.1:8080)')
    .option('--upstream <url>', 'the API to protect, such as http://127.0.0.1:3000')
    .option('--store <path>', 'key store: SQLite file or postgres:// URL (default ./data/portcullis.db)')
    .option('--allow-ip <cidr>', 'serve only clients in this range (repeatable)', collect)
    .option('--deny-ip <cidr>', 'refuse clients in this range (repeatable)', collect)
    .option('--trust-proxy <cidr>', 'believe X-Forwarded-For from proxies in this range (repeatable)', collect)
    .option('--tls-cert <file>', 'PEM certificate (with chain): serve HTTPS')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-client-ca <file>', 'PEM CA of client certificates: mutual TLS')
    .option('--redirect-listen <host:port>', 'with TLS: a plaintext listener that only redirects to https')
    .option('--upstream-ca <file>', 'PEM CA that signs an https:// upstream')
    .option('--upstream-cert <file>', 'PEM client certificate for mutual TLS to the upstream')
    .option('--upstream-key <file>', 'PEM private key of --upstream-cert')
    .option('--redis <url>', 'Redis shared by several gateways for rate limits, quotas and lockout, such as redis://127.0.0.1:6379')
    .option('--openapi <file>', 'the API\'s OpenAPI document: only its routes are forwarded, and requests are validated against it')
    .option('--admin-listen <host:port>', 'admin API and dashboard listener (default 127.0.0.1:8081)')
    .option('--workers <n>', 'gateway processes on this host sharing the port (default 1)')
    .option('--stale-for <duration>', 'how long known keys keep working while the store is unreachable (default 5m)')
    .option('--health-listen <host:port>', 'serve GET /healthz and /readyz here (default off)')
    .action(async (flags: ServeFlags) => {
      const config = loadCommandConfig(flags, [
        { field: 'listen', value: flags.listen, flag: '--listen' },
        { field: 'upstream.url', value: flags.upstream, flag: '--upstream' },
        ...NETWORK_AND_TLS_FLAGS.map(({ flag, option, field }) => ({ field, value: flags[option], flag })),
        { field: 'redis.url', value: flags.redis, flag: '--redis' },
        { field: 'openapi.file', value: flags.openapi, flag: '--openapi' },
        { field: 'admin.listen', value: flags.adminListen, flag: '--admin-listen' },
        { field: 'workers', value: flags.workers !== undefined && /^\d+$/.test(flags.workers) ? Number(flags.workers) : flags.workers, flag: '--workers' },
        { field: 'changeFeed.staleFor', value: flags.staleFor, flag: '--stale-for' },
        { field: 'health.listen', value: flags.healthListen, flag: '--health-listen' },
      ]);
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
