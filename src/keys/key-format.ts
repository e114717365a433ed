/**
 * The API key format: `<prefix>_<random><checksum>`.
 *
 * - prefix: lowercase letters and digits, optionally with an environment tag
 *   (`pcl`, `pcl_live`). `_` separators let a double-click select the whole key.
 * - random: 32 bytes from crypto.randomBytes (256 bits), base62, always 43 digits.
 * - checksum: CRC32 of `<prefix>_<random>`, base62, always 6 digits. It covers
 *   the prefix too, so a scanner or the gateway rejects a mistyped or truncated
 *   key without a store lookup. It is an integrity check, not a secret: the
 *   security of a key rests on the 256 random bits alone.
 *
 * Random and checksum are base62 only, so the LAST `_` of a key always sits
 * exactly 49 characters before its end; the prefix is everything before it.
 */

import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { base62DigitValue, BASE62_ALPHABET, encodeBase62Fixed, encodeBase62Number } from './base62.ts';

export const DEFAULT_KEY_PREFIX = 'pcl';

export interface ParsedKey {
  prefix: string;
  random: string;
}

/** A valid key prefix, optionally with an environment tag (`pcl`, `pcl_live`). */
export const KEY_PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}(_[a-z0-9]{1,16})?$/;
const ID_PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}$/;

const RANDOM_BYTES = 32;
/** 62^43 ≥ 2^256, so 43 digits hold any 32 bytes. */
const RANDOM_LENGTH = 43;
/** 62^6 ≥ 2^32, so 6 digits hold any CRC32. */
const CHECKSUM_LENGTH = 6;
/** Length of `_<random><checksum>`, the part after the prefix. */
const TAIL_LENGTH = 1 + RANDOM_LENGTH + CHECKSUM_LENGTH;
/** The longest prefix KEY_PREFIX_PATTERN allows: 16 characters, `_` and a 16-character tag. */
const MAX_PREFIX_LENGTH = 33;
const UNDERSCORE = 0x5f;
const CRC32_LIMIT = 2 ** 32;

const ID_RANDOM_LENGTH = 20;
/** The largest multiple of 62 that fits a byte: bytes at or above it are redrawn, so every digit is uniform. */
const UNBIASED_BYTE_LIMIT = 62 * 4;

/**
 * Throws unless `prefix` is a valid key prefix: lowercase letters and digits,
 * starting with a letter (at most 16), optionally `_` and an environment tag
 * (at most 16), e.g. `pcl` or `pcl_live`.
 */
export function validateKeyPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || !KEY_PREFIX_PATTERN.test(prefix)) {
    throw new Error(
      `Invalid key prefix "${String(prefix)}": expected lowercase letters and digits, starting with a letter, ` +
        'optionally followed by "_" and an environment tag such as pcl_live',
    );
  }
}

/**
 * Generates a new key. The caller shows it once and stores only its digest
 * and display prefix.
 *
 * @example generateKey('pcl_live') // 'pcl_live_' + 43 random digits + 6 checksum digits
 */
export function generateKey(prefix: string): string {
  validateKeyPrefix(prefix);
  const head = `${prefix}_${encodeBase62Fixed(randomBytes(RANDOM_BYTES), RANDOM_LENGTH)}`;
  return head + encodeBase62Number(crc32(head), CHECKSUM_LENGTH);
}

interface CompiledPrefix {
  prefix: string;
  keyLength: number;
  /** CRC32 of `<prefix>_`, so a parse only feeds the random part to crc32. */
  headCrc: number;
}

/**
 * Compiles a parser that accepts keys with one of `acceptedPrefixes`. Throws
 * at creation on an invalid prefix or an empty list. The returned function
 * never throws: it returns null for anything that is not a well-formed key
 * with an accepted prefix and a matching checksum. It allocates only the
 * result, so it is meant for the request path.
 *
 * @example
 * const parseApiKey = createKeyParser(['pcl_live', 'pcl_test']);
 * parseApiKey(request.headers['x-api-key']); // { prefix: 'pcl_live', random: '…' } or null
 */
export function createKeyParser(acceptedPrefixes: readonly string[]): (input: unknown) => ParsedKey | null {
  if (acceptedPrefixes.length === 0) throw new Error('Invalid key prefixes: at least one accepted prefix is required');
  const compiled: CompiledPrefix[] = [];
  for (const prefix of new Set(acceptedPrefixes)) {
    validateKeyPrefix(prefix);
    compiled.push({ prefix, keyLength: prefix.length + TAIL_LENGTH, headCrc: crc32(`${prefix}_`) });
  }
  const minLength = Math.min(...compiled.map((entry) => entry.keyLength));
  const maxLength = Math.max(...compiled.map((entry) => entry.keyLength));

  return function parseAcceptedKey(input: unknown): ParsedKey | null {
    if (typeof input !== 'string') return null;
    const length = input.length;
    if (length < minLength || length > maxLength) return null;

    let match: CompiledPrefix | undefined;
    for (const entry of compiled) {
      if (entry.keyLength === length && input.startsWith(entry.prefix)) {
        match = entry;
        break;
      }
    }
    if (match === undefined) return null;

    const random = randomIfChecksumMatches(input, length - TAIL_LENGTH, match.headCrc);
    return random === null ? null : { prefix: match.prefix, random };
  };
}

