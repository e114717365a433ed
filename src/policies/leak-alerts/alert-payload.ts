/**
 * The body of a secret-scanning alert (GitHub's partner programme): a JSON array of the tokens
 * found, each with its type (the pattern that matched), where it was found and by what.
 */

export interface ReportedToken {
  readonly token: string;
  readonly type: string;
  /** Where the token was found (a commit, an issue, a gist); null when the report has none. */
  readonly url: string | null;
  /** What found it (`content`, `commit`, `npm`, …); null when the report has none. */
  readonly source: string | null;
}

/** A token's verdict as GitHub expects it back. */
type TokenLabel = 'true_positive' | 'false_positive';

/** One entry of the answer: the token as reported, and whether it is a key of this store. */
export interface TokenVerdict {
  readonly token_raw: string;
  readonly token_type: string;
  readonly label: TokenLabel;
}

/**
 * The reported tokens, or a message saying what is wrong (for a 400). `token` and `type` are
 * required strings; `url` and `source` are strings when present (older reports lack `source`).
 * Never throws, and never puts a token in its message.
 *
 * @example parseAlertPayload(Buffer.from('[{"token":"pcl_…","type":"portcullis_api_key","url":"https://github.com/…","source":"content"}]'))
 */
export function parseAlertPayload(body: Buffer): ReportedToken[] | string {
  let document: unknown;
  try {
    document = JSON.parse(body.toString('utf8'));
  } catch {
    return 'The body is not JSON.';
  }
  if (!Array.isArray(document)) return 'The body must be a JSON array of {token, type, url, source}.';
  const tokens: ReportedToken[] = [];
  for (let index = 0; index < document.length; index++) {
    const entry: unknown = document[index];
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `Entry ${index} must be an object {token, type, url, source}.`;
    const { token, type, url, source } = entry as Record<string, unknown>;
    if (typeof token !== 'string' || token === '') return `Entry ${index}: token must be a non-empty string.`;
    if (typeof type !== 'string') return `Entry ${index}: type must be a string.`;
    if (url !== undefined && url !== null && typeof url !== 'string') return `Entry ${index}: url must be a string.`;
    if (source !== undefined && source !== null && typeof source !== 'string') return `Entry ${index}: source must be a string.`;
    tokens.push({ token, type, url: url ?? null, source: source ?? null });
  }
  return tokens;
}
