import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
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
    const { statusCode, body } = healthResponse(currentReport(), probe);
    send(res, statusCode, body, req.method === 'HEAD');
  };
}

/** Starts the health listener on `listen`. */
export async function startHealthServer(listen: HostPort, currentReport: () => HealthReport): Promise<HealthServer> {
  const server = createServer({ headersTimeout: 5000, requestTimeout: 5000, keepAliveTimeout: 5000 }, handleHealthRequest(currentReport));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('health listener has no TCP address');
  return {
    address: { host: address.address, port: address.port },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
