import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { HEALTH_LISTEN, listenSharingPort } from '../engine/reuse-port-listen.ts';
import type { HostPort } from '../http/units.ts';
import { healthResponse, type HealthProbe, type HealthReport } from './health-report.ts';

export interface HealthServer {
  address: HostPort;
  close(): Promise<void>;
}

const PROBES: ReadonlyMap<string, HealthProbe> = new Map([
  ['/healthz', 'healthz'],
  ['/readyz', 'readyz'],
]);

function send(res: ServerResponse, statusCode: number, body: string, head: boolean): void {
  res.writeHead(statusCode, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

/**
 * Answers `GET /healthz` and `GET /readyz` (and HEAD) for a load balancer, with the report
 * from `currentReport()`. Anything else is 404 (or 405 for other methods). No key is asked
 * for, and nothing secret is in a report; bind it to an address only the load balancer
 * reaches (`health.listen`).
 */
function handleHealthRequest(currentReport: () => HealthReport) {
  return function answerHealthProbe(req: IncomingMessage, res: ServerResponse): void {
    const probe = PROBES.get((req.url ?? '').split('?')[0] ?? '');
    if (probe === undefined) return send(res, 404, '{"error":"not found: use /healthz or /readyz"}\n', false);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, '{"error":"method not allowed"}\n', false);
    }
    const report = currentReport();
    const { statusCode, body } = healthResponse(report, probe);
    // A draining process: a prober that keeps its connection asks again on a new one, which the
    // kernel gives to a process still listening on this port (SO_REUSEPORT), if there is one.
    if (report.phase === 'draining') res.setHeader('connection', 'close');
    send(res, statusCode, body, req.method === 'HEAD');
  };
}

/**
 * Starts the health listener on `listen`, with SO_REUSEPORT like every listener of the
 * gateway: a new process binds it while the old one drains (and answers 503 `draining`).
 */
export async function startHealthServer(listen: HostPort, currentReport: () => HealthReport): Promise<HealthServer> {
  const server = createServer({ headersTimeout: 5000, requestTimeout: 5000, keepAliveTimeout: 5000 }, handleHealthRequest(currentReport));
  const address = await listenSharingPort(server, listen, HEALTH_LISTEN);
  return {
    address,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
