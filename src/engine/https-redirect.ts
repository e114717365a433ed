import { createServer, type Server } from 'node:http';

const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(?::\d{1,5})?$/;

/**
 * The optional plaintext listener next to a TLS one (`tls.redirectListen`): it serves nothing,
 * only 308-redirects to the same host and path over https, so a client that typed http:// ends
 * up on TLS before it sends a key. No HSTS header here: RFC 6797 §7.2 forbids it over plain HTTP.
 * A request whose Host is missing or malformed gets 400 rather than a redirect to who knows where.
 */
export function createHttpsRedirectServer(httpsPort: number): Server {
  const portSuffix = httpsPort === 443 ? '' : `:${httpsPort}`;
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
    req.resume();
    const host = req.headers.host;
    const match = host === undefined ? null : HOST.exec(host);
    const path = req.url ?? '/';
    if (match === null || path.charCodeAt(0) !== 47 || path.charCodeAt(1) === 47) {
      res.writeHead(400, { 'content-type': 'text/plain', connection: 'close' });
      res.end('Use https.\n');
      return;
    }
    res.writeHead(308, { location: `https://${match[1] as string}${portSuffix}${path}`, 'content-length': 0, 'cache-control': 'no-store' });
    res.end();
  });
  return server;
}
