import { formatIpAddress, parseIpAddress, type IpAddress } from '../../http/ip-address.ts';

/**
 * The network an address belongs to, for a key's profile: its /24 for IPv4 and its /48 for
 * IPv6 (what one site or one provider's customer usually holds), as one number, so the
 * request path keys a map with it and allocates nothing. IPv4 networks are negative and IPv6
 * ones not, so the two families never meet; a /48 is 48 bits, exact in a double.
 */
export function networkOf(ip: IpAddress): number {
  if (ip.family === 4) return -1 - (ip.value >>> 8);
  return ip.words[0] * 65536 + (ip.words[1] >>> 16);
}

/** The network in CIDR notation (`203.0.113.0/24`, `2001:db8:1::/48`), for evidence and the store. */
export function formatNetwork(network: number): string {
  if (network < 0) return `${formatIpAddress({ family: 4, value: ((-1 - network) * 256) >>> 0 })}/24`;
  const high = Math.floor(network / 65536);
  return `${formatIpAddress({ family: 6, words: [high, (network % 65536) * 65536, 0, 0] })}/48`;
}

/** The network of a CIDR that `formatNetwork` wrote, or null for anything else. */
export function parseNetwork(text: string): number | null {
  const slash = text.indexOf('/');
  if (slash < 0) return null;
  const ip = parseIpAddress(text.slice(0, slash));
  const length = text.slice(slash + 1);
  if (ip === null || length !== (ip.family === 4 ? '24' : '48')) return null;
  const network = networkOf(ip);
  return formatNetwork(network) === text ? network : null;
}
