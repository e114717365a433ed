/**
 * Content-Type parsing and matching against an operation's declared media types, by the rules
 * of RFC 9110 §8.3.1: type and subtype are case-insensitive; parameters follow `;`
 * (§5.6.6), each a token name, `=`, and a token or quoted-string value.
 */

export interface ParsedContentType {
  /** `type/subtype`, lower case. */
  essence: string;
  /** The `charset` parameter, lower case, or null. */
  charset: string | null;
  /**
   * The first parameter name (lower case) given more than once, or null. Parsers disagree on
   * which one counts (`charset=utf-8; charset=latin1`, two multipart `boundary`s), so the
   * gateway refuses the request rather than read it one way while the upstream reads another.
   */
  repeated: string | null;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/;
/** A parameter: OWS, name, `=`, then a token or a quoted-string (with quoted-pairs), then OWS; sticky. */
const PARAMETER = /[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)=(?:([!#$%&'*+.^_`|~0-9A-Za-z-]+)|"((?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*)")[ \t]*/y;
const WHITESPACE = /[ \t]*/y;
const QUOTED_PAIR = /\\(.)/g;

/**
 * Parses a Content-Type value; null when it is not a media type or its parameters are
 * malformed (a name without `=`, an unterminated quoted-string), which parsers would also read
 * differently. Empty parameters (`;;`, a trailing `;`) are allowed, as the grammar allows them.
 */
export function parseContentType(value: string): ParsedContentType | null {
  const semicolon = value.indexOf(';');
  const essence = (semicolon === -1 ? value : value.slice(0, semicolon)).trim().toLowerCase();
  if (!TOKEN.test(essence)) return null;
  const parsed: ParsedContentType = { essence, charset: null, repeated: null };
  if (semicolon === -1) return parsed;
  const seen: string[] = [];
  let position = semicolon;
  while (position < value.length) {
    // Here value[position] is ";".
    position++;
    WHITESPACE.lastIndex = position;
    WHITESPACE.exec(value);
    position = WHITESPACE.lastIndex;
    if (position === value.length || value.charCodeAt(position) === 59 /* ; */) continue;
    PARAMETER.lastIndex = position;
    const match = PARAMETER.exec(value);
    if (match === null) return null;
    position = PARAMETER.lastIndex;
    if (position < value.length && value.charCodeAt(position) !== 59) return null;
    const name = (match[1] as string).toLowerCase();
    if (seen.includes(name)) parsed.repeated ??= name;
    else seen.push(name);
    if (name === 'charset') parsed.charset = (match[2] ?? (match[3] as string).replace(QUOTED_PAIR, '$1')).toLowerCase();
  }
  return parsed;
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
