import { formatIpAddress, parseIpAddress, type IpAddress } from './ip-address.ts';

/**
 * CIDR ranges and the matchers compiled from lists of them. A list is compiled once, at
 * start-up (or when a key record is first used); matching is a few integer operations per
 * range and never parses configuration.
 */

export interface CidrRange {
  readonly family: 4 | 6;
  /** The network address (host bits zero): one word for IPv4, four for IPv6. */
  readonly words: readonly number[];
  /** Per-word masks, same length as `words`. */
  readonly masks: readonly number[];
  readonly prefixLength: number;
}

/** A CIDR that cannot be compiled; the message names it and says why. */
export class InvalidCidrError extends Error {
  override name = 'InvalidCidrError';
}

function wordsOf(address: IpAddress): number[] {
  return address.family === 4 ? [address.value] : [...address.words];
}

function masksFor(prefixLength: number, wordCount: number): number[] {
  const masks: number[] = [];
  for (let index = 0; index < wordCount; index++) {
    const bits = Math.max(0, Math.min(32, prefixLength - index * 32));
    masks.push(bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0);
  }
  return masks;
}

/**
 * Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a single host). An IPv4-mapped
 * IPv6 range (`::ffff:10.0.0.0/104`) becomes the IPv4 range it names. Host bits must be zero:
 * `10.0.0.1/8` is refused rather than silently widened, since it is usually a typo.
 * Throws InvalidCidrError with a message that names the input.
 */
export function parseCidr(text: string): CidrRange {
  const shown = JSON.stringify(typeof text === 'string' ? text.slice(0, 60) : text);
  if (typeof text !== 'string') throw new InvalidCidrError(`Invalid CIDR ${shown}: expected a string such as 10.0.0.0/8 or 2001:db8::/32`);
  const slash = text.indexOf('/');
  const addressText = slash < 0 ? text : text.slice(0, slash);
  const address = parseIpAddress(addressText);
  if (address === null) throw new InvalidCidrError(`Invalid CIDR ${shown}: ${JSON.stringify(addressText.slice(0, 45))} is not an IPv4 or IPv6 address`);
  const writtenAsIpv6 = addressText.includes(':');
  const maxLength = writtenAsIpv6 ? 128 : 32;
  let prefixLength = maxLength;
  if (slash >= 0) {
    const lengthText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > maxLength) {
      throw new InvalidCidrError(`Invalid CIDR ${shown}: the prefix length must be a number from 0 to ${maxLength}`);
    }
    prefixLength = Number(lengthText);
  }
  if (writtenAsIpv6 && address.family === 4) {
    // ::ffff:a.b.c.d/N with N ≥ 96 is an IPv4 range; shorter prefixes would span non-mapped space.
    if (prefixLength < 96) throw new InvalidCidrError(`Invalid CIDR ${shown}: an IPv4-mapped range needs a prefix length of at least 96`);
    prefixLength -= 96;
  }
  const words = wordsOf(address);
  const masks = masksFor(prefixLength, words.length);
  const network = words.map((word, index) => (word & (masks[index] as number)) >>> 0);
  if (network.some((word, index) => word !== words[index])) {
    const suggestion = address.family === 4 ? { family: 4 as const, value: network[0] as number } : { family: 6 as const, words: network as [number, number, number, number] };
    throw new InvalidCidrError(`Invalid CIDR ${shown}: it has host bits set; did you mean ${formatIpAddress(suggestion)}/${prefixLength}?`);
  }
  return { family: address.family, words: network, masks, prefixLength };
}

/** Whether `address` lies in `range`. */
function rangeContains(range: CidrRange, address: IpAddress): boolean {
  if (address.family !== range.family) return false;
  if (address.family === 4) return ((address.value & (range.masks[0] as number)) >>> 0) === range.words[0];
  for (let index = 0; index < 4; index++) {
    if (((address.words[index] as number) & (range.masks[index] as number)) >>> 0 !== range.words[index]) return false;
  }
  return true;
}

/** A compiled list of ranges. */
export interface CidrMatcher {
  /** The ranges as given (for messages and docs). */
  readonly source: readonly string[];
  matches(address: IpAddress): boolean;
}

/**
 * Compiles a list of CIDRs. Throws InvalidCidrError naming the first bad entry and, when
 * given, where it came from (`--allow-ip`, `network.allow`, a key's allow list).
 *
 * @example createCidrMatcher(['10.0.0.0/8', '::1'], 'network.allow').matches(parseIpAddress('10.1.2.3')!) // true
 */
export function createCidrMatcher(cidrs: readonly string[], origin?: string): CidrMatcher {
  const ipv4: CidrRange[] = [];
  const ipv6: CidrRange[] = [];
  for (const cidr of cidrs) {
    let range: CidrRange;
    try {
      range = parseCidr(cidr);
    } catch (error) {
      if (origin !== undefined && error instanceof InvalidCidrError) throw new InvalidCidrError(`${origin}: ${error.message}`);
      throw error;
    }
    (range.family === 4 ? ipv4 : ipv6).push(range);
  }
  return {
    source: [...cidrs],
    matches(address) {
      const ranges = address.family === 4 ? ipv4 : ipv6;
      for (let index = 0; index < ranges.length; index++) if (rangeContains(ranges[index] as CidrRange, address)) return true;
      return false;
    },
  };
}
