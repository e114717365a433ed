import { bearerToken } from '../../http/authorization.ts';
import { AMBIGUOUS_CREDENTIALS, type PresentedCredential, type RequestHeaderReader } from '../request-context.ts';

/*
 * What counts as a presented key. The key headers are read in the engine's one pass over the
 * request headers (see `createKeyHeaderReader`); it reads `rawHeaders` rather than
 * `req.headers` because Node keeps only the first of duplicate `Authorization` headers there,
 * which would hide a second, different key.
 */

/** `found` with one more presented value: an empty value presents nothing, a second different key makes it ambiguous. */
function withCredential(found: PresentedCredential, value: string): PresentedCredential {
  if (value === '' || found === AMBIGUOUS_CREDENTIALS) return found;
  return found === null || found === value ? value : AMBIGUOUS_CREDENTIALS;
}

/**
 * The reader of the key headers (lower case): `authorization` carries a key only in the Bearer
 * scheme (any other scheme reaches the API untouched); any other key header carries the bare
 * key. A header that carried a key is kept from the upstream: the API never sees a key.
 */
export function createKeyHeaderReader(keyHeaders: readonly string[]): RequestHeaderReader {
  return {
    names: keyHeaders,
    readHeader(into, lowerCaseName, value) {
      if (lowerCaseName === 'authorization') {
        const key = bearerToken(value);
        if (key === undefined) return false;
        into.credential = withCredential(into.credential, key);
        return true;
      }
      into.credential = withCredential(into.credential, value.trim());
      return true;
    },
  };
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
