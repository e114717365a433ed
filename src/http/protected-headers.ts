import { HOP_BY_HOP } from './hop-by-hop.ts';
import { METHOD_OVERRIDE_HEADERS } from './method-override.ts';

/**
 * Header names the gateway depends on, and the spellings servers fold onto them.
 *
 * CGI (RFC 3875 §4.1.18), WSGI (PEP 3333), PHP and Rack hand headers to the application as
 * variables, `HTTP_` plus the name upper-cased with `-` turned into `_`; PHP also turns `.`
 * into `_`. So `X_API_Key`, `x.api.key` and `X-API-Key` are one variable, `HTTP_X_API_KEY`, to
 * such an application, while every HTTP parser (the gateway's included) reads three different
 * headers. A name with `_` or `.` is therefore an alias the gateway cannot vouch for.
 */

/**
 * Headers whose meaning the gateway relies on end to end, besides the configured key headers
 * and client-address header: framing and body (`Content-*`, `Transfer-Encoding`, `Expect`),
 * `Host`, the forwarding and identity headers it writes, and method overrides.
 */
const END_TO_END_NAMES: readonly string[] = ['content-length', 'content-type', 'content-encoding', 'transfer-encoding', 'host', 'expect', 'forwarded', 'x-real-ip', 'x-request-id', ...METHOD_OVERRIDE_HEADERS];
const END_TO_END_PREFIXES: readonly string[] = ['x-forwarded-', 'x-portcullis-'];

/** Whether a header name contains `_` or `.`: a name some servers read as another (see above). One pass, for the request path. */
export function isAliasingName(name: string): boolean {
  for (let index = 0; index < name.length; index++) {
    const code = name.charCodeAt(index);
    if (code === 95 /* _ */ || code === 46 /* . */) return true;
  }
  return false;
}

/** The name a CGI-style server reads for `name`: lower case, `_` and `.` as `-` (`X_API_Key` → `x-api-key`). */
export function dashSpelling(name: string): string {
  return name.toLowerCase().replace(/[_.]/g, '-');
}

/**
 * A test for the headers (lower case) the gateway reads or writes end to end: the fixed ones
 * above plus `configured` (the key headers, the client-address header). With `hopByHop`, the
 * hop-by-hop headers count too. Compiled once, at start.
 *
 * @example createProtectedHeaderTest(['authorization', 'x-api-key'], false)('x-forwarded-host') // true
 */
export function createProtectedHeaderTest(configured: readonly string[], hopByHop: boolean): (lowerCaseName: string) => boolean {
  const names = new Set([...END_TO_END_NAMES, ...configured.map((name) => name.toLowerCase()), ...(hopByHop ? HOP_BY_HOP : [])]);
  return function isProtectedHeader(lowerCaseName) {
    if (names.has(lowerCaseName)) return true;
    for (const prefix of END_TO_END_PREFIXES) if (lowerCaseName.startsWith(prefix)) return true;
    return false;
  };
}
