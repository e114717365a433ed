import { connect } from 'node:net';

/**
 * One HTTP/1.1 exchange with exact bytes: the request is written as given (header names,
 * spellings, repeated lines and their order reach the gateway untouched, which no HTTP client
 * allows), on a fresh connection, and the response is read by its framing (Content-Length or
 * chunked), so a request that asks to keep the connection open does not hang the suite.
 */

export interface RawHttpResponse {
  status: number;
  /** Header lines in order, names in lower case. */
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Every value of a response header (lower-case name). */
export function headerValues(response: RawHttpResponse, name: string): string[] {
  return response.headers.filter(([line]) => line === name).map(([, value]) => value);
}

interface Head {
  status: number;
  headers: Array<[string, string]>;
  bodyStart: number;
}

function parseHead(buffer: Buffer): Head | null {
  const end = buffer.indexOf('\r\n\r\n');
  if (end === -1) return null;
  const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (match === null) throw new Error(`not an HTTP response: ${JSON.stringify((statusLine ?? '').slice(0, 100))}`);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  return { status: Number(match[1]), headers, bodyStart: end + 4 };
}

/** The body of a chunked message once its last chunk has arrived; null while incomplete. */
function dechunk(data: Buffer): Buffer | null {
  const parts: Buffer[] = [];
  let position = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', position);
    if (lineEnd === -1) return null;
    const size = Number.parseInt(data.subarray(position, lineEnd).toString('latin1').split(';')[0] as string, 16);
    if (Number.isNaN(size)) throw new Error('bad chunk size in response');
    // The last chunk, then optional trailer lines, then an empty line.
    if (size === 0) return data.indexOf('\r\n\r\n', lineEnd) === -1 ? null : Buffer.concat(parts);
    if (data.length < lineEnd + 2 + size + 2) return null;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    position = lineEnd + 2 + size + 2;
  }
}

/** The complete body, or null while more is expected (`closed`: the peer has closed the connection). */
function completeBody(head: Head, data: Buffer, closed: boolean): Buffer | null {
  const field = (name: string) => head.headers.find(([line]) => line === name)?.[1];
  if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200)) return Buffer.alloc(0);
  if (field('transfer-encoding')?.toLowerCase().includes('chunked')) return dechunk(data);
  const length = field('content-length');
  if (length !== undefined) return data.length >= Number(length) ? data.subarray(0, Number(length)) : null;
  return closed ? data : null;
}

/** Sends `bytes` to 127.0.0.1:`port` and reads one response. */
export function exchangeRaw(port: number, bytes: Buffer, timeoutMs = 10_000): Promise<RawHttpResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes));
    let received = Buffer.alloc(0);
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`no complete response within ${timeoutMs} ms`)), timeoutMs);
    function finish(outcome: RawHttpResponse | Error): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    }
    function tryComplete(closed: boolean): void {
      try {
        const head = parseHead(received);
        if (head === null) {
          if (closed) finish(new Error(`connection closed before a response head: ${JSON.stringify(received.toString('latin1').slice(0, 200))}`));
          return;
        }
        const body = completeBody(head, received.subarray(head.bodyStart), closed);
        if (body !== null) finish({ status: head.status, headers: head.headers, body });
        else if (closed) finish(new Error('connection closed before the response body was complete'));
      } catch (error) {
        finish(error as Error);
      }
    }
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      tryComplete(false);
    });
    socket.on('end', () => tryComplete(true));
    socket.on('error', (error) => finish(error));
  });
}
