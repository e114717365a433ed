import { connectionTokens, withoutNamed } from '../http/hop-by-hop.ts';
import { METHOD_OVERRIDE_HEADERS } from '../http/method-override.ts';
import { isAliasingName } from '../http/protected-headers.ts';
import { REPEATED_HEADER, usualCapitalisation } from '../http/raw-headers.ts';
import type { RequestHeaderReader, ScannedRequestHeaders } from '../policies/request-context.ts';

/**
 * The one pass over a request's headers, before the first check.
 *
 * It decides which headers may cross to the upstream: hop-by-hop headers and those named in
 * `Connection` never do (RFC 9110 §7.6.1); nor any `X-Portcullis-*` the client sent (only the
 * gateway may assert identity), `Expect` (the gateway answers 100-continue itself), the
 * client's forwarding headers (the gateway writes a truthful chain) and `X-Request-Id`
 * (replaced by the request's id: the client's own when it was safe). Two kinds are held back
 * and recorded for stage 1 to decide on: names with `_` or `.`, which CGI-style servers read
 * as another name (`X_API_Key` is `HTTP_X_API_KEY`, like `X-API-Key`;
 * http/protected-headers.ts), and method overrides.
 *
 * In the same walk it finds what later stages need (body framing, Host, the client's request
 * id, the names `Connection` lists) and hands the headers that checks declared
 * (`Check.requestHeaders`: the key headers) to their readers, which may keep a line from the
 * upstream. It runs for every request, so names are classified by length first: most headers
 * (`accept`, `user-agent`, …) have a length no special header has, and pass without being
 * lower-cased or looked up; the one test every other name gets is a search for `_` and `.`.
 */

/** How a special request header is treated (numbers, so the switch below stays cheap); readers are numbered from READER. */
const Kind = { hop: 1, connection: 2, rewritten: 3, host: 4, contentLength: 5, transferEncoding: 6, requestId: 7, methodOverride: 8 } as const;
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
  // Other names proxies and CDNs give the client or the original request: frameworks that trust
  // a proxy read them, and only the gateway's own forwarding headers describe this hop.
  ['x-forwarded-port', Kind.rewritten],
  ['x-forwarded-prefix', Kind.rewritten],
  ['x-forwarded-server', Kind.rewritten],
  ['x-forwarded-scheme', Kind.rewritten],
  ['x-forwarded-ssl', Kind.rewritten],
  ['x-real-ip', Kind.rewritten],
  ['x-client-ip', Kind.rewritten],
  ['true-client-ip', Kind.rewritten],
  ['cf-connecting-ip', Kind.rewritten],
  ['fastly-client-ip', Kind.rewritten],
  ['x-cluster-client-ip', Kind.rewritten],
  ['expect', Kind.rewritten],
  ['x-request-id', Kind.requestId],
  ['host', Kind.host],
  ['content-length', Kind.contentLength],
  ...METHOD_OVERRIDE_HEADERS.map((name): [string, number] => [name, Kind.methodOverride]),
]);

const PORTCULLIS_PREFIX = 'x-portcullis-';

/** True when a header name starts with `X-Portcullis-`, in any case. */
function isPortcullisHeader(name: string): boolean {
  return name.length > PORTCULLIS_PREFIX.length && name.charCodeAt(12) === 45 /* - */ && name.slice(0, PORTCULLIS_PREFIX.length).toLowerCase() === PORTCULLIS_PREFIX;
}

/**
 * A header no stage treats specially: forwarded, unless it is a client-sent `X-Portcullis-*` or
 * its name has `_` or `.` (held back for stage 1). Special names have neither, so only these pay
 * for the search.
 */
function addOrdinaryHeader(into: ScannedRequestHeaders, headers: string[], name: string, value: string): void {
  if (isAliasingName(name)) (into.underscoreHeaders ??= []).push(name, value);
  else if (!isPortcullisHeader(name)) headers.push(name, value);
}

export type RequestHeaderScanner = (rawHeaders: readonly string[], into: ScannedRequestHeaders) => void;

/** Two readers of one name (`authorization`: key auth and DPoP): each reads every line; the line is kept back when either keeps it. */
function bothReaders(first: RequestHeaderReader, second: RequestHeaderReader): RequestHeaderReader {
  return {
    names: [],
    readHeader(into, lowerCaseName, value) {
      const keptByFirst = first.readHeader(into, lowerCaseName, value);
      return second.readHeader(into, lowerCaseName, value) || keptByFirst;
    },
  };
}

/**
 * The special names (fixed ones and the readers', numbered from READER) by how they are
 * spelled, their lengths, and the readers by number (a name two readers declare gets a
 * reader of its own that calls both, in order).
 */
function compileSpecialNames(declared: readonly RequestHeaderReader[]): { special: Map<string, number>; specialLengths: Set<number>; readers: RequestHeaderReader[] } {
  const special = new Map(REQUEST_SPECIAL);
  const readers = [...declared];
  declared.forEach((reader, index) => {
    for (const name of reader.names) {
      const earlier = special.get(name);
      if (earlier === undefined || earlier < READER) {
        special.set(name, READER + index);
        continue;
      }
      readers.push(bothReaders(readers[earlier - READER] as RequestHeaderReader, reader));
      special.set(name, READER + readers.length - 1);
    }
  });
  const specialLengths = new Set([...special.keys()].map((name) => name.length));
  // Most clients spell names in lower case or in the usual capitalisation (`Content-Length`):
  // both are looked up as sent, so only unusual spellings pay for lower-casing.
  for (const [name, kind] of [...special]) special.set(usualCapitalisation(name), kind);
  return { special, specialLengths, readers };
}

/**
 * Compiles the scanner for the checks' header readers. Before a scan, `into.credential`,
 * `into.underscoreHeaders` and `into.methodOverrideHeaders` must be null: the scan adds to them.
 */
export function createRequestHeaderScanner(declared: readonly RequestHeaderReader[]): RequestHeaderScanner {
  const { special, specialLengths, readers } = compileSpecialNames(declared);

  return function scanRequestHeaders(rawHeaders, into) {
    const headers: string[] = [];
    let named: Set<string> | null = null;
    let host: string | undefined | typeof REPEATED_HEADER;
    let contentLength: string | undefined;
    let chunked = false;
    let requestId: string | null | typeof REPEATED_HEADER = null;
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const name = rawHeaders[index] as string;
      const value = rawHeaders[index + 1] as string;
      if (!specialLengths.has(name.length)) {
        addOrdinaryHeader(into, headers, name, value);
        continue;
      }
      const kind = special.get(name) ?? special.get(name.toLowerCase());
      switch (kind) {
        case undefined:
          addOrdinaryHeader(into, headers, name, value);
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
          host = host === undefined ? value : REPEATED_HEADER;
          continue;
        case Kind.requestId:
          requestId = requestId === null ? value : REPEATED_HEADER;
          continue;
        case Kind.methodOverride:
          (into.methodOverrideHeaders ??= []).push(name, value);
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
    into.connectionNamed = named;
  };
}
