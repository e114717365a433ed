import { connect, type TLSSocket } from 'node:tls';

/**
 * A client that writes HTTP/2 frames by hand over TLS (ALPN `h2`), for the floods Node's own
 * client will not send (it queues streams over the server's limit, and ends header blocks).
 */

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, CONTINUATION: 9 } as const;
export const FLAG = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;

export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export interface RawHttp2Connection {
  socket: TLSSocket;
  frames: Frame[];
  /** Resolves when the server closed the connection (or it failed). */
  closed: Promise<void>;
  send(type: number, flags: number, streamId: number, payload?: Buffer): boolean;
  /** The GOAWAY's error code, if the server sent one. */
  goAwayCode(): number | null;
}

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK "literal without indexing" with a new name (RFC 7541 §6.2.2); name and value under 127 bytes. */
export function literalHeader(name: string, value: string): Buffer {
  if (name.length > 126 || value.length > 126) throw new Error('short names and values only');
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

/** A GET's header block: `:method GET`, `:scheme https`, `:path /` (static table), `:authority`. */
export function getRequestBlock(authority: string, path = '/'): Buffer {
  const pathField = path === '/' ? Buffer.from([0x84]) : Buffer.concat([Buffer.from([0x04, path.length]), Buffer.from(path)]);
  return Buffer.concat([Buffer.from([0x82, 0x87]), pathField, Buffer.from([0x01, authority.length]), Buffer.from(authority)]);
}

export async function connectRawHttp2(port: number, ca: string | Buffer): Promise<RawHttp2Connection> {
  const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ALPNProtocols: ['h2'] });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  if (socket.alpnProtocol !== 'h2') throw new Error(`the server did not choose h2 (ALPN: ${String(socket.alpnProtocol)})`);
  const frames: Frame[] = [];
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) break;
      const received = { type: pending.readUInt8(3), flags: pending.readUInt8(4), streamId: pending.readUInt32BE(5) & 0x7fffffff, payload: pending.subarray(9, 9 + length) };
      frames.push(received);
      // Acknowledge the server's SETTINGS, as a client must.
      if (received.type === FRAME.SETTINGS && (received.flags & FLAG.ACK) === 0 && socket.writable) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
      pending = pending.subarray(9 + length);
    }
  });
  const closed = new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.on('error', () => {});
  });
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME.SETTINGS, 0, 0)]));
  return {
    socket,
    frames,
    closed,
    send: (type, flags, streamId, payload) => socket.writable && socket.write(frame(type, flags, streamId, payload)),
    goAwayCode: () => {
      const goAway = frames.find((each) => each.type === FRAME.GOAWAY);
      return goAway === undefined ? null : goAway.payload.readUInt32BE(4);
    },
  };
}
