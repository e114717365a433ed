/** Returned when a request carries two different keys: refused, never guessed between. */
export const AMBIGUOUS_CREDENTIALS: unique symbol = Symbol('ambiguous credentials');

/** The key a request presents: none (null), one, or several different ones. */
export type PresentedCredential = string | null | typeof AMBIGUOUS_CREDENTIALS;

/*
 * What counts as a presented key. The request-header scanner (gateway/forward-headers.ts) calls
 * these for every configured key header, because it reads each header once for every stage; it
 * reads `rawHeaders` rather than `req.headers` because Node keeps only the first of duplicate
 * `Authorization` headers there, which would hide a second, different key.
 */

/** Whether an `Authorization` value is in the Bearer scheme (any case, one space). */
export function isBearer(value: string): boolean {
  return value.length > 7 && value.charCodeAt(6) === 32 && value.slice(0, 6).toLowerCase() === 'bearer';
}

/** The token of an `Authorization` value in the Bearer scheme (RFC 6750 §2.1); undefined for other schemes, which are not keys. */
export function bearerCredential(value: string): string | undefined {
  const trimmed = value.trim();
  return isBearer(trimmed) ? trimmed.slice(7).trim() : undefined;
}

/** `found` with one more presented value: an empty value presents nothing, a second different key makes it ambiguous. */
export function withCredential(found: PresentedCredential, value: string): PresentedCredential {
  if (value === '' || found === AMBIGUOUS_CREDENTIALS) return found;
  return found === null || found === value ? value : AMBIGUOUS_CREDENTIALS;
}

/** `found` with the values of the key's query parameter (`keys.queryParameter`, off by default: URLs leak into logs). */
export function withQueryCredential(found: PresentedCredential, url: string, queryParameter: string): PresentedCredential {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return found;
  for (const value of new URLSearchParams(url.slice(queryStart + 1)).getAll(queryParameter)) {
    if (found !== null && found !== value) return AMBIGUOUS_CREDENTIALS;
    found = value;
  }
  return found;
}

/** The URL without the key's query parameter, so the key never reaches the upstream. */
export function stripQueryCredential(url: string, queryParameter: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  const params = new URLSearchParams(url.slice(queryStart + 1));
  if (!params.has(queryParameter)) return url;
  params.delete(queryParameter);
  const rest = params.toString();
  return rest === '' ? url.slice(0, queryStart) : `${url.slice(0, queryStart)}?${rest}`;
}
