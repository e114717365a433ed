import type { Socket } from 'node:net';

/**
 * The address of the socket's peer, with IPv4-mapped IPv6 (`::ffff:a.b.c.d`) unwrapped so one
 * client has one spelling everywhere. Trusted-proxy resolution builds on this.
 */
export function socketAddressOf(socket: Socket): string {
  const address = socket.remoteAddress;
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
