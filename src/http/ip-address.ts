/**
 * IP address parsing for the network checks. Pure functions that never throw on input: an
 * address either parses to one canonical form or is refused (null).
 *
 * - IPv4 is dotted-quad only: four decimal parts 0–255 without leading zeros. `010.0.0.1`
 *   is refused, because some resolvers read it as octal (8.0.0.1) and others as decimal; an
 *   allowlist and a backend that disagree on an address are a bypass.
 * - IPv6 is RFC 4291 text (with `::` and an embedded IPv4 tail); zone ids (`fe80::1%eth0`)
 *   are refused: they name an interface, not a client.
 * - IPv4-mapped IPv6 (`::ffff:a.b.c.d`, in any spelling) IS the IPv4 address: a dual-stack
 *   listener reports IPv4 clients that way, and a rule for 10.0.0.0/8 must match them.
 */

/** A parsed address. IPv6 is four 32-bit words, most significant first. */
export type IpAddress =
  | { readonly family: 4; readonly value: number }
  | { readonly family: 6; readonly words: readonly [number, number, number, number] };

function parseDecimalOctet(text: string, start: number, end: number): number {
  const length = end - start;
  if (length < 1 || length > 3) return -1;
  if (length > 1 && text.charCodeAt(start) === 48 /* 0 */) return -1;
  let value = 0;
  for (let index = start; index < end; index++) {
    const digit = text.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value > 255 ? -1 : value;
}

/** `a.b.c.d` → the address as an unsigned 32-bit number, or -1. */
function parseIpv4Value(text: string, start = 0, end = text.length): number {
  let value = 0;
  let partStart = start;
  let parts = 0;
  for (let index = start; index <= end; index++) {
    if (index !== end && text.charCodeAt(index) !== 46 /* . */) continue;
    const octet = parseDecimalOctet(text, partStart, index);
    if (octet < 0 || ++parts > 4) return -1;
    value = value * 256 + octet;
    partStart = index + 1;
  }
  return parts === 4 ? value : -1;
}

function parseHexGroup(text: string): number {
  if (text.length < 1 || text.length > 4) return -1;
  let value = 0;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    let digit: number;
    if (code >= 48 && code <= 57) digit = code - 48;
    else if (code >= 97 && code <= 102) digit = code - 87;
    else if (code >= 65 && code <= 70) digit = code - 55;
    else return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Eight 16-bit groups, or null. */
function parseIpv6Groups(text: string): number[] | null {
  if (text.length < 2 || text.length > 45) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseSide = (side: string, allowIpv4Tail: boolean): number[] | null => {
    if (side === '') return [];
    const parts = side.split(':');
    const groups: number[] = [];
    for (let index = 0; index < parts.length; index++) {
      const part = parts[index] as string;
      if (allowIpv4Tail && index === parts.length - 1 && part.includes('.')) {
        const value = parseIpv4Value(part);
        if (value < 0) return null;
        groups.push(Math.floor(value / 65536), value % 65536);
        continue;
      }
      const group = parseHexGroup(part);
      if (group < 0) return null;
      groups.push(group);
    }
    return groups;
  };
  if (halves.length === 1) {
    const groups = parseSide(text, true);
    return groups !== null && groups.length === 8 ? groups : null;
  }
  const head = parseSide(halves[0] as string, false);
  const tail = parseSide(halves[1] as string, true);
  if (head === null || tail === null || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * Parses an IPv4 or IPv6 address (no brackets, no port, no zone). IPv4-mapped IPv6 comes back
 * as IPv4. Returns null for anything else; never throws.
 *
 * @example parseIpAddress('::ffff:10.0.0.1') // { family: 4, value: 167772161 }
 */
export function parseIpAddress(text: unknown): IpAddress | null {
  if (typeof text !== 'string' || text.length === 0) return null;
  if (!text.includes(':')) {
    const value = parseIpv4Value(text);
    return value < 0 ? null : { family: 4, value };
  }
  const groups = parseIpv6Groups(text);
  if (groups === null) return null;
  const words = [0, 2, 4, 6].map((index) => (groups[index] as number) * 65536 + (groups[index + 1] as number)) as [number, number, number, number];
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) return { family: 4, value: words[3] };
  return { family: 6, words };
}

function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/**
 * The canonical text of an address: dotted-quad for IPv4, RFC 5952 for IPv6 (lower case,
 * leading zeros dropped, the longest run of two or more zero groups as `::`).
 */
export function formatIpAddress(address: IpAddress): string {
  if (address.family === 4) return formatIpv4(address.value);
  const groups: number[] = [];
  for (const word of address.words) groups.push(Math.floor(word / 65536), word % 65536);
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Parses and re-formats an address in canonical text, or null when it does not parse. */
export function canonicalIpAddress(text: unknown): string | null {
  const address = parseIpAddress(text);
  return address === null ? null : formatIpAddress(address);
}
