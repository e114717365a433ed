import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Denial } from '../http/error-catalogue.ts';
import { PROBLEM_CONTENT_TYPE, problemBody, sendProblem } from '../http/problem-response.ts';

/**
 * Refusing a request whose body is still on the wire, without reading it.
 *
 * Node's server, once a response is finished, reads ("dumps") whatever is left of the request
 * body, to the end, so that the connection can carry the next request: a refused 1 GB upload
 * without a key would be read in full. So such a refusal is answered on the socket itself: the
 * socket stops reading at once, the problem is written with `Connection: close`, the socket is
 * half-closed once the answer is flushed, and destroyed after a short grace. The grace lets the
 * client read the answer before the reset that unread data provokes (the reason HTTP servers
 * linger before closing, RFC 9112 §9.6); during it nothing is read, so the client's sending
 * stalls on a full window. Node never finishes the response, so it never dumps the body.
 *
 * Named functions and timer arguments only: nothing here allocates a closure per request.
 */

/** How long a half-closed connection may stay before it is destroyed. */
const LINGER_MS = 1000;

/**
 * Sends `denial` as problem+json on `res` and closes the connection without reading the rest of
 * the request body. `res` carries the headers set so far (HSTS, RateLimit fields, CORS).
 */
export function sendProblemAndClose(res: ServerResponse, denial: Denial, requestId: string): void {
  // HTTP/2 (http2-edge.ts): the connection is shared by other requests and is not closed; once
  // the answer is sent, Node resets this stream alone (RST_STREAM NO_ERROR, RFC 9113 §8.1),
  // which tells the client to stop sending its body.
  if (res.req?.httpVersionMajor === 2) return sendProblem(res, denial, requestId);
  const socket = res.socket;
  // A response queued behind another on a pipelined connection (or one already begun, or a
  // client already gone) cannot be written here: Node's own path, told to close.
  if (socket === null || res.headersSent || !socket.writable) {
    res.shouldKeepAlive = false;
    sendProblem(res, denial, requestId);
    return;
  }
  socket.pause();
  const body = problemBody(denial);
  // Set on the response first, so Node validates every name and value as it would its own.
  res.statusCode = denial.status;
  res.setHeader('content-type', PROBLEM_CONTENT_TYPE);
  res.setHeader('content-length', Buffer.byteLength(body));
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-request-id', requestId);
  if (denial.headers) for (const [name, value] of denial.headers) res.setHeader(name, value);
  res.setHeader('connection', 'close');
  res.setHeader('date', new Date().toUTCString());
  let head = `HTTP/1.1 ${denial.status} ${STATUS_CODES[denial.status] ?? ''}\r\n`;
  for (const name of res.getHeaderNames()) {
    const value = res.getHeader(name);
    if (Array.isArray(value)) for (const item of value) head += `${name}: ${item}\r\n`;
    else head += `${name}: ${String(value)}\r\n`;
  }
  // Header values are Latin-1 to HTTP (and to Node's own writer); the body is UTF-8.
  socket.write(`${head}\r\n`, 'latin1');
  if (res.req.method === 'HEAD') socket.end();
  else socket.end(body, 'utf8');
  socket.once('finish', lingerThenDestroy);
}

function lingerThenDestroy(this: Socket): void {
  setTimeout(destroySocket, LINGER_MS, this).unref();
}

function destroySocket(socket: Socket): void {
  socket.destroy();
}
