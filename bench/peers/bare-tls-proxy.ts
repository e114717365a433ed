/**
 * The "Node.js limit" over TLS: bench/peers/bare-proxy.ts with an HTTPS listener (node:https
 * defaults, the given certificate), so the TLS rows compare Portcullis over TLS with the least
 * a TLS-terminating Node.js proxy costs.
 *
 * Usage: node bench/peers/bare-tls-proxy.ts <port> <upstream origin> <cert.pem> <key.pem>
 * Prints `listening <port>` once it accepts connections.
 */
const [, , port, upstream, cert, key] = process.argv;
if (port === undefined || upstream === undefined || cert === undefined || key === undefined) {
  process.stderr.write('usage: node bench/peers/bare-tls-proxy.ts <port> <upstream origin> <cert.pem> <key.pem>\n');
  process.exit(2);
}
process.env['BARE_PROXY_TLS_CERT'] = cert;
process.env['BARE_PROXY_TLS_KEY'] = key;
await import('./bare-proxy.ts');
