/**
 * Realistic and extreme values for the shared store suites' round trips: what the request
 * path and the operators really produce (fractional request times, IPv6 addresses, names in
 * any script), and the ends of each type the stores keep (times from 0 to 2^53 − 1, counts up
 * to 2^53 − 1, JSON nested as deep as SQLite allows). A suite writes them through the store's
 * interface and reads them back; every store must return the same.
 */

/** A time as the request clock gives it: `performance.now()` based, so with a fraction. */
export function fractional(ms: number): number {
  return ms + 0.987_654;
}

/** The largest time and count a store keeps exactly (a JavaScript number's safe range). */
export const MAX_EXACT = Number.MAX_SAFE_INTEGER;

/** Names as people write them: accents, combining marks, CJK, right-to-left, emoji (astral), quotes. */
export const UNICODE_NAMES = [
  'Zürich façade — naïve café',
  'e\u0301 (combining) vs é',
  '東京オフィス ✓',
  'שרת חיוב ميزان',
  'billing 🚀🔑 👩🏽‍💻',
  `quote ' double " backslash \\ slash / tab-free`,
  '\\u0000 is just text here',
  'x'.repeat(4096),
] as const;

/** The longest IPv6 text form, an IPv4-mapped one, and a zoned link-local one. */
export const ADDRESSES = ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '::ffff:192.0.2.1', 'fe80::1%eth0', '198.51.100.255'] as const;

/** A string inside `arrays` nested arrays. */
export function nestedArrays(arrays: number): unknown {
  let value: unknown = 'bottom 🪨';
  for (let i = 0; i < arrays; i++) value = [value];
  return value;
}

/**
 * Metadata with every JSON shape: unicode keys and values, an empty key, numbers at the ends of
 * the double range, booleans, null, arrays, and a value nested 999 arrays deep (with the object
 * around them, 1000 levels: SQLite's limit, which the stores enforce alike).
 */
export const METADATA: Record<string, unknown> = {
  owner: UNICODE_NAMES[2],
  '': 'empty key',
  'ключ 🔑': { 'وسم': [UNICODE_NAMES[3], UNICODE_NAMES[4]] },
  numbers: [0, -1.5, 0.1, MAX_EXACT, -MAX_EXACT, 1.7976931348623157e308, 5e-324, 12345678901234567890],
  flags: [true, false, null],
  text: UNICODE_NAMES[5],
  deep: nestedArrays(999),
};

/** What a JSON column gives back for `value`: the stores keep JSON, not JavaScript values. */
export function asJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
