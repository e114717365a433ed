import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * A WebSocket echo server for tests, on `node:http`'s `upgrade` event with a small frame codec
 * of its own (RFC 6455), so the tests depend on no WebSocket library. It echoes every text and
 * binary message; the text `send:N` makes it send a binary message of N bytes instead. It
 * records every upgrade request and every ordinary request it receives.
 */
export interface EchoUpstream {
  url: string;
  /** Headers of every upgrade request that reached it. */
  upgrades: IncomingHttpHeaders[];
  /** Headers of every ordinary (non-upgrade) request. */
  requests: IncomingHttpHeaders[];
  /** Close frames it received: code and reason. */
  closes: Array<{ code: number; reason: string }>;
  /** Sockets of open WebSockets. */
  sockets: Set<Duplex>;
  /** With TLS and a client CA: the common name of each upgrade's client certificate. */
  clientNames: Array<string | null>;
  close(): Promise<void>;
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

function frame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x80 | opcode, length]) : length < 0x10000 ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 0xff]) : Buffer.concat([Buffer.from([0x80 | opcode, 127]), (() => {
    const bytes = Buffer.alloc(8);
    bytes.writeBigUInt64BE(BigInt(length));
    return bytes;
  })()]);
  return Buffer.concat([header, payload]);
}

/** Reads whole client frames out of `buffer`; returns the frames and what is left. */
function readFrames(buffer: Buffer): { frames: Array<{ opcode: number; payload: Buffer }>; rest: Buffer } {
  const frames: Array<{ opcode: number; payload: Buffer }> = [];
  let at = 0;
  for (;;) {
    if (buffer.length - at < 2) break;
    const opcode = (buffer[at] as number) & 0x0f;
    let length = (buffer[at + 1] as number) & 0x7f;
    let offset = at + 2;
    if (length === 126) {
      if (buffer.length < offset + 2) break;
      length = buffer.readUInt16BE(offset);
      offset += 2;
    } else if (length === 127) {
      if (buffer.length < offset + 8) break;
      length = Number(buffer.readBigUInt64BE(offset));
      offset += 8;
    }
    if (buffer.length < offset + 4 + length) break;
    const mask = buffer.subarray(offset, offset + 4);
    const payload = Buffer.from(buffer.subarray(offset + 4, offset + 4 + length));
    for (let index = 0; index < payload.length; index++) payload[index] = (payload[index] as number) ^ (mask[index % 4] as number);
    frames.push({ opcode, payload });
    at = offset + 4 + length;
  }
  return { frames, rest: buffer.subarray(at) };
}

function serveWebSocket(socket: Duplex, upstream: EchoUpstream): void {
  upstream.sockets.add(socket);
  socket.on('close', () => upstream.sockets.delete(socket));
  socket.on('error', () => socket.destroy());
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    const { frames, rest } = readFrames(Buffer.concat([buffered, chunk]));
    buffered = rest;
    for (const { opcode, payload } of frames) {
      if (opcode === 8) {
        upstream.closes.push({ code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString() });
        socket.end(frame(8, payload.subarray(0, 2)));
        return;
      }
      if (opcode === 9) socket.write(frame(10, payload));
      const text = opcode === 1 ? payload.toString() : '';
      if (text.startsWith('send:')) socket.write(frame(2, Buffer.alloc(Number(text.slice(5)), 0x62)));
      else if (opcode === 1 || opcode === 2) socket.write(frame(opcode, payload));
    }
  });
}

/** Plain HTTP, or TLS with `cert` and `key` (and client certificates signed by `ca`, required). */
export async function startEchoUpstream(tls?: { cert: string; key: string; ca?: string }): Promise<EchoUpstream> {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    upstream.requests.push(req.headers);
    res.setHeader('content-type', 'text/plain');
    res.end(`plain ${req.method} ${req.url}`);
  };
  const server: Server = tls === undefined ? createServer(onRequest) : createTlsServer({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, onRequest);
  server.on('tlsClientError', () => {});
  const upstream: EchoUpstream = { url: '', upgrades: [], requests: [], closes: [], sockets: new Set(), clientNames: [], close: () => new Promise((resolve) => {
    for (const socket of upstream.sockets) socket.destroy();
    server.closeAllConnections();
    server.close(() => resolve());
  }) };
  server.on('upgrade', (req, socket: Duplex) => {
    upstream.upgrades.push(req.headers);
    if (tls !== undefined) upstream.clientNames.push(((socket as TLSSocket).getPeerCertificate().subject?.CN as string | undefined) ?? null);
    if (req.url?.startsWith('/refuse')) return void socket.end('HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 7\r\nconnection: close\r\n\r\nrefused');
    const accept = createHash('sha1').update(`${req.headers['sec-websocket-key'] as string}${GUID}`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`);
    serveWebSocket(socket, upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  upstream.url = `${tls === undefined ? 'http' : 'https'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return upstream;
}
