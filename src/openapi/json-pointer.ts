/** JSON Pointers (RFC 6901) as token lists, and their forms in messages and URI fragments. */

export function escapeToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

function unescapeToken(token: string): string {
  return token.replaceAll('~1', '/').replaceAll('~0', '~');
}

/** `/paths/~1orders/post`: for messages. */
export function formatPointer(tokens: readonly string[]): string {
  return tokens.map((token) => `/${escapeToken(token)}`).join('');
}

/** `#/paths/~1orders~1%7Bid%7D/post`: for `$ref`s that ajv resolves (it URI-decodes the fragment). */
export function pointerFragment(tokens: readonly string[]): string {
  return `#${tokens.map((token) => `/${encodeURIComponent(escapeToken(token))}`).join('')}`;
}

/** Tokens of a URI fragment holding a JSON Pointer (`/a/b`, URI-encoded), or null when it is not one (an anchor). */
export function parsePointerFragment(fragment: string): string[] | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(fragment);
  } catch {
    return null;
  }
  if (decoded === '') return [];
  if (!decoded.startsWith('/')) return null;
  return decoded.slice(1).split('/').map(unescapeToken);
}

/** The value at `tokens` inside `root`, or undefined. */
export function valueAt(root: unknown, tokens: readonly string[]): unknown {
  let current = root;
  for (const token of tokens) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else {
      if (!Object.hasOwn(current, token)) return undefined;
      current = (current as Record<string, unknown>)[token];
    }
  }
  return current;
}
