/**
 * The `Authorization` header (RFC 9110 §11.6.2). The admin API reads its tokens in the Bearer
 * scheme strictly (`isBearer`, RFC 6750 §2.1). API keys are read the way the most lenient
 * common server reads them (`lenientBearerToken`, `basicCredentials`): a value that some
 * upstream would take as a Bearer token or a user name is one the gateway checks and strips too.
 */

/** Whether an `Authorization` value is in the Bearer scheme: the scheme name in any case, one space, then the token. */
export function isBearer(value: string): boolean {
  return value.length > 7 && value.charCodeAt(6) === 32 && value.slice(0, 6).toLowerCase() === 'bearer';
}

const BEARER = 'bearer';
const BASIC = 'basic';

/** Space, tab and the other bytes a lenient server skips around a scheme or token (JavaScript's `\s` includes NBSP). */
function isBlank(code: number): boolean {
  return code <= 32 || code === 0xa0;
}

/** Blanks, and the `:` or `=` that servers which strip `Bearer` with a loose pattern skip too (`Bearer: abc`). */
function isSchemeSeparator(code: number): boolean {
  return isBlank(code) || code === 58 /* : */ || code === 61 /* = */;
}

/** The index after `scheme` (lower case) at the start of `value`, leading blanks skipped, compared without regard to case; -1 when absent. */
function afterScheme(value: string, scheme: string): number {
  let start = 0;
  while (start < value.length && isBlank(value.charCodeAt(start))) start++;
  if (value.length - start < scheme.length) return -1;
  // `| 0x20` folds ASCII upper case onto lower case; only 'B' and 'b' fold onto 'b', and so on.
  for (let index = 0; index < scheme.length; index++) {
    if ((value.charCodeAt(start + index) | 0x20) !== scheme.charCodeAt(index)) return -1;
  }
  return start + scheme.length;
}

/**
 * The token a lenient server reads from an `Authorization` value in the Bearer scheme: the
 * scheme name in any case, then any run of blanks, `:` or `=` (also none at all: `Bearerabc`),
 * then the token, trimmed. Empty when the scheme comes without a token; undefined when the
 * value does not start with `bearer`. Never throws.
 *
 * @example lenientBearerToken('bearer:\tpcl_…') // 'pcl_…'
 */
export function lenientBearerToken(value: string): string | undefined {
  let start = afterScheme(value, BEARER);
  if (start === -1) return undefined;
  while (start < value.length && isSchemeSeparator(value.charCodeAt(start))) start++;
  let end = value.length;
  while (end > start && isBlank(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

/**
 * The decoded `user:password` of an `Authorization` value in the Basic scheme (RFC 7617), as
 * Latin-1 text (byte for byte), decoded as leniently as Node decodes base64 (both alphabets,
 * padding optional, other characters skipped); undefined for other schemes. Never throws.
 *
 * @example basicCredentials('Basic dXNlcjpwYXNz') // 'user:pass'
 */
export function basicCredentials(value: string): string | undefined {
  const start = afterScheme(value, BASIC);
  if (start === -1 || start === value.length || !isSchemeSeparator(value.charCodeAt(start))) return undefined;
  return Buffer.from(value.slice(start), 'base64').toString('latin1');
}
