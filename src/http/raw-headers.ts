/**
 * Reading `req.rawHeaders` (flat name/value pairs) directly. `req.headers` is built lazily and
 * costs a whole object, and it folds duplicates away; the hot path reads the raw list instead,
 * comparing lengths first so most names are never lower-cased.
 */

/** How many lines of a header (`lowerName` in lower case) the request carries. */
export function countRawHeader(rawHeaders: readonly string[], lowerName: string): number {
  let count = 0;
  for (let index = 0; index < rawHeaders.length; index += 2) {
    const name = rawHeaders[index] as string;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) count++;
  }
  return count;
}

/**
 * `content-length` → `Content-Length`: the spelling most clients send besides lower case.
 * Hot paths look both spellings up as sent, so only unusual ones pay for lower-casing.
 */
export function usualCapitalisation(lowerCaseName: string): string {
  return lowerCaseName.replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => dash + letter.toUpperCase());
}

/** Said of a header a request must carry at most once and carried more often. */
export const REPEATED_HEADER: unique symbol = Symbol('repeated header');
