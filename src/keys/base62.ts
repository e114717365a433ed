/**
 * Base62 with the alphabet `0-9A-Za-z`. The alphabet is in ASCII order, so
 * fixed-width encodings sort the same way as the numbers they encode.
 */

export const BASE62_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

const BASE = 62;
const BIG_BASE = 62n;

/** Digit value of each ASCII code, -1 where the code is not a base62 digit. */
const DIGIT_VALUES: Int8Array = buildDigitValues();

function buildDigitValues(): Int8Array {
  const values = new Int8Array(128).fill(-1);
  for (let digit = 0; digit < BASE; digit++) values[BASE62_ALPHABET.charCodeAt(digit)] = digit;
  return values;
}

/**
 * The value (0–61) of the base62 digit with this UTF-16 code unit, or -1 when
 * it is not a base62 digit. Lets a parser validate and decode in one pass.
 */
export function base62DigitValue(charCode: number): number {
  return charCode >= 0 && charCode < 128 ? (DIGIT_VALUES[charCode] ?? -1) : -1;
}

/**
 * Encodes bytes (read as one unsigned big-endian number) in exactly `width`
 * base62 digits, left-padded with `0`. Throws a RangeError when the number
 * needs more digits than `width`. Uses BigInt: meant for generation, not hot paths.
 *
 * @example encodeBase62Fixed(new Uint8Array([1, 0]), 3) // '048' (256 = 4·62 + 8)
 */
export function encodeBase62Fixed(bytes: Uint8Array, width: number): string {
  assertWidth(width);
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  const digits = new Array<string>(width);
  for (let position = width - 1; position >= 0; position--) {
    digits[position] = BASE62_ALPHABET[Number(value % BIG_BASE)] as string;
    value /= BIG_BASE;
  }
  if (value !== 0n) throw new RangeError(`${bytes.length} bytes do not fit in ${width} base62 digits`);
  return digits.join('');
}

/**
 * Encodes a non-negative safe integer in exactly `width` base62 digits,
 * left-padded with `0`. Throws a RangeError when it needs more digits.
 *
 * @example encodeBase62Number(62, 3) // '010'
 */
export function encodeBase62Number(n: number, width: number): string {
  assertWidth(width);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`Expected a non-negative safe integer, got ${n}`);
  let value = n;
  let encoded = '';
  for (let position = 0; position < width; position++) {
    encoded = (BASE62_ALPHABET[value % BASE] as string) + encoded;
    value = Math.floor(value / BASE);
  }
  if (value !== 0) throw new RangeError(`${n} does not fit in ${width} base62 digits`);
  return encoded;
}

/**
 * Decodes base62 digits to a number. Returns null when `s` is empty, holds a
 * character outside the alphabet, or encodes a value above
 * Number.MAX_SAFE_INTEGER (more than 8 significant digits may not fit). Never throws.
 *
 * @example decodeBase62Number('010') // 62
 */
export function decodeBase62Number(s: string): number | null {
  if (typeof s !== 'string' || s.length === 0) return null;
  let value = 0;
  for (let index = 0; index < s.length; index++) {
    const digit = base62DigitValue(s.charCodeAt(index));
    if (digit < 0) return null;
    value = value * BASE + digit;
    if (value > Number.MAX_SAFE_INTEGER) return null;
  }
  return value;
}

function assertWidth(width: number): void {
  if (!Number.isSafeInteger(width) || width < 0) throw new RangeError(`Invalid base62 width ${width}`);
}
