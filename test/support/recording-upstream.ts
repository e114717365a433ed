import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  rawHeaders: string[];
}

export interface RecordingUpstream {
  url: string;
  requests: RecordedRequest[];
  server: Server;
  close(): Promise<void>;
}

/**
 * A real HTTP upstream on loopback that records what reached it. By default it answers
 * 200 with JSON `{ ok: true, path }`; pass a handler for anything else.
 */
export async function startRecordingUpstream(handler?: (req: IncomingMessage, res: ServerResponse) => void): Promise<RecordingUpstream> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method as string, url: req.url as string, headers: req.headers, rawHeaders: req.rawHeaders });
    if (handler) return handler(req, res);
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ ok: true, path: req.url });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
