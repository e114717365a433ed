import type { Socket } from 'node:net';
import type { IpAddress } from './ip-address.ts';

/** Who the client of a request is, as pipeline stage 2 resolved it (engine/client-address.ts). */
export interface ResolvedClient {
  /** Canonical text of the client address (IPv4-mapped IPv6 unwrapped). */
  readonly address: string;
  readonly ip: IpAddress;
  /**
   * The chain forwarded to the upstream in X-Forwarded-For, left to right: the client, then
   * every trusted proxy after it, then the socket peer. Only entries the gateway can vouch for.
   */
  readonly chain: readonly string[];
}

/**
 * The address of the socket's peer, with IPv4-mapped IPv6 (`::ffff:a.b.c.d`) unwrapped so one
 * client has one spelling everywhere.
 */
export function socketAddressOf(socket: Socket): string {
  const address = socket.remoteAddress;
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
