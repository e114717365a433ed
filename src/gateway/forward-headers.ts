/**
 * Which headers cross the gateway, in each direction.
 *
 * Hop-by-hop headers belong to one connection and are never forwarded (RFC 9110 §7.6.1), nor
 * are headers named in `Connection`. Towards the upstream we also drop: the client's key
 * headers (the API never sees a key), any `X-Portcullis-*` the client sent (only the gateway
 * may assert identity), `Expect` (the gateway answers 100-continue itself), and client-sent
 * forwarding headers, which the gateway rewrites so the API sees a truthful chain, and
 * `X-Request-Id`, replaced by the request's id (the client's own when it was safe).
 */

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);
const REWRITTEN_FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'expect', 'host', 'x-request-id']);

/** Tokens of every `Connection` header (lower case), or null when there is none naming extra headers. */
function connectionTokens(rawHeaders: readonly string[]): Set<string> | null {
  let tokens: Set<string> | null = null;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const token of (rawHeaders[index + 1] as string).split(',')) {
      const trimmed = token.trim().toLowerCase();
      if (trimmed !== '' && trimmed !== 'close' && trimmed !== 'keep-alive') (tokens ??= new Set()).add(trimmed);
    }
  }
  return tokens;
}

export interface UpstreamIdentity {
  keyId: string;
  keyName: string;
}

/**
 * The header list (flat name/value array) sent to the upstream.
 * `keyHeaders` are the lower-case names of headers that carry keys; `authorization` is only
 * dropped when it carries a Bearer token, so other schemes still reach the API.
 */
export function buildUpstreamRequestHeaders(
  rawHeaders: readonly string[],
  keyHeaders: ReadonlySet<string>,
  identity: UpstreamIdentity | null,
  clientAddress: string,
  protocol: 'http' | 'https',
  requestId: string,
): string[] {
  const named = connectionTokens(rawHeaders);
  const headers: string[] = [];
  let host: string | undefined;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const rawName = rawHeaders[index] as string;
    const name = rawName.toLowerCase();
    const value = rawHeaders[index + 1] as string;
    if (HOP_BY_HOP.has(name) || name.startsWith('x-portcullis-')) continue;
    if (REWRITTEN_FORWARDING.has(name)) {
      if (name === 'host') host = value;
      continue;
    }
    if (keyHeaders.has(name) && (name !== 'authorization' || isBearer(value))) continue;
    if (named !== null && named.has(name)) continue;
    headers.push(rawName, value);
  }
  headers.push('x-forwarded-for', clientAddress, 'x-forwarded-proto', protocol, 'x-request-id', requestId);
  if (host !== undefined) headers.push('x-forwarded-host', host);
  if (identity !== null) headers.push('x-portcullis-key-id', identity.keyId, 'x-portcullis-key-name', identity.keyName);
  return headers;
}

export function isBearer(value: string): boolean {
  return value.length > 7 && value.charCodeAt(6) === 32 && value.slice(0, 6).toLowerCase() === 'bearer';
}

const RESPONSE_DROPPED = new Set([...HOP_BY_HOP]);

function asText(value: Buffer | string | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : value.toString('latin1');
}

/** The upstream's response headers (raw buffers from undici) minus hop-by-hop ones, as a flat string array. */
export function buildClientResponseHeaders(rawHeaders: ReadonlyArray<Buffer | string>): string[] {
  const headers: string[] = [];
  let named: Set<string> | null = null;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = asText(rawHeaders[index]);
    const lower = name.toLowerCase();
    if (lower === 'connection') {
      for (const token of asText(rawHeaders[index + 1]).split(',')) (named ??= new Set()).add(token.trim().toLowerCase());
      continue;
    }
    if (RESPONSE_DROPPED.has(lower)) continue;
    headers.push(name, asText(rawHeaders[index + 1]));
  }
  if (named === null) return headers;
  const filtered: string[] = [];
  for (let index = 0; index < headers.length; index += 2) {
    if (!named.has(headers[index]!.toLowerCase())) filtered.push(headers[index]!, headers[index + 1]!);
  }
  return filtered;
}
