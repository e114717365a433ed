import { basicCredentials, lenientBearerToken } from '../../http/authorization.ts';
import { AMBIGUOUS_CREDENTIALS, type PresentedCredential, type RequestHeaderReader, type ScannedRequestHeaders } from '../request-context.ts';
import type { KeyFinder } from './key-finder.ts';

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

function withKeys(found: PresentedCredential, keys: readonly string[]): PresentedCredential {
  for (const key of keys) found = withCredential(found, key);
  return found;
}

/**
 * The reader of the key headers (lower case). Every line of a key header other than
 * `Authorization` presents its value, trimmed. `Authorization` presents the token of the Bearer
 * scheme as lenient servers read it (any case, any blanks, `Bearer:`, no separator at all);
 * in any other scheme it presents the keys found anywhere in it, the decoded user and password
 * of `Basic` included, and with none it reaches the API untouched. A presented value that is
 * not itself a key presents the keys inside it instead (`"<key>"`, `Token <key>`), or, with
 * none inside, itself (refused as key_invalid). A line that presented anything is kept from the
 * upstream: the API never sees a key.
 */
class KeyHeaderReader implements RequestHeaderReader {
  readonly names: readonly string[];
  readonly #finder: KeyFinder;

  constructor(names: readonly string[], finder: KeyFinder) {
    this.names = names;
    this.#finder = finder;
  }

  readHeader(into: ScannedRequestHeaders, lowerCaseName: string, value: string): boolean {
    if (lowerCaseName !== 'authorization') {
      into.credential = this.#withToken(into.credential, value.trim());
      return true;
    }
    const token = lenientBearerToken(value);
    if (token === undefined) return this.#readOtherScheme(into, value);
    into.credential = this.#withToken(into.credential, token);
    return true;
  }

  /** `found` with a token: the key it is (the usual case, a few comparisons), the keys inside it, or itself. */
  #withToken(found: PresentedCredential, token: string): PresentedCredential {
    if (token === '' || this.#finder.isKeyOutline(token)) return withCredential(found, token);
    const keys = this.#finder.keysIn(token);
    return keys === null ? withCredential(found, token) : withKeys(found, keys);
  }

  /** An `Authorization` value in another scheme: kept from the upstream only when a key is in it, or in its Basic credentials. */
  #readOtherScheme(into: ScannedRequestHeaders, value: string): boolean {
    const decoded = basicCredentials(value);
    const inDecoded = decoded === undefined ? null : this.#finder.keysIn(decoded);
    const inValue = this.#finder.keysIn(value);
    if (inDecoded === null && inValue === null) return false;
    if (inDecoded !== null) into.credential = withKeys(into.credential, inDecoded);
    if (inValue !== null) into.credential = withKeys(into.credential, inValue);
    return true;
  }
}

/** The reader of `keyHeaders` (lower case), finding keys with `finder` (the accepted prefixes). */
export function createKeyHeaderReader(keyHeaders: readonly string[], finder: KeyFinder): RequestHeaderReader {
  return new KeyHeaderReader(keyHeaders, finder);
}

/*
 * The key's query parameter (`keys.queryParameter`, off by default: URLs leak into logs). The
 * query is split on `&` only (a raw `;` was refused in stage 1), and names and values are
 * decoded as URLSearchParams decodes them (`+` is a space, `%5F` is `_`), so `api%5Fkey=…` is
 * the parameter too. The parameter is removed byte for byte: the rest of the query reaches the
 * upstream exactly as the client sent it, so the upstream reads the values the gateway read.
 */

/** A query name or value, decoded as URLSearchParams does; `text` as it is when there is nothing to decode. */
function decodeQueryComponent(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text;
  return new URLSearchParams(`q=${text}`).get('q') as string;
}

/** The value of the query part `url[start, end)` when its name is `name`, decoded; undefined for another name. */
function valueIfNamed(url: string, start: number, end: number, name: string): string | undefined {
  let equals = url.indexOf('=', start);
  if (equals === -1 || equals > end) equals = end;
  const partName = url.slice(start, equals);
  if (partName !== name && decodeQueryComponent(partName) !== name) return undefined;
  return equals === end ? '' : decodeQueryComponent(url.slice(equals + 1, end));
}

/** The end of the query part starting at `start`: the next `&`, or the end of the URL. */
function partEnd(url: string, start: number): number {
  const ampersand = url.indexOf('&', start);
  return ampersand === -1 ? url.length : ampersand;
}

/** `found` with the values of the key's query parameter; an empty value presents nothing, like an empty key header. */
export function withQueryCredential(found: PresentedCredential, url: string, queryParameter: string): PresentedCredential {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return found;
  for (let start = queryStart + 1; start <= url.length; ) {
    const end = partEnd(url, start);
    const value = valueIfNamed(url, start, end, queryParameter);
    if (value !== undefined) found = withCredential(found, value);
    start = end + 1;
  }
  return found;
}

/** The URL without the key's query parameter (each `name=value` of it and one `&`), the rest of it byte for byte as sent. */
export function stripQueryCredential(url: string, queryParameter: string): string {
  const queryStart = url.indexOf('?');
  if (queryStart === -1) return url;
  let kept: string[] | null = null;
  let lastKept = queryStart + 1;
  for (let start = queryStart + 1; start <= url.length; ) {
    const end = partEnd(url, start);
    if (valueIfNamed(url, start, end, queryParameter) !== undefined) {
      kept ??= [];
      if (start > lastKept) kept.push(url.slice(lastKept, start - 1));
      lastKept = end + 1;
    }
    start = end + 1;
  }
  if (kept === null) return url;
  if (lastKept <= url.length) kept.push(url.slice(lastKept));
  return kept.length === 0 ? url.slice(0, queryStart) : `${url.slice(0, queryStart)}?${kept.join('&')}`;
}
