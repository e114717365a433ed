/**
 * The body of a key presented for revocation: `{"key": "pcl_…", "url": "https://…"}`. `key`
 * is the key as found; `url`, optional, says where it was found (a commit, a paste, a log),
 * and goes to the audit log as evidence.
 */

export interface PresentedKeyReport {
  readonly key: string;
  /** Where the finder saw the key; null when the report says nothing. */
  readonly url: string | null;
}

/** Longer than any key of any prefix; a longer "key" is refused before it is digested. */
const MAX_KEY_LENGTH = 512;
/** Browsers cap URLs near 2,000 characters; the audit log keeps at most this many. */
export const MAX_URL_LENGTH = 2048;

/**
 * The report, or a message saying what is wrong (for a 400). The message never contains the
 * key, and never says anything about whether a key exists: only the shape of the body is
 * judged here. Never throws.
 *
 * @example parsePresentedKey(Buffer.from('{"key":"pcl_…","url":"https://github.com/o/r/commit/1"}'))
 */
export function parsePresentedKey(body: Buffer): PresentedKeyReport | string {
  let document: unknown;
  try {
    document = JSON.parse(body.toString('utf8'));
  } catch {
    return 'The body is not JSON.';
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return 'The body must be a JSON object {"key": "…", "url": "…"}.';
  const { key, url } = document as Record<string, unknown>;
  if (typeof key !== 'string' || key === '') return 'key must be a non-empty string.';
  if (key.length > MAX_KEY_LENGTH) return `key must be at most ${MAX_KEY_LENGTH} characters.`;
  if (url === undefined || url === null) return { key, url: null };
  if (typeof url !== 'string') return 'url must be a string.';
  if (url.length > MAX_URL_LENGTH) return `url must be at most ${MAX_URL_LENGTH} characters.`;
  const href = webAddress(url);
  if (href === null) return 'url must be an absolute http or https URL.';
  // Percent-encoding can lengthen it: the bound holds for what is stored.
  if (href.length > MAX_URL_LENGTH) return `url must be at most ${MAX_URL_LENGTH} characters.`;
  return { key, url: href };
}

/** The URL as the WHATWG parser writes it (control characters percent-encoded), or null when it is not http(s). */
function webAddress(text: string): string | null {
  if (!URL.canParse(text)) return null;
  const parsed = new URL(text);
  return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
}
