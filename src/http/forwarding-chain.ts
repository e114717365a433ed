import { parseIpAddress, type IpAddress } from './ip-address.ts';

/**
 * Parsers for the headers in which proxies pass on the address of the client they saw:
 * `X-Forwarded-For` (a comma-separated list, one address appended by each proxy) and RFC 7239
 * `Forwarded` (one element per proxy, each with a `for=` node). Pure; they never throw.
 *
 * An entry is an address, UNKNOWN (a node the proxy would not or could not name: `unknown`,
 * an obfuscated `_identifier`, an element without `for=`), or INVALID (it does not parse).
 */

export const UNKNOWN_NODE: unique symbol = Symbol('unknown node');
export const INVALID_NODE: unique symbol = Symbol('invalid node');
export type ChainEntry = IpAddress | typeof UNKNOWN_NODE | typeof INVALID_NODE;

const OBFUSCATED = /^_[A-Za-z0-9._-]+$/;
const PORT = /^(?:\d{1,5}|_[A-Za-z0-9._-]+)$/;

/**
 * One node, as written in X-Forwarded-For or in a `for=` value (quotes already removed):
 * `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`,
 * `unknown` or `_hidden`. Ports are allowed and dropped.
 */
export function parseNode(text: string): ChainEntry {
  const node = text.trim();
  if (node.length === 0 || node.length > 64) return INVALID_NODE;
  if (node.toLowerCase() === 'unknown' || OBFUSCATED.test(node)) return UNKNOWN_NODE;
  if (node.charCodeAt(0) === 91 /* [ */) {
    const close = node.indexOf(']');
    if (close < 0) return INVALID_NODE;
    const rest = node.slice(close + 1);
    if (rest !== '' && !(rest.charCodeAt(0) === 58 /* : */ && PORT.test(rest.slice(1)))) return INVALID_NODE;
    const inner = node.slice(1, close);
    if (!inner.includes(':')) return INVALID_NODE;
    return parseIpAddress(inner) ?? INVALID_NODE;
  }
  const colon = node.indexOf(':');
  if (colon >= 0 && node.indexOf(':', colon + 1) < 0) {
    // Exactly one colon: IPv4 with a port.
    if (!PORT.test(node.slice(colon + 1))) return INVALID_NODE;
    const address = parseIpAddress(node.slice(0, colon));
    return address !== null && !node.slice(0, colon).includes(':') ? address : INVALID_NODE;
  }
  return parseIpAddress(node) ?? INVALID_NODE;
}

/** The entries of X-Forwarded-For (all lines already joined with `,`), left to right. */
export function parseXForwardedFor(value: string): ChainEntry[] {
  return value.split(',').map(parseNode);
}

const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/**
 * The `for=` nodes of RFC 7239 `Forwarded` (all lines joined with `,`), one per element, left
 * to right; an element without `for=` is UNKNOWN. Returns null when the header does not follow
 * the grammar (RFC 7239 §4: elements separated by `,`, pairs by `;`, `token=token` or
 * `token="quoted string"`), or when an element names `for` twice.
 *
 * @example parseForwarded('for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"')
 */
export function parseForwarded(value: string): ChainEntry[] | null {
  const entries: ChainEntry[] = [];
  const length = value.length;
  let index = 0;
  let forNode: ChainEntry | null = null;
  let pairsInElement = 0;
  while (true) {
    index = skipSpace(value, index);
    const nameStart = index;
    while (index < length && TOKEN_CHAR.test(value[index] as string)) index++;
    const name = value.slice(nameStart, index).toLowerCase();
    index = skipSpace(value, index);
    if (name === '' || value[index] !== '=') {
      // An empty element (`a, , b`) is allowed by the list syntax; anything else is not.
      if (name === '' && pairsInElement === 0 && (index >= length || value[index] === ',')) {
        if (index >= length) break;
        index++;
        continue;
      }
      return null;
    }
    const pair = readPairValue(value, skipSpace(value, index + 1));
    if (pair === null) return null;
    index = pair.end;
    pairsInElement++;
    if (name === 'for') {
      if (forNode !== null) return null;
      forNode = parseNode(pair.text);
    }
    index = skipSpace(value, index);
    if (index >= length || value[index] === ',') {
      entries.push(forNode ?? UNKNOWN_NODE);
      forNode = null;
      pairsInElement = 0;
      if (index >= length) break;
      index++;
      continue;
    }
    if (value[index] !== ';') return null;
    index++;
  }
  return entries;
}

function skipSpace(value: string, index: number): number {
  while (index < value.length && (value[index] === ' ' || value[index] === '\t')) index++;
  return index;
}

/** A pair's value at `index`: a token, or a quoted string with its escapes undone; null when malformed. */
function readPairValue(value: string, index: number): { text: string; end: number } | null {
  const length = value.length;
  if (value[index] !== '"') {
    const start = index;
    while (index < length && TOKEN_CHAR.test(value[index] as string)) index++;
    return index === start ? null : { text: value.slice(start, index), end: index };
  }
  index++;
  let text = '';
  while (index < length && value[index] !== '"') {
    if (value[index] === '\\') index++;
    if (index >= length) return null;
    text += value[index];
    index++;
  }
  return index >= length ? null : { text, end: index + 1 };
}

/** `for=` value for an address: IPv6 in quotes and brackets, as RFC 7239 §6 requires. */
export function forwardedNodeValue(address: string): string {
  return address.includes(':') ? `"[${address}]"` : address;
}
