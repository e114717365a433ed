/**
 * The `htu` comparison of RFC 9449 §4.3 point 9: a proof names the URI of the request it was
 * made for, "ignoring any query and fragment parts", and the server SHOULD apply syntax-based
 * and scheme-based normalisation (RFC 3986 §6.2.2, §6.2.3) before comparing. Both the proof's
 * `htu` and the request's URI are reduced to one spelling, then compared as strings:
 *
 * - the scheme and host in lower case (§6.2.2.1); the scheme `http` or `https` only;
 * - the default port dropped (`:443` for https, `:80` for http) and leading zeros of a port
 *   dropped (§6.2.3);
 * - an empty path as `/` (§6.2.3), and the path in the gateway's canonical form
 *   (`src/http/canonical-path.ts`, normalised): percent-encodings in upper case, unreserved
 *   characters decoded, dot segments resolved (§6.2.2), and also empty segments dropped, which
 *   is the gateway's own rule. The path the upstream receives is the canonical one, so a proof
 *   is accepted exactly for the operation the upstream runs;
 * - query and fragment cut off.
 *
 * Anything the canonicaliser refuses in every mode (an encoded `/`, `;`, invalid UTF-8, `..`
 * above the root), user information (`user@host`) and a host that `isValidHost` refuses makes
 * the URI match nothing.
 */
import { canonicalisePath } from '../../http/canonical-path.ts';
import { isValidHost } from '../../http/host-header.ts';

const DEFAULT_PORTS: ReadonlyMap<string, number> = new Map([
  ['http', 80],
  ['https', 443],
]);

/** `scheme://authority` then the path: the part before any `?` or `#`. */
const HTTP_URI = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/;

/** The host in lower case and the port without leading zeros, or without the scheme's default. */
function normaliseAuthority(scheme: string, authority: string): string | null {
  if (!isValidHost(authority)) return null;
  const portStart = authority.lastIndexOf(':');
  // In a bracketed IPv6 literal the last ":" may be inside the brackets.
  if (portStart === -1 || authority.lastIndexOf(']') > portStart) return authority.toLowerCase();
  const host = authority.slice(0, portStart).toLowerCase();
  const port = Number(authority.slice(portStart + 1));
  return port === DEFAULT_PORTS.get(scheme) ? host : `${host}:${port}`;
}

/**
 * The normalised form of an absolute `http` or `https` URI without its query and fragment, or
 * null when it is not one the gateway can compare.
 *
 * @example normaliseHttpUri('HTTPS://Server.Example.COM:443/%7Ea/./b?x=1#f') // 'https://server.example.com/~a/b'
 */
export function normaliseHttpUri(uri: string): string | null {
  const match = HTTP_URI.exec(uri);
  if (match === null) return null;
  const scheme = match[1]!.toLowerCase();
  if (!DEFAULT_PORTS.has(scheme)) return null;
  const authority = normaliseAuthority(scheme, match[2]!);
  if (authority === null) return null;
  const path = match[3] === '' ? '/' : canonicalisePath(match[3]!, 'normalise');
  if (typeof path !== 'string') return null;
  return `${scheme}://${authority}${path}`;
}
