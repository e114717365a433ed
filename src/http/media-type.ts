/**
 * Content-Type parsing and matching against an operation's declared media types, by the rules
 * of RFC 9110 §8.3.1: type and subtype are case-insensitive; parameters follow `;`.
 */

export interface ParsedContentType {
  /** `type/subtype`, lower case. */
  essence: string;
  /** The `charset` parameter, lower case, or null. */
  charset: string | null;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;

export function parseContentType(value: string): ParsedContentType | null {
  const semicolon = value.indexOf(';');
  const essence = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  if (!TOKEN.test(essence)) return null;
  let charset: string | null = null;
  if (semicolon !== -1) {
    for (const parameter of value.slice(semicolon + 1).split(';')) {
      const equals = parameter.indexOf('=');
      if (equals === -1) continue;
      if (parameter.slice(0, equals).trim().toLowerCase() === 'charset') charset = parameter.slice(equals + 1).trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    }
  }
  return { essence, charset };
}

/** `application/json` and every `+json` structured syntax suffix (RFC 6839). */
export function isJsonMediaType(essence: string): boolean {
  return essence === 'application/json' || essence.endsWith('+json');
}

/**
 * The declared media type a request's content type falls under: exact first, then `type/*`,
 * then `*\/*`. Returns the index in `declared`, or -1.
 */
export function matchMediaType(essence: string, declared: readonly string[]): number {
  const exact = declared.indexOf(essence);
  if (exact !== -1) return exact;
  const range = `${essence.slice(0, essence.indexOf('/'))}/*`;
  const ranged = declared.indexOf(range);
  return ranged !== -1 ? ranged : declared.indexOf('*/*');
}
