/**
 * One frontend server instance: it serves a small single-page app, and answers the page's
 * `/api/…` calls by calling the Shop API through Portcullis, server-side, with this instance's
 * own key. The browser never sees the key; it sees only this server's answers.
 *
 * The page can also call the API directly through Portcullis: it asks this server for a
 * delegated token (`POST /session/api-token`), which the server gets from Portcullis with its
 * key, bound to the browser's non-extractable DPoP key, read-only and for this page's origin
 * only; the page's `@portcullis/browser` client (served as `/dpop.js`) adds a proof to every call.
 *
 * Configured by environment variables (the demo's stack.ts sets them):
 *   FRONTEND_NAME        the instance's name, shown on the page (frontend-1)
 *   FRONTEND_LISTEN      host:port the page is served on (127.0.0.1:3001)
 *   PORTCULLIS_URL       the gateway (https://127.0.0.1:8443)
 *   PORTCULLIS_CA        the CA that signs the gateway's certificate (PEM)
 *   SOURCE_ADDRESS       the local address this instance connects to Portcullis from
 *                        (127.0.0.11): what the gateway's network allowlist sees
 *   FRONTEND_API_KEY     this instance's Portcullis key (an environment variable, never a
 *                        command-line argument, which any local user could read with `ps`)
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent, request } from 'node:https';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

const name = requiredEnv('FRONTEND_NAME');
const [host, port] = requiredEnv('FRONTEND_LISTEN').split(':') as [string, string];
const gateway = new URL(requiredEnv('PORTCULLIS_URL'));
const apiKey = requiredEnv('FRONTEND_API_KEY');
// One keep-alive agent: TLS to the gateway, verified against the CA, from this instance's address.
const agent = new Agent({ keepAlive: true, ca: readFileSync(requiredEnv('PORTCULLIS_CA')), localAddress: requiredEnv('SOURCE_ADDRESS') });

const publicFolder = join(import.meta.dirname, 'public');
// The browser client, from its TypeScript source with the types removed (no build step for the demo).
const browserClient = stripTypeScriptTypes(readFileSync(join(import.meta.dirname, '../../packages/browser/src/index.ts'), 'utf8'));
const pages: Record<string, { type: string; body: Buffer }> = {
  '/': { type: 'text/html; charset=utf-8', body: readFileSync(join(publicFolder, 'index.html')) },
  '/app.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(join(publicFolder, 'app.js')) },
  '/dpop.js': { type: 'text/javascript; charset=utf-8', body: Buffer.from(browserClient) },
};
/** What a delegated token may do: read the catalogue, nothing else this key may do (no orders). */
const BROWSER_SCOPES = ['catalog:read'];
const BROWSER_TOKEN_SECONDS = 600;
const MAX_BODY = 4096;

interface ApiAnswer {
  status: number;
  body: unknown;
}

/** Calls the API (or the gateway's token endpoint) through Portcullis with this instance's key. */
function callApi(method: string, path: string, body?: string): Promise<ApiAnswer> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const outgoing = request(new URL(path, gateway), { method, agent, headers, timeout: 5000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = { code: 'api_answer_not_json' };
        }
        resolve({ status: response.statusCode ?? 502, body: parsed });
      });
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error('timed out')));
    // The gateway unreachable or its certificate not trusted: say so, without the details.
    outgoing.on('error', (error) => {
      console.error(`${name}: calling Portcullis failed: ${error.message}`);
      resolve({ status: 502, body: { code: 'gateway_unreachable' } });
    });
    outgoing.end(body);
  });
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    // The page may call the gateway itself, with a delegated token; nothing else.
    'content-security-policy': `default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self' ${gateway.origin}`,
    'x-content-type-options': 'nosniff',
  });
  res.end(body);
}

function sendAnswer(res: ServerResponse, answer: ApiAnswer): void {
  send(res, answer.status, 'application/json', JSON.stringify({ instance: name, status: answer.status, body: answer.body }));
}

async function readBody(req: IncomingMessage): Promise<string | null> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A delegated token for the browser's DPoP key (`{"jkt": "…"}`), from Portcullis, for this
 * page's origin only. In a real app, only for a signed-in session.
 */
async function browserToken(req: IncomingMessage): Promise<ApiAnswer> {
  const body = await readBody(req);
  let jkt: unknown;
  try {
    jkt = body === null ? undefined : (JSON.parse(body) as { jkt?: unknown }).jkt;
  } catch {
    jkt = undefined;
  }
  if (typeof jkt !== 'string') return { status: 400, body: { code: 'jkt_missing' } };
  const origin = `http://${host}:${port}`;
  const answer = await callApi('POST', '/.well-known/portcullis/token', JSON.stringify({ jkt, scopes: BROWSER_SCOPES, origins: [origin], lifetime: BROWSER_TOKEN_SECONDS }));
  return answer;
}

/** The page's only ways to reach the API: two fixed operations and its token, not an open proxy. */
async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://frontend').pathname;
  if (req.method === 'POST' && path === '/session/api-token') return sendAnswer(res, await browserToken(req));
  if (req.method === 'GET' && path === '/session/gateway') return send(res, 200, 'application/json', JSON.stringify({ gateway: gateway.origin }));
  if (req.method === 'GET' && path === '/api/products') return sendAnswer(res, await callApi('GET', '/products'));
  if (req.method === 'POST' && path === '/api/orders') {
    const body = await readBody(req);
    if (body === null) return sendAnswer(res, { status: 413, body: { code: 'body_too_large' } });
    // The body goes to the API as the browser sent it: Portcullis validates it against the
    // API's OpenAPI document, so a malformed order is refused before the API sees it.
    return sendAnswer(res, await callApi('POST', '/orders', body));
  }
  const page = pages[path];
  if (req.method === 'GET' && page) return send(res, 200, page.type, page.body);
  send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
}

const server = createServer((req, res) => {
  handle(req, res).catch((error: unknown) => {
    console.error(`${name}: request failed`, error);
    if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
    else res.destroy();
  });
});
server.on('error', (error) => {
  console.error(`${name}: ${error.message}`);
  process.exit(1);
});
server.listen(Number(port), host, () => console.log(`${name} listening on http://${host}:${port}`));

function stop(): void {
  agent.destroy();
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
