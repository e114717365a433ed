/**
 * An upstream that misbehaves on purpose, written on raw TCP so it can send what no HTTP
 * server library would: the request path picks the fault. Keep-alive works for `/ok`, so
 * healthy and broken exchanges share the gateway's connection pool as in production.
 *
 * | path            | what the upstream does                                                |
 * |-----------------|-----------------------------------------------------------------------|
 * | `/ok`           | 200 with a small body, connection kept alive                          |
 * | `/reset-before` | resets the connection (RST) without sending a byte                    |
 * | `/reset-mid`    | sends the head and 100 of 1000 body bytes, then resets                |
 * | `/bad-status`   | a status line that is not HTTP (`HTTP/1.1 abc Nope`)                  |
 * | `/bad-header`   | a header whose name holds a space, which HTTP/1.1 forbids             |
 * | `/hang`         | reads the request and never answers                                   |
 * | `/slow-body`    | sends the head and 2 of 10 body bytes, then pauses for `slowPauseMs`  |
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';

export interface FaultyUpstream {
  url: string;
  /** Requests received, by path. */
  received: Map<string, number>;
  close(): Promise<void>;
}

const OK_BODY = '{"ok":true}';

function answer(socket: Socket, path: string, slowPauseMs: number): 'keep-alive' | 'done' {
  switch (path) {
    case '/ok':
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${OK_BODY.length}\r\nkeep-alive: timeout=5\r\n\r\n${OK_BODY}`);
      return 'keep-alive';
    case '/reset-before':
      socket.resetAndDestroy();
      return 'done';
    case '/reset-mid':
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000\r\n\r\n${'x'.repeat(100)}`, () => setTimeout(() => socket.resetAndDestroy(), 20));
      return 'done';
    case '/bad-status':
      socket.end('HTTP/1.1 abc Nope\r\ncontent-length: 0\r\n\r\n');
      return 'done';
    case '/bad-header':
      socket.end('HTTP/1.1 200 OK\r\nBad Header: x\r\ncontent-length: 2\r\n\r\nok');
      return 'done';
    case '/hang':
      return 'done';
    case '/slow-body': {
      socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 10\r\n\r\nab');
      const timer = setTimeout(() => socket.end('cdefghij'), slowPauseMs);
      socket.once('close', () => clearTimeout(timer));
      return 'done';
    }
    default:
      socket.end('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      return 'done';
  }
}

/** Starts it on a free loopback port. Requests must have no body (GET). */
export async function startFaultyUpstream(options: { slowPauseMs?: number } = {}): Promise<FaultyUpstream> {
  const slowPauseMs = options.slowPauseMs ?? 5000;
  const received = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    let open = true;
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); open && end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        const path = (head.split(' ')[1] ?? '').split('?')[0] ?? '';
        received.set(path, (received.get(path) ?? 0) + 1);
        open = answer(socket, path, slowPauseMs) === 'keep-alive';
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
