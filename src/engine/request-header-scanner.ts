import { connectionTokens, withoutNamed } from '../http/hop-by-hop.ts';
import { REPEATED_HEADER, usualCapitalisation } from '../http/raw-headers.ts';
import type { RequestHeaderReader, ScannedRequestHeaders } from '../policies/request-context.ts';

/**
 * The one pass over a request's headers, before the first check.
 *
 * It decides which headers may cross to the upstream: hop-by-hop headers and those named in
 * `Connection` never do (RFC 9110 §7.6.1); nor any `X-Portcullis-*` the client sent (only the
 * gateway may assert identity), `Expect` (the gateway answers 100-continue itself), the
 * client's forwarding headers (the gateway writes a truthful chain) and `X-Request-Id`
 * (replaced by the request's id: the client's own when it was safe).
 *
 * In the same walk it finds what later stages need (body framing, Host, the client's request
 * id) and hands the headers that checks declared (`Check.requestHeaders`: the key headers) to
 * their readers, which may keep a line from the upstream. It runs for every request, so names
 * are classified by length first: most headers (`accept`, `user-agent`, …) have a length no
 * special header has, and pass without being lower-cased or looked up.
 */

/** How a special request header is treated (numbers, so the switch below stays cheap); readers are numbered from READER. */
const Kind = { hop: 1, connection: 2, rewritten: 3, host: 4, contentLength: 5, transferEncoding: 6, requestId: 7 } as const;
const READER = 100;

const REQUEST_SPECIAL = new Map<string, number>([
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

export type RequestHeaderScanner = (rawHeaders: readonly string[], into: ScannedRequestHeaders) => void;

/**
 * Compiles the scanner for the checks' header readers. `into.credential` must be null before a
 * scan: readers add to it.
 */
export function createRequestHeaderScanner(readers: readonly RequestHeaderReader[]): RequestHeaderScanner {
  const special = new Map(REQUEST_SPECIAL);
  readers.forEach((reader, index) => {
    for (const name of reader.names) special.set(name, READER + index);
  });
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
        case Kind.hop:
        case Kind.rewritten:
          continue;
        default:
          if (!(readers[kind - READER] as RequestHeaderReader).readHeader(into, name.toLowerCase(), value)) headers.push(name, value);
      }
    }
    into.upstreamHeaders = named === null ? headers : withoutNamed(headers, named);
    into.hasBody = chunked || (contentLength !== undefined && contentLength !== '0');
    into.contentLength = contentLength;
    into.chunked = chunked;
    into.host = host;
    into.requestIdHeader = requestId;
  };
}
