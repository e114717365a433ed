import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { createCidrMatcher } from '../http/cidr.ts';
import { formatIpAddress, parseIpAddress, type IpAddress } from '../http/ip-address.ts';
import type { ResolvedClient } from '../http/resolved-client.ts';
import { INVALID_NODE, parseForwarded, parseNode, parseXForwardedFor, UNKNOWN_NODE, type ChainEntry } from '../http/forwarding-chain.ts';

/**
 * Who is the client? (Pipeline stage 2.)
 *
 * By default: the socket's peer. Headers that name a client (`X-Forwarded-For`, `Forwarded`,
 * `X-Real-IP`) are written by whoever sent the request, so they are believed only when the
 * socket's peer is a configured trusted proxy (`--trust-proxy CIDR`). Then the client is the
 * RIGHTMOST address in the chain that is not itself a trusted proxy: each proxy appends the
 * address it saw, so entries to the right of that one were written by proxies we trust, and
 * everything to its left was written by the client and may be invented. Taking the leftmost
 * entry instead, as many frameworks do, lets any client choose its address by sending
 * `X-Forwarded-For: 10.0.0.1`.
 *
 * Whatever cannot be read (a malformed header, an `unknown` or obfuscated node where the client
 * should be, a single-value header sent twice) falls back to the socket address, which is the
 * one address no client can forge. So the result is always either the socket address or an
 * address that a trusted proxy appended (the property test in client-address.test.ts checks this).
 */

export interface ClientAddressOptions {
  /** CIDRs of proxies whose forwarding headers are believed. Empty: none are. */
  trustProxy: readonly string[];
  /** `x-forwarded-for`, `forwarded`, or the name of a single-value header such as `x-real-ip`. */
  header: string;
}

export type ClientAddressResolver = (req: IncomingMessage) => ResolvedClient;

/** What a socket reports when it has no address (already closed): matches no allowlist entry. */
const NO_ADDRESS: IpAddress = { family: 6, words: [0, 0, 0, 0] };

const SOCKET_CLIENT: unique symbol = Symbol('portcullis socket client');
type SocketWithClient = Socket & { [SOCKET_CLIENT]?: ResolvedClient };

/** The socket peer as a ResolvedClient, computed once per connection. */
function socketClientOf(socket: SocketWithClient): ResolvedClient {
  const cached = socket[SOCKET_CLIENT];
  if (cached !== undefined) return cached;
  const ip = parseIpAddress(socket.remoteAddress) ?? NO_ADDRESS;
  const address = socket.remoteAddress === undefined ? '' : formatIpAddress(ip);
  const client: ResolvedClient = { address, ip, chain: [address] };
  socket[SOCKET_CLIENT] = client;
  return client;
}

/** Header lines named `name` (lower case), joined with `,` in order; null when absent. */
function joinedHeader(rawHeaders: readonly string[], name: string): { value: string; lines: number } | null {
  let value: string | null = null;
  let lines = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const header = rawHeaders[index] as string;
    if (header.length !== name.length || header.toLowerCase() !== name) continue;
    value = value === null ? (rawHeaders[index + 1] as string) : `${value},${rawHeaders[index + 1] as string}`;
    lines++;
  }
  return value === null ? null : { value, lines };
}

/**
 * Picks the client from a chain (left to right) received from the trusted peer `peer`.
 * Exported for the property tests; `isTrusted` says whether an address is a trusted proxy.
 */
function pickClient(entries: readonly ChainEntry[], peer: ResolvedClient, isTrusted: (ip: IpAddress) => boolean): ResolvedClient {
  let index = entries.length - 1;
  for (; index >= 0; index--) {
    const entry = entries[index] as ChainEntry;
    if (entry === INVALID_NODE || entry === UNKNOWN_NODE) return peer;
    if (!isTrusted(entry)) break;
  }
  // Every entry is a trusted proxy: the leftmost was still appended by one of them.
  if (index < 0) {
    if (entries.length === 0) return peer;
    index = 0;
  }
  const chain: string[] = [];
  for (let position = index; position < entries.length; position++) chain.push(formatIpAddress(entries[position] as IpAddress));
  chain.push(peer.address);
  const ip = entries[index] as IpAddress;
  return { address: chain[0] as string, ip, chain };
}

/**
 * Compiles the resolver. Throws (naming the entry) on an invalid `trustProxy` CIDR.
 *
 * @example
 * const resolve = createClientAddressResolver({ trustProxy: ['10.0.0.0/8'], header: 'x-forwarded-for' });
 * resolve(req).address // '203.0.113.7'
 */
export function createClientAddressResolver(options: ClientAddressOptions): ClientAddressResolver {
  if (options.trustProxy.length === 0) return (req) => socketClientOf(req.socket);
  const trusted = createCidrMatcher(options.trustProxy, 'network.trustProxy');
  const isTrusted = (ip: IpAddress) => trusted.matches(ip);
  const header = options.header.toLowerCase();
  const readChain: (value: string, lines: number) => ChainEntry[] | null =
    header === 'x-forwarded-for'
      ? (value) => parseXForwardedFor(value)
      : header === 'forwarded'
        ? (value) => parseForwarded(value)
        : // A single-value header (X-Real-IP and the like): two lines mean two writers, so neither is believed.
          (value, lines) => (lines === 1 ? [parseNode(value)] : null);
  return function resolveClientAddress(req) {
    const peer = socketClientOf(req.socket);
    if (!trusted.matches(peer.ip)) return peer;
    const found = joinedHeader(req.rawHeaders, header);
    if (found === null) return peer;
    const entries = readChain(found.value, found.lines);
    return entries === null ? peer : pickClient(entries, peer, isTrusted);
  };
}
