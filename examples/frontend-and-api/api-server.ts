/**
 * The internal Shop API: a small JSON API that, like most internal APIs, trusts whatever
 * reaches it. Its only protection is where it sits: it speaks HTTPS with mutual TLS, and
 * accepts connections from exactly one client certificate, the one issued to Portcullis. So
 * every request it answers has passed the gateway's checks.
 *
 * Configured by environment variables (the demo's stack.ts sets them):
 *   API_LISTEN           host:port to listen on (127.0.0.1:9443)
 *   API_CERT, API_KEY    its server certificate and key (PEM)
 *   API_CLIENT_CA        the CA that signs client certificates (PEM)
 *   API_TRUSTED_CLIENT   the one client certificate accepted (PEM): Portcullis's
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

const [host, port] = requiredEnv('API_LISTEN').split(':') as [string, string];
const trustedClient = new X509Certificate(readFileSync(requiredEnv('API_TRUSTED_CLIENT'))).fingerprint256;

const options: ServerOptions = {
  cert: readFileSync(requiredEnv('API_CERT')),
  key: readFileSync(requiredEnv('API_KEY')),
  ca: readFileSync(requiredEnv('API_CLIENT_CA')),
  // Mutual TLS: a client without a certificate signed by the CA fails the handshake.
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: 'TLSv1.2',
};

const products = [
  { id: 'p1', name: 'Oak desk', priceCents: 34900, stock: 12 },
  { id: 'p2', name: 'Reading lamp', priceCents: 4900, stock: 40 },
  { id: 'p3', name: 'Wool rug', priceCents: 12900, stock: 7 },
];
const orders = new Map<number, { id: number; productId: string; quantity: number; placedBy: string }>();

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Which frontend instance called: Portcullis tells the API the name of the key it checked. */
function caller(req: IncomingMessage): string {
  return String(req.headers['x-portcullis-key-name'] ?? 'unknown');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://api.internal');
  const parts = url.pathname.split('/').filter(Boolean);
  if (req.method === 'GET' && url.pathname === '/products') {
    const limit = Number(url.searchParams.get('limit') ?? products.length);
    return sendJson(res, 200, { servedTo: caller(req), servedAt: new Date().toISOString(), products: products.slice(0, limit) });
  }
  if (req.method === 'GET' && parts[0] === 'products' && parts.length === 2) {
    const product = products.find((candidate) => candidate.id === parts[1]);
    return product ? sendJson(res, 200, product) : sendJson(res, 404, { code: 'product_not_found' });
  }
  if (req.method === 'POST' && url.pathname === '/orders') {
    // Portcullis has validated the body against the OpenAPI schema, so its shape is known.
    const body = (await readJson(req)) as { productId: string; quantity: number };
    if (!products.some((product) => product.id === body.productId)) return sendJson(res, 404, { code: 'product_not_found' });
    const order = { id: orders.size + 1, productId: body.productId, quantity: body.quantity, placedBy: caller(req) };
    orders.set(order.id, order);
    return sendJson(res, 201, order);
  }
  if (req.method === 'GET' && parts[0] === 'orders' && parts.length === 2) {
    const order = orders.get(Number(parts[1]));
    return order ? sendJson(res, 200, order) : sendJson(res, 404, { code: 'order_not_found' });
  }
  sendJson(res, 404, { code: 'not_found' });
}

const server = createServer(options, (req, res) => {
  handle(req, res).catch((error: unknown) => {
    console.error('api: request failed', error);
    if (!res.headersSent) sendJson(res, 500, { code: 'internal_error' });
    else res.destroy();
  });
});

// The CA signs other client certificates too (a frontend's, an intruder's): accept only
// Portcullis's, pinned by its SHA-256 fingerprint.
server.on('secureConnection', (socket: TLSSocket) => {
  const peer = socket.getPeerCertificate();
  if (peer.fingerprint256 !== trustedClient) {
    console.error(`api: refused a TLS client that is not Portcullis (subject CN ${String(peer.subject?.CN ?? 'none')})`);
    socket.destroy();
  }
});
server.on('tlsClientError', (error) => console.error(`api: TLS handshake refused: ${error.message}`));

server.on('error', (error) => {
  console.error(`${'api'}: ${error.message}`);
  process.exit(1);
});
server.listen(Number(port), host, () => console.log(`api listening on https://${host}:${port}`));
function stop(): void {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
