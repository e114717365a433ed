/**
 * The benchmark's upstream: answers every request with the same small JSON
 * body, so that every row of the benchmark measures the hop in front of it and
 * not the work behind it. Request bodies are read and discarded (a body left
 * unread would stall a keep-alive connection).
 *
 * Usage: node bench/peers/upstream.ts [port]   (or UPSTREAM_PORT; 0 picks a free port)
 * Prints `listening <port>` once it accepts connections.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const body = Buffer.from(JSON.stringify({
  ok: true,
  service: 'bench-upstream',
  message: 'a small fixed body so the hop dominates',
  n: 42,
}));

// Built once: the response headers never change.
const responseHeaders = [
  'content-type', 'application/json',
  'content-length', String(body.length),
];

function answer(req: IncomingMessage, res: ServerResponse): void {
  // `resume()` discards any body; for a bodyless GET it costs next to nothing.
  req.resume();
  res.writeHead(200, responseHeaders);
  res.end(body);
}

const port = Number(process.argv[2] ?? process.env['UPSTREAM_PORT'] ?? 0);

const server = createServer({ keepAlive: true, keepAliveTimeout: 60_000 }, answer);
// Benchmarks hold connections open for the whole run; never time them out.
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.requestTimeout = 0;
server.listen(port, '127.0.0.1', function announce() {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});

function shutDown(): void {
  server.close();
  server.closeAllConnections();
}
process.on('SIGTERM', shutDown);
process.on('SIGINT', shutDown);
