/**
 * An HTTP/2 request's header list, as the pipeline reads it: the same flat `rawHeaders` an
 * HTTP/1.1 request has, so every check sees the same thing whichever protocol the client spoke.
 *
 * - `:authority` becomes `Host` (RFC 9113 §8.3.1); a request carrying both `:authority` and a
 *   `host` that differs from it is refused, since the checks and the upstream could otherwise
 *   read different targets (a routing confusion).
 * - Pseudo-headers (`:method`, `:path`, `:scheme`, `:authority`) are never forwarded: the
 *   method and path are on the request already, and the upstream hop is HTTP/1.1.
 * - Connection-specific fields are malformed in HTTP/2 (RFC 9113 §8.2.2): refused, not dropped.
 * - Cookie fields split across lines (RFC 9113 §8.2.3) are joined with `; `, as HTTP/1.1 requires
 *   one `Cookie` line (RFC 6265 §5.4).
 * - A body without `content-length` (HTTP/2 frames it with DATA and END_STREAM, RFC 9113 §8.1)
 *   is announced as `transfer-encoding: chunked`, the HTTP/1.1 way to say "a body of unknown
 *   length": the body checks and the upstream hop then treat it as they treat a chunked one.
 */

/** Fields HTTP/2 forbids in a request (RFC 9113 §8.2.2); `te` is allowed only as `trailers`. */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

const PSEUDO_HEADERS = new Set([':method', ':path', ':scheme', ':authority']);

/** Why a request's header list was refused; the caller answers 400 `request_invalid` with it. */
export interface Http2HeaderRefusal {
  refused: string;
}

/**
 * The HTTP/1.1-shaped header list of an HTTP/2 request (`rawHeaders` as Node's compatibility
 * API gives it, pseudo-headers included), or why it is refused. `bodyFollows`: the HEADERS
 * frame did not end the stream. Never throws.
 */
export function http1HeadersOf(rawHeaders: readonly string[], bodyFollows: boolean): string[] | Http2HeaderRefusal {
  let contentLength = false;
  let authority: string | null = null;
  const hosts: string[] = [];
  const cookies: string[] = [];
  const headers: string[] = [];
  for (let index = 0; index + 1 < rawHeaders.length; index += 2) {
    const name = (rawHeaders[index] as string).toLowerCase();
    const value = rawHeaders[index + 1] as string;
    if (name.startsWith(':')) {
      if (!PSEUDO_HEADERS.has(name)) return { refused: `The pseudo-header ${name} is not allowed in a request.` };
      if (name === ':authority') {
        if (authority !== null) return { refused: 'The request carries :authority more than once.' };
        authority = value;
      }
      continue;
    }
    if (CONNECTION_SPECIFIC.has(name) || (name === 'te' && value.trim().toLowerCase() !== 'trailers')) {
      return { refused: `The connection-specific header ${name} is not allowed in HTTP/2 (RFC 9113 §8.2.2).` };
    }
    if (name === 'host') hosts.push(value);
    else if (name === 'cookie') cookies.push(value);
    else {
      if (name === 'content-length') contentLength = true;
      headers.push(name, value);
    }
  }
  if (authority !== null && hosts.some((host) => host.toLowerCase() !== (authority as string).toLowerCase())) {
    return { refused: 'The request carries a Host header that differs from its :authority.' };
  }
  // Host first, as HTTP/1.1 clients send it. With :authority, one Host line: its value. Without,
  // the host lines as sent (several are refused later, as for HTTP/1.1).
  const front: string[] = [];
  if (authority !== null) front.push('host', authority);
  else for (const host of hosts) front.push('host', host);
  if (cookies.length > 0) headers.push('cookie', cookies.join('; '));
  if (bodyFollows && !contentLength) headers.push('transfer-encoding', 'chunked');
  return front.length === 0 ? headers : [...front, ...headers];
}
