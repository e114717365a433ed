import { parseIpAddress } from './ip-address.ts';

/**
 * The `Host` header (RFC 9112 §3.2): `uri-host [ ":" port ]`, where uri-host is a reg-name, an
 * IPv4 address or a bracketed IPv6 address (RFC 3986 §3.2.2). The gateway forwards it to the
 * upstream as `X-Forwarded-Host` (and `Forwarded: host=`), where frameworks build URLs,
 * redirects and tenant names from it, so only a Host that reads one way everywhere passes.
 *
 * Narrower than RFC 3986 on purpose: a reg-name is unreserved characters only (letters,
 * digits, `-._~`; at most 255). RFC 3986 also allows percent-encodings and the sub-delimiters
 * `!$&'()*+,;=`, which no DNS name needs (international names travel as punycode) and which are
 * list and parameter separators in `X-Forwarded-Host` and `Forwarded`: frameworks split
 * `a.example,b.example` and read one or the other. IPvFuture and IPv6 zone identifiers are
 * refused. A port is 1 to 5 digits, at most 65535 (RFC 3986 allows an empty port; no client
 * needs to send one).
 */

const MAX_REG_NAME = 255;

/** Letters, digits and `-._~` (RFC 3986 `unreserved`), by character code. */
const UNRESERVED = new Uint8Array(128);
for (const character of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') UNRESERVED[character.charCodeAt(0)] = 1;

/** Whether `value[start, end)` is a port: 1 to 5 digits, at most 65535. */
function isPort(value: string, start: number, end: number): boolean {
  if (end - start < 1 || end - start > 5) return false;
  let port = 0;
  for (let index = start; index < end; index++) {
    const digit = value.charCodeAt(index) - 48;
    if (digit < 0 || digit > 9) return false;
    port = port * 10 + digit;
  }
  return port <= 65535;
}

/** Whether `value` from `start` is `]` then nothing or `:port`. */
function isPortSuffix(value: string, start: number): boolean {
  return start === value.length || (value.charCodeAt(start) === 58 /* : */ && isPort(value, start + 1, value.length));
}

/**
 * Whether a `Host` value is one the gateway accepts (see above). Never throws; runs on every
 * request, so it scans the value once and allocates only for an IPv6 literal.
 *
 * @example isValidHost('api.example:8443') // true
 * @example isValidHost('a.example,b.example') // false
 */
export function isValidHost(value: string): boolean {
  if (value.charCodeAt(0) === 91 /* [ */) {
    const close = value.indexOf(']');
    if (close === -1) return false;
    const literal = value.slice(1, close);
    return literal.includes(':') && parseIpAddress(literal) !== null && isPortSuffix(value, close + 1);
  }
  let index = 0;
  while (index < value.length) {
    const code = value.charCodeAt(index);
    if (code === 58 /* : */) break;
    if (code >= 128 || UNRESERVED[code] !== 1) return false;
    index++;
  }
  if (index === 0 || index > MAX_REG_NAME) return false;
  return index === value.length || isPort(value, index + 1, value.length);
}
