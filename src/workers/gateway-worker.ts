import type { Logger } from 'pino';
import type { Config } from '../app/config.ts';
import { startGateway, type RunningGateway } from '../app/gateway.ts';
import { HEALTH_REPORT_INTERVAL_MS, WORKER_PORT_VARIABLE, WORKER_SERVES_ADMIN_VARIABLE, type WorkerMessage } from './worker-messages.ts';

function send(message: WorkerMessage): void {
  process.send?.(message);
}

/**
 * One worker of `--workers N`: a complete gateway (its own key cache, change-feed follower
 * and usage batches) that listens on the shared port and reports to the supervisor. On
 * SIGTERM it tells the supervisor it drains, so that its replacement starts at once (a
 * restart of one worker while the others serve).
 *
 * With `reuse-port` balancing the worker binds the port itself with SO_REUSEPORT; the first
 * worker may bind port 0, and the supervisor hands the port it got to the others. With
 * `cluster` balancing the supervisor owns the socket and hands connections over. Only the
 * worker the supervisor marks (`WORKER_SERVES_ADMIN_VARIABLE`) serves the admin listener.
 */
export async function startGatewayWorker(config: Config, logger: Logger): Promise<RunningGateway> {
  const assignedPort = process.env[WORKER_PORT_VARIABLE];
  const listen = assignedPort === undefined ? config.listen : { host: config.listen.host, port: Number(assignedPort) };
  const gateway = await startGateway({ ...config, listen }, logger, { workerBalancing: config.workerBalancing, serveHealth: false, serveAdmin: process.env[WORKER_SERVES_ADMIN_VARIABLE] === '1' });
  send({
    type: 'portcullis:listening',
    address: gateway.address,
    protocol: gateway.protocol,
    upstreamUrl: gateway.upstreamUrl.href,
    usingExampleUpstream: gateway.usingExampleUpstream,
    adminUrl: gateway.admin?.url ?? null,
  });
  const reportHealth = () => send({ type: 'portcullis:health', report: gateway.health() });
  reportHealth();
  const timer = setInterval(reportHealth, HEALTH_REPORT_INTERVAL_MS);
  timer.unref();
  return {
    ...gateway,
    stop() {
      // The gateway is draining from this call on: say so at once, so that the supervisor's
      // combined health shows it and a replacement starts while this worker drains.
      const stopping = gateway.stop();
      send({ type: 'portcullis:draining' });
      reportHealth();
      return stopping;
    },
  };
}
