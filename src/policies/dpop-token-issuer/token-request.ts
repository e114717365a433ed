import { grants } from '../../routes/scopes.ts';

/** What a frontend server asks for, as JSON: `{"jkt", "scopes", "origins", "lifetime"}`. */
export interface TokenRequestBody {
  readonly jkt: string;
  readonly scopes: readonly string[];
  readonly origins: readonly string[];
  /** Seconds; absent for the default. */
  readonly lifetime?: number;
}

const FIELDS = new Set(['jkt', 'scopes', 'origins', 'lifetime']);

/**
 * The request body, or one sentence saying what is wrong with it (for `request_invalid`).
 * Types only: the values' own rules (thumbprint shape, origin form, list sizes) are checked by
 * `mintDelegatedToken`. Unknown members are refused, so a typo (`scope`) is not silently ignored.
 */
export function parseTokenRequest(body: Buffer): TokenRequestBody | string {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return 'The body must be a JSON object: {"jkt": "…", "scopes": ["…"], "origins": ["https://…"], "lifetime": 600}.';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'The body must be a JSON object.';
  const fields = value as Record<string, unknown>;
  const unknown = Object.keys(fields).find((name) => !FIELDS.has(name));
  if (unknown !== undefined) return `Unknown member ${JSON.stringify(unknown.slice(0, 32))}; expected jkt, scopes, origins and lifetime.`;
  const { jkt, scopes, origins, lifetime } = fields;
  if (typeof jkt !== 'string') return 'jkt must be a string: the browser key\'s JWK SHA-256 thumbprint (RFC 7638).';
  if (!Array.isArray(scopes) || !scopes.every((scope) => typeof scope === 'string')) return 'scopes must be a list of strings.';
  if (!Array.isArray(origins) || !origins.every((origin) => typeof origin === 'string')) return 'origins must be a list of strings.';
  if (lifetime !== undefined && typeof lifetime !== 'number') return 'lifetime must be a number of seconds.';
  return { jkt, scopes: scopes as string[], origins: origins as string[], ...(lifetime === undefined ? {} : { lifetime }) };
}

/** The first requested scope the parent's scopes do not grant, or null when every one is granted. */
export function scopeNotHeld(requested: readonly string[], held: readonly string[]): string | null {
  for (const scope of requested) if (!held.some((granted) => grants(granted, scope))) return scope;
  return null;
}
