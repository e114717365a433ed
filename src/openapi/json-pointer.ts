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

/** `#/paths/~1orders~1%7Bid%7D/post`: a URI fragment, as `$ref`s that ajv resolves carry it (it URI-decodes the fragment). */
export function pointerFragment(tokens: readonly string[]): string {
  return `#${tokens.map((token) => `/${encodeURIComponent(escapeToken(token))}`).join('')}`;
}

/** Tokens of a pointer written `#/a/b` or `/a/b`, escaped with `~` only (not URI-encoded); `#/` and `` are the root. */
export function parsePointer(pointer: string): string[] {
  const path = pointer.startsWith('#') ? pointer.slice(1) : pointer;
  if (path === '' || path === '/') return [];
  return path.slice(1).split('/').map(unescapeToken);
}
