/**
 * Scopes: what a key may do, and what an operation requires.
 *
 * A scope is an OAuth 2.0 scope token (RFC 6749 §3.3: printable ASCII without space, `"` or
 * `\`), such as `orders:read`. A key's scope may end in `:*`, which grants every scope that
 * starts with what comes before the `*` (`orders:*` grants `orders:read` and
 * `orders:items:write`, not `orders` nor `ordersx:read`), or be `*` alone, which grants every
 * scope. Required scopes are never wildcards.
 *
 * A requirement is a list of alternatives, each a list of scopes that must all be granted (the
 * shape of OpenAPI's `security`: any one requirement object, all of its scopes).
 */

export type ScopeRequirement = ReadonlyArray<ReadonlyArray<string>>;

const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;

export const SCOPE_SYNTAX = 'at most 128 printable ASCII characters without space, " or \\ (such as orders:read)';

/** A scope a key may carry: a token, `*`, or a token ending in `:*`. */
export function isValidKeyScope(scope: string): boolean {
  if (!SCOPE_TOKEN.test(scope)) return false;
  const star = scope.indexOf('*');
  return star === -1 || scope === '*' || (star === scope.length - 1 && scope.endsWith(':*') && scope.length > 2);
}

/** A scope an operation may require: a token without `*`. */
export function isValidRequiredScope(scope: string): boolean {
  return SCOPE_TOKEN.test(scope) && !scope.includes('*');
}

/** Whether one granted scope covers one required scope. */
export function grants(granted: string, required: string): boolean {
  if (granted === required) return true;
  const last = granted.length - 1;
  if (granted.charCodeAt(last) !== 42 /* * */) return false;
  if (last === 0) return true;
  // "orders:*": the required scope must start with "orders:" and have something after it.
  if (required.length <= last) return false;
  for (let index = 0; index < last; index++) if (granted.charCodeAt(index) !== required.charCodeAt(index)) return false;
  return true;
}

function grantsAll(keyScopes: readonly string[], required: readonly string[]): boolean {
  for (const scope of required) {
    let granted = false;
    for (const held of keyScopes) {
      if (grants(held, scope)) {
        granted = true;
        break;
      }
    }
    if (!granted) return false;
  }
  return true;
}

/** Whether a key's scopes meet a requirement (any one alternative, all of its scopes). */
export function satisfies(keyScopes: readonly string[], requirement: ScopeRequirement): boolean {
  for (const alternative of requirement) if (grantsAll(keyScopes, alternative)) return true;
  return false;
}

/** A requirement that also needs `extra` in every alternative (route rules add to OpenAPI's requirement). */
export function requireAlso(requirement: ScopeRequirement | null, extra: readonly string[]): ScopeRequirement | null {
  if (extra.length === 0) return requirement;
  if (requirement === null) return [[...extra]];
  return requirement.map((alternative) => [...new Set([...alternative, ...extra])]);
}

/** A requirement as people read it: `a and b, or c`. */
export function describeRequirement(requirement: ScopeRequirement): string {
  return requirement.map((alternative) => alternative.join(' and ')).join(', or ');
}
