import { usualCapitalisation } from '../http/raw-headers.ts';
import { forwardedNodeValue } from '../http/forwarding-chain.ts';
import { bearerCredential, withCredential, type PresentedCredential } from '../policies/key-auth/credential-reader.ts';

/**
 * Which headers cross the gateway, in each direction.
 *
 * Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110 §7.6.1), nor
 * are headers named in `Connection`. Towards the upstream we also drop: the client's key
 * headers (the API never sees a key), any `X-Portcullis-*` the client sent (only the gateway
 * may assert identity), `Expect` (the gateway answers 100-continue itself), and client-sent
 * forwarding headers, which the gateway rewrites so the API sees a truthful chain, and
 * `X-Request-Id`, replaced by the request's id (the client's own when it was safe).
 *
 * The same pass finds what the other stages need from the headers (the presented key, the
 * body framing, the client's request id), so a request's headers are read once. It runs for
 * every request, so names are classified by length first: most headers (`accept`,
 * `user-agent`, …) have a length no special header has, and pass without being lower-cased or
 * looked up.
 */

/** How a special request header is treated (numbers, so the switch below stays cheap). */
const Kind = { hop: 1, connection: 2, rewritten: 3, host: 4, key: 5, authorization: 6, contentLength: 7, transferEncoding: 8, requestId: 9 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

const REQUEST_SPECIAL = new Map<string, Kind>([
  ['connection', Kind.connection],
  ['keep-alive', Kind.hop],
  ['proxy-connection', Kind.hop],
  ['transfer-encoding', Kind.transferEncoding],
  ['te', Kind.hop],
  ['trailer', Kind.hop],
  ['upgrade', Kind.hop],
  ['proxy-authorization', Kind.hop],
  ['proxy-authenticate', Kind.hop],
  ['x-forwarded-for', Kind.rewritten],
  ['x-forwarded-proto', Kind.rewritten],
  ['x-forwarded-host', Kind.rewritten],
  ['forwarded', Kind.rewritten],
  ['expect', Kind.rewritten],
  ['x-request-id', Kind.requestId],
  ['host', Kind.host],
  ['content-length', Kind.contentLength],
]);

const PORTCULLIS_PREFIX = 'x-portcullis-';

/** True when a header name starts with `X-Portcullis-`, in any case. */
function isPortcullisHeader(name: string): boolean {
  return name.length > PORTCULLIS_PREFIX.length && name.charCodeAt(12) === 45 /* - */ && name.slice(0, PORTCULLIS_PREFIX.length).toLowerCase() === PORTCULLIS_PREFIX;
}

/** Tokens named by a `Connection` value (lower case), besides close/keep-alive; null when none. */
function connectionTokens(value: string, into: Set<string> | null): Set<string> | null {
  if (value === 'keep-alive' || value === 'close') return into;
  for (const token of value.split(',')) {
    const trimmed = token.trim().toLowerCase();
    if (trimmed !== '' && trimmed !== 'close' && trimmed !== 'keep-alive') (into ??= new Set()).add(trimmed);
  }
  return into;
}

function dropNamed(headers: string[], named: Set<string>): string[] {
  const kept: string[] = [];
  for (let index = 0; index < headers.length; index += 2) {
    if (!named.has((headers[index] as string).toLowerCase())) kept.push(headers[index] as string, headers[index + 1] as string);
  }
  return kept;
}

/** Returned for a header a request must carry at most once and carried more often. */
export const REPEATED_HEADER: unique symbol = Symbol('repeated header');

/**
 * What one pass over a request's raw headers finds: everything the pipeline needs to know
 * about them, so no stage reads `rawHeaders` again on the common path.
 */
export interface ScannedRequestHeaders {
  /**
   * The client's headers that may reach the upstream, as flat name/value pairs: without the key
   * headers, hop-by-hop headers (and those `Connection` names), client-sent `X-Portcullis-*`,
   * forwarding headers, `X-Request-Id`, `Expect` and `Host`. The gateway's own are added when it
   * forwards (`appendGatewayHeaders`).
   */
  upstreamHeaders: string[];
  /** Whether the request has a body to stream (RFC 9112 §6.3): Content-Length other than 0, or Transfer-Encoding. */
  hasBody: boolean;
  /** The first Content-Length value (Node has refused malformed and conflicting ones), or undefined. */
  contentLength: string | undefined;
  /** Whether Transfer-Encoding is present: a body of unknown length. */
  chunked: boolean;
  /** The Host header, for X-Forwarded-Host. */
  host: string | undefined;
  /** The key the key headers present (policies/key-auth/credential-reader.ts). */
  credential: PresentedCredential;
  /** The client's X-Request-Id: its value, null when absent, REPEATED_HEADER when sent twice. */
  requestIdHeader: string | null | typeof REPEATED_HEADER;
}

export type RequestHeaderScanner = (rawHeaders: readonly string[], into: ScannedRequestHeaders) => void;

/**
 * Compiles the one reader of request headers for a set of key-carrying header names (lower
 * case). `authorization` carries a key only in the Bearer scheme: other schemes still reach the
 * API. Every other stage reads what it found from the `ScannedRequestHeaders` it fills in.
 */
export function createRequestHeaderScanner(keyHeaders: Iterable<string>): RequestHeaderScanner {
  const special = new Map(REQUEST_SPECIAL);
  for (const name of keyHeaders) special.set(name, name === 'authorization' ? Kind.authorization : Kind.key);
  const specialLengths = new Set([...special.keys()].map((name) => name.length));
  // Most clients spell names in lower case or in the usual capitalisation (`Content-Length`):
  // both are looked up as sent, so only unusual spellings pay for lower-casing.
  for (const [name, kind] of [...special]) special.set(usualCapitalisation(name), kind);

  return function scanRequestHeaders(rawHeaders, into) {
    const headers: string[] = [];
    let named: Set<string> | null = null;
    let host: string | undefined;
    let contentLength: string | undefined;
    let chunked = false;
    let credential: PresentedCredential = null;
    let requestId: string | null | typeof REPEATED_HEADER = null;
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const name = rawHeaders[index] as string;
      const value = rawHeaders[index + 1] as string;
      if (!specialLengths.has(name.length)) {
        if (name.length > PORTCULLIS_PREFIX.length && isPortcullisHeader(name)) continue;
        headers.push(name, value);
        continue;
      }
      const kind = special.get(name) ?? special.get(name.toLowerCase());
      switch (kind) {
        case undefined:
          if (!isPortcullisHeader(name)) headers.push(name, value);
          continue;
        case Kind.contentLength:
          if (contentLength === undefined) contentLength = value;
          headers.push(name, value);
          continue;
        case Kind.transferEncoding:
          chunked = true;
          continue;
        case Kind.connection:
          named = connectionTokens(value, named);
          continue;
        case Kind.host:
          host = value;
          continue;
        case Kind.requestId:
          requestId = requestId === null ? value : REPEATED_HEADER;
          continue;
        case Kind.authorization: {
          const key = bearerCredential(value);
          if (key === undefined) headers.push(name, value);
          else credential = withCredential(credential, key);
          continue;
        }
        case Kind.key:
          credential = withCredential(credential, value.trim());
          continue;
        default:
          continue; // hop-by-hop, rewritten forwarding headers
      }
    }
    into.upstreamHeaders = named === null ? headers : dropNamed(headers, named);
    into.hasBody = chunked || (contentLength !== undefined && contentLength !== '0');
    into.contentLength = contentLength;
    into.chunked = chunked;
    into.host = host;
    into.credential = credential;
    into.requestIdHeader = requestId;
  };
}

