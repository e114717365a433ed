/**
 * The "Node.js limit" over HTTP/2: bench/peers/bare-proxy.ts with an `http2.createSecureServer`
 * listener (`allowHTTP1: true`, Node's HTTP/2 defaults, the given certificate), each HTTP/2
 * request reshaped for the HTTP/1.1 upstream (pseudo-headers dropped, `:authority` as `Host`)
 * and forwarded through the same undici pool. The `portcullis-h2` row is compared with it.
 *
 * Usage: node bench/peers/bare-h2-proxy.ts <port> <upstream origin> <cert.pem> <key.pem>
 * Prints `listening <port>` once it accepts connections.
 */
const [, , port, upstream, cert, key] = process.argv;
if (port === undefined || upstream === undefined || cert === undefined || key === undefined) {
  process.stderr.write('usage: node bench/peers/bare-h2-proxy.ts <port> <upstream origin> <cert.pem> <key.pem>\n');
  process.exit(2);
}
process.env['BARE_PROXY_TLS_CERT'] = cert;
process.env['BARE_PROXY_TLS_KEY'] = key;
process.env['BARE_PROXY_HTTP2'] = '1';
await import('./bare-proxy.ts');