/**
 * The random part of `input` when `input[separator]` is `_` and the rest is 43 random and 6
 * checksum base62 digits whose checksum is the CRC32 continued from `headCrc` (the CRC32 of
 * `<prefix>_`); null otherwise. The caller has checked the length (`separator + TAIL_LENGTH`).
 */
function randomIfChecksumMatches(input: string, separator: number, headCrc: number): string | null {
  if (input.charCodeAt(separator) !== UNDERSCORE) return null;
  const length = separator + TAIL_LENGTH;
  const randomEnd = separator + 1 + RANDOM_LENGTH;
  for (let index = separator + 1; index < randomEnd; index++) {
    if (base62DigitValue(input.charCodeAt(index)) < 0) return null;
  }
  // Six digits reach 62^6 - 1 < 2^53: plain number arithmetic is exact.
  let checksum = 0;
  for (let index = randomEnd; index < length; index++) {
    const digit = base62DigitValue(input.charCodeAt(index));
    if (digit < 0) return null;
    checksum = checksum * 62 + digit;
  }
  if (checksum >= CRC32_LIMIT) return null;
  const random = input.slice(separator + 1, randomEnd);
  return crc32(random, headCrc) === checksum ? random : null;
}

/**
 * Parses a key with ANY valid prefix (`pcl`, `pcl_live`, `acme`…): the prefix is everything
 * before the `_` 49 characters from the end. For a scanner, which must recognise keys of every
 * deployment and environment; the checksum covers the prefix, so a lookalike still fails.
 * Returns null for anything else and never throws. The gateway accepts only its configured
 * prefixes: use createKeyParser there.
 *
 * @example parseKeyOfAnyPrefix('pcl_live_…') // { prefix: 'pcl_live', random: '…' } or null
 */
export function parseKeyOfAnyPrefix(input: unknown): ParsedKey | null {
  if (typeof input !== 'string') return null;
  const separator = input.length - TAIL_LENGTH;
  if (separator < 1 || separator > MAX_PREFIX_LENGTH) return null;
  const prefix = input.slice(0, separator);
  if (!KEY_PREFIX_PATTERN.test(prefix)) return null;
  const random = randomIfChecksumMatches(input, separator, crc32(`${prefix}_`));
  return random === null ? null : { prefix, random };
}

const defaultKeyParser = createKeyParser([DEFAULT_KEY_PREFIX]);

/**
 * Parses a key, accepting `acceptedPrefixes` (default `['pcl']`). Returns null
 * for anything malformed and never throws on `input`; an invalid accepted
 * prefix throws. With custom prefixes it compiles a parser on every call:
 * use createKeyParser on hot paths.
 *
 * @example parseKey('pcl_…') // { prefix: 'pcl', random: '…' } or null
 */
export function parseKey(input: unknown, acceptedPrefixes?: readonly string[]): ParsedKey | null {
  if (acceptedPrefixes === undefined) return defaultKeyParser(input);
  return createKeyParser(acceptedPrefixes)(input);
}

/**
 * The part of a key that is safe to show and log: the prefix and the first 4
 * random digits (`pcl_AbCd`), i.e. under 24 of the 256 random bits. Throws,
 * without echoing the input, when `key` does not have the shape of a key, so
 * a mistake can never display more of a secret.
 *
 * @example displayPrefixOf('pcl_AbCdEf…') // 'pcl_AbCd'
 */
export function displayPrefixOf(key: string): string {
  const separator = typeof key === 'string' ? key.length - TAIL_LENGTH : -1;
  if (separator < 1 || key.lastIndexOf('_') !== separator || !KEY_PREFIX_PATTERN.test(key.slice(0, separator))) {
    throw new Error('Not a key: expected <prefix>_<random><checksum>');
  }
  return key.slice(0, separator + 5);
}

/**
 * A new key id: `key_` and 20 uniform base62 digits (about 119 bits), so ids
 * do not collide. Ids are not secrets.
 *
 * @example generateKeyId() // 'key_3fQ9…'
 */
export function generateKeyId(): string {
  return generateTokenId('key');
}

/**
 * A new id with another prefix (lowercase letters and digits, starting with a
 * letter): `<prefix>_` and 20 uniform base62 digits.
 *
 * @example generateTokenId('adm') // 'adm_Zk81…'
 */
export function generateTokenId(prefix: string): string {
  if (typeof prefix !== 'string' || !ID_PREFIX_PATTERN.test(prefix)) {
    throw new Error(`Invalid id prefix "${String(prefix)}": expected lowercase letters and digits, starting with a letter`);
  }
  return `${prefix}_${randomBase62(ID_RANDOM_LENGTH)}`;
}

/** `length` uniform base62 digits: rejection sampling avoids the modulo bias of `byte % 62`. */
function randomBase62(length: number): string {
  let digits = '';
  while (digits.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= UNBIASED_BYTE_LIMIT) continue;
      digits += BASE62_ALPHABET[byte % 62];
      if (digits.length === length) break;
    }
  }
  return digits;
}
