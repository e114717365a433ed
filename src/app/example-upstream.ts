import { createServer, type Server } from 'node:http';

/**
 * A tiny API that `serve` starts when no upstream is configured, so a first run shows the
 * whole path working. It echoes what it received — which shows that the key never arrives and
 * that the gateway added `X-Portcullis-Key-Id`. Clearly labelled in every response.
 */
function createExampleUpstream(): Server {
  return createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify(
        {
          message: 'Hello from the Portcullis EXAMPLE upstream. Point the gateway at your own API with --upstream URL.',
          method: req.method,
          path: req.url,
          receivedHeaders: req.headers,
        },
        null,
        2,
      ) + '\n';
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-example-upstream': 'true' });
      res.end(body);
    });
  });
}

export async function startExampleUpstream(): Promise<{ server: Server; url: URL }> {
  const server = createExampleUpstream();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('example upstream has no address');
  return { server, url: new URL(`http://127.0.0.1:${address.port}`) };
}
