import { isBearer } from '../../gateway/forward-headers.ts';
import { usualCapitalisation } from '../../gateway/raw-headers.ts';

/** Returned when a request carries two different keys: refused, never guessed between. */
export const AMBIGUOUS_CREDENTIALS: unique symbol = Symbol('ambiguous credentials');

export type CredentialReader = (rawHeaders: readonly string[], url: string) => string | null | typeof AMBIGUOUS_CREDENTIALS;

export interface CredentialReaderOptions {
  /** Lower-case header names; `authorization` means the Bearer scheme. */
  headers: readonly string[];
  /** Query parameter carrying a key, or null (the default: URLs leak into logs). */
  queryParameter: string | null;
}

/**
 * Compiles the reader of the presented key. It walks `rawHeaders` rather than `req.headers`
 * because Node keeps only the first of duplicate `Authorization` headers there, which would
 * hide a second, different key.
 */
export function createCredentialReader(options: CredentialReaderOptions): CredentialReader {
  // Most header names have a length no key header has: skip them without lower-casing.
  const lengths = new Set(options.headers.map((name) => name.length));
  // Key header names (lower case), found as sent in that spelling or the usual capitalisation;
  // any other spelling is lower-cased first.
  const spellings = new Map<string, string>();
  for (const name of options.headers) {
    spellings.set(name, name);
    spellings.set(usualCapitalisation(name), name);
  }
  const queryParameter = options.queryParameter;
  return function readCredential(rawHeaders, url) {
    let found: string | null = null;
    for (let index = 0; index < rawHeaders.length; index += 2) {
      const rawName = rawHeaders[index] as string;
      if (!lengths.has(rawName.length)) continue;
      const name = spellings.get(rawName) ?? spellings.get(rawName.toLowerCase());
      if (name === undefined) continue;
      let value = (rawHeaders[index + 1] as string).trim();
      if (name === 'authorization') {
        if (!isBearer(value)) continue;
        value = value.slice(7).trim();
      }
      if (value === '') continue;
      if (found !== null && found !== value) return AMBIGUOUS_CREDENTIALS;
      found = value;
    }
    if (queryParameter !== null) {
      const queryStart = url.indexOf('?');
      if (queryStart !== -1) {
        for (const value of new URLSearchParams(url.slice(queryStart + 1)).getAll(queryParameter)) {
          if (found !== null && found !== value) return AMBIGUOUS_CREDENTIALS;
          found = value;
        }
      }
    }
    return found;
  };
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
