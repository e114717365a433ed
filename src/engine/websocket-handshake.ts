import type { IncomingMessage } from 'node:http';
import { denial, type Denial } from '../http/error-catalogue.ts';

/**
 * The opening handshake of a WebSocket (RFC 6455 §4): which upgrade requests are WebSocket
 * upgrades, what makes one malformed, and the 101 the gateway relays to the client.
 */

/** A key is 16 random bytes in base64 (§4.1): 22 characters and `==`. */
const KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

const NOT_GET = denial('request_invalid', 'A WebSocket upgrade must be a GET request.');
const WITH_BODY = denial('request_invalid', 'A WebSocket upgrade request has no body.');
const BAD_KEY = denial('request_invalid', 'A WebSocket upgrade needs one Sec-WebSocket-Key: 16 bytes in base64.');
const BAD_VERSION = denial('request_invalid', 'Only WebSocket version 13 is supported.', [['sec-websocket-version', '13']]);

/** Whether an upgrade request (Node saw `Connection: upgrade` and an `Upgrade` header) asks for WebSocket, and only that. */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return typeof upgrade === 'string' && upgrade.trim().toLowerCase() === 'websocket';
}

/** Whether a request declares a body (Content-Length other than 0, or Transfer-Encoding). */
export function declaresBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** What is wrong with a WebSocket upgrade's own fields (§4.2.1), or null; checked before the pipeline, which then judges it as any request. */
export function handshakeProblem(req: IncomingMessage): Denial | null {
  if (req.method !== 'GET') return NOT_GET;
  if (declaresBody(req)) return WITH_BODY;
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) return BAD_KEY;
  if (req.headers['sec-websocket-version'] !== '13') return BAD_VERSION;
  return null;
}

/**
 * The 101 to the client: the upstream's headers (hop-by-hop ones already removed; its
 * `Sec-WebSocket-Accept` answers the client's own key, which the gateway forwarded) and the
 * headers the gateway adds to every response of the request.
 */
export function switchingProtocolsHead(headers: readonly string[]): string {
  let head = 'HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n';
  for (let index = 0; index < headers.length; index += 2) head += `${headers[index] as string}: ${headers[index + 1] as string}\r\n`;
  return `${head}\r\n`;
}

/** Whether the upstream's 101 names an extension: none was offered (the gateway removed the client's offer), so none may be in use. */
export function namesExtension(headers: readonly string[]): boolean {
  for (let index = 0; index < headers.length; index += 2) if ((headers[index] as string).toLowerCase() === 'sec-websocket-extensions') return true;
  return false;
}

/** The request headers without `Sec-WebSocket-Extensions`: no compression, so a frame's length is its message's size. */
export function withoutExtensionOffer(headers: readonly string[]): string[] {
  const kept: string[] = [];
  for (let index = 0; index < headers.length; index += 2) {
    if ((headers[index] as string).toLowerCase() !== 'sec-websocket-extensions') kept.push(headers[index] as string, headers[index + 1] as string);
  }
  return kept;
}
