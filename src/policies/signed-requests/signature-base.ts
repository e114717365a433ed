import type { PresentedSignature } from './signature-fields.ts';

/**
 * The signature base of RFC 9421 §2.5: one line per covered component, `"<name>": <value>`,
 * then `"@signature-params": <inner list>`, joined by LF, without a trailing LF. The gateway
 * builds it from the request as it received it, never from anything the client says the values
 * were (§7.2.3).
 */

/** What the signature base is computed from. */
export interface SignedRequestView {
  /** The method as received (RFC 9421 §2.2.1: not normalised). */
  method: string;
  scheme: 'http' | 'https';
  /** The Host header as received. */
  host: string;
  /** The request target as received, in origin form (`/path?query`). */
  target: string;
  /** Node's flat name/value list of every header line, in order. */
  rawHeaders: readonly string[];
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: '80', https: '443' };

/** `@authority` (§2.2.3): the host in lower case, without the scheme's default port (RFC 9110 §4.2.3). */
function normaliseAuthority(host: string, scheme: 'http' | 'https'): string {
  const lower = host.toLowerCase();
  const colon = lower.lastIndexOf(':');
  if (colon === -1 || lower.lastIndexOf(']') > colon) return lower;
  return lower.slice(colon + 1) === DEFAULT_PORTS[scheme] ? lower.slice(0, colon) : lower;
}

/** A derived component's value (§2.2), or null for one the gateway does not produce for a request. */
function derivedValue(name: string, request: SignedRequestView): string | null {
  const queryAt = request.target.indexOf('?');
  switch (name) {
    case '@method':
      return request.method;
    case '@target-uri':
      return `${request.scheme}://${normaliseAuthority(request.host, request.scheme)}${request.target}`;
    case '@authority':
      return normaliseAuthority(request.host, request.scheme);
    case '@scheme':
      return request.scheme;
    case '@request-target':
      return request.target;
    case '@path': {
      const path = queryAt === -1 ? request.target : request.target.slice(0, queryAt);
      return path === '' ? '/' : path;
    }
    case '@query':
      // §2.2.7: an absent query is the leading `?` alone.
      return queryAt === -1 ? '?' : request.target.slice(queryAt);
    default:
      return null;
  }
}

/**
 * A header field's value (§2.1): every line of that name, each trimmed of leading and trailing
 * whitespace, joined by `, ` in order; null when the request has none. Node has already refused
 * line breaks inside values, so no value can forge a line of the base.
 */
export function fieldValue(rawHeaders: readonly string[], name: string): string | null {
  let value: string | null = null;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    if ((rawHeaders[index] as string).toLowerCase() !== name) continue;
    const line = (rawHeaders[index + 1] as string).trim();
    value = value === null ? line : `${value}, ${line}`;
  }
  return value;
}

/** The signature base of `signature` over `request`, or a problem naming the component that cannot be produced (§2.5: the verifier then fails). */
export function signatureBase(signature: Pick<PresentedSignature, 'components' | 'signatureParams'>, request: SignedRequestView): string | { problem: string } {
  const lines: string[] = [];
  for (const name of signature.components) {
    const value = name.startsWith('@') ? derivedValue(name, request) : fieldValue(request.rawHeaders, name);
    if (value === null) return { problem: name.startsWith('@') ? `covers ${name}, which the gateway does not compute for a request` : `covers the ${name} field, which the request does not have` };
    lines.push(`"${name}": ${value}`);
  }
  lines.push(`"@signature-params": ${signature.signatureParams}`);
  return lines.join('\n');
}