/**
 * Adds the gateway's own request headers to the client's: the forwarding chain it vouches for
 * (client, trusted proxies, socket peer; see client-address.ts), the scheme and host the client
 * used, the request id, and the authenticated key's identity. Only the gateway may assert these.
 */
export function appendGatewayHeaders(
  headers: string[],
  chain: readonly string[],
  protocol: 'http' | 'https',
  host: string | undefined,
  requestId: string,
  key: { readonly record: { readonly id: string }; readonly nameHeaderValue: string } | null,
  forwardedHeader: boolean,
): void {
  headers.push('x-forwarded-for', chain.length === 1 ? (chain[0] as string) : chain.join(', '), 'x-forwarded-proto', protocol, 'x-request-id', requestId);
  if (host !== undefined) headers.push('x-forwarded-host', host);
  if (forwardedHeader) headers.push('forwarded', forwardedValue(chain, protocol, host));
  if (key !== null) headers.push('x-portcullis-key-id', key.record.id, 'x-portcullis-key-name', key.nameHeaderValue);
}

const HOST_VALUE = /^[A-Za-z0-9.:[\]-]{1,255}$/;

/**
 * RFC 7239 `Forwarded`: one element per address of the chain; the last (this hop's own view
 * of the request) also carries `proto` and, when it is a plain host name, `host`.
 */
export function forwardedValue(chain: readonly string[], protocol: 'http' | 'https', host: string | undefined): string {
  const elements = chain.map((address) => `for=${forwardedNodeValue(address)}`);
  const hostPart = host !== undefined && HOST_VALUE.test(host) ? `;host="${host}"` : '';
  elements[elements.length - 1] += `;proto=${protocol}${hostPart}`;
  return elements.join(', ');
}

const RESPONSE_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
const RESPONSE_HOP_BY_HOP_LENGTHS = new Set([...RESPONSE_HOP_BY_HOP].map((name) => name.length));

function asText(value: Buffer | string | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : value.toString('latin1');
}

/** The upstream's response headers (raw buffers from undici) minus hop-by-hop ones, as a flat string array. */
export function buildClientResponseHeaders(rawHeaders: ReadonlyArray<Buffer | string>): string[] {
  const headers: string[] = [];
  let named: Set<string> | null = null;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    // latin1 keeps the upstream's bytes exactly; Node writes header values as latin1.
    const name = asText(rawHeaders[index]);
    const value = asText(rawHeaders[index + 1]);
    if (RESPONSE_HOP_BY_HOP_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (lower === 'connection') {
        named = connectionTokens(value, named);
        continue;
      }
      if (RESPONSE_HOP_BY_HOP.has(lower)) continue;
    }
    headers.push(name, value);
  }
  return named === null ? headers : dropNamed(headers, named);
}
