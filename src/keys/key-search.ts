/**
 * Finding keys in arbitrary text (source files, logs, git blobs), for `portcullis scan`.
 *
 * A key is `<prefix>_<43 random><6 checksum>` (key-format.ts). Base62 has no `_`, so a key's
 * last `_` sits exactly 49 characters before its end: the search visits each `_` once, keeps
 * those followed by exactly 49 base62 digits (no further letter or digit: `<key>x` is a longer
 * word), and then tries the prefixes that could end there. Any valid prefix is tried, not only
 * this deployment's, so keys of every environment (`pcl_live`, `pcl_test`) and of a renamed
 * prefix are found; the checksum covers the prefix, so text that merely has the shape of a key
 * (a lookalike, a random token) is not reported. Whatever comes before the prefix does not
 * matter (`TOKEN=pcl_…`, `Bearerpcl_…`, `MY_KEY_pcl_…`).
 *
 * Text is read as latin1, one character per byte: keys are ASCII, and every byte sequence
 * (UTF-8 or not) decodes, with columns counted in bytes.
 */

import { base62DigitValue } from './base62.ts';
import { parseKeyOfAnyPrefix } from './key-format.ts';

/** `_`, 43 random and 6 checksum digits: a key's length past its prefix (key-format.ts). */
const TAIL_LENGTH = 50;
const CHECKSUM_LENGTH = 6;
/** A prefix is at most 16 characters, optionally `_` and a 16-character tag (KEY_PREFIX_PATTERN). */
const PREFIX_PART_LENGTH = 16;
/** The longest key (33-character prefix and its tail), and one character of context after it. */
const LONGEST_KEY = 2 * PREFIX_PART_LENGTH + 1 + TAIL_LENGTH;
const UNDERSCORE = 0x5f;
const CRC32_LIMIT = 2 ** 32;

export interface FoundKey {
  key: string;
  /** Where the key starts in the text searched. */
  index: number;
}

export interface KeySighting {
  key: string;
  /** 1-based line and column (in bytes, as the text was read as latin1). */
  line: number;
  column: number;
}

const isLowerLetter = (code: number) => code >= 0x61 && code <= 0x7a;
const isPrefixCharacter = (code: number) => isLowerLetter(code) || (code >= 0x30 && code <= 0x39);

/** Whether `text[start, end)` is all base62 digits. */
function isBase62Run(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (base62DigitValue(text.charCodeAt(index)) < 0) return false;
  return true;
}

/**
 * Whether the six digits at `start` can be a checksum (below 2^32): about 92 % of random
 * tails are not, and are dropped before any CRC is computed.
 */
function isChecksumInRange(text: string, start: number): boolean {
  let value = 0;
  for (let index = start; index < start + CHECKSUM_LENGTH; index++) value = value * 62 + base62DigitValue(text.charCodeAt(index));
  return value < CRC32_LIMIT;
}

/** Where the run of prefix characters (`[a-z0-9]`) that ends at `end` starts, looking back at most `limit + 1` characters. */
function prefixRunStart(text: string, end: number, limit: number): number {
  let start = end;
  while (start > 0 && end - start <= limit && isPrefixCharacter(text.charCodeAt(start - 1))) start--;
  return start;
}

/**
 * The key whose tail starts at `separator` (the `_` before its 49 digits), trying the longest
 * possible prefix first: `<name>_<tag>` and then `<name>` alone, each starting at a lowercase
 * letter. Null when no prefix makes the checksum match.
 */
function keyEndingAt(text: string, separator: number): FoundKey | null {
  const end = separator + TAIL_LENGTH;
  const tagRunStart = prefixRunStart(text, separator, PREFIX_PART_LENGTH);
  const tagLength = separator - tagRunStart;
  const starts: number[] = [];
  // `<name>_<tag>`: the whole run before `separator` is the tag, and a `_` comes before it.
  if (tagLength >= 1 && tagLength <= PREFIX_PART_LENGTH && text.charCodeAt(tagRunStart - 1) === UNDERSCORE) {
    const nameEnd = tagRunStart - 1;
    for (let start = Math.max(prefixRunStart(text, nameEnd, PREFIX_PART_LENGTH), nameEnd - PREFIX_PART_LENGTH); start < nameEnd; start++) starts.push(start);
  }
  for (let start = Math.max(tagRunStart, separator - PREFIX_PART_LENGTH); start < separator; start++) starts.push(start);
  for (const start of starts) {
    if (!isLowerLetter(text.charCodeAt(start))) continue;
    const candidate = text.slice(start, end);
    if (parseKeyOfAnyPrefix(candidate) !== null) return { key: candidate, index: start };
  }
  return null;
}

/**
 * Every key (any prefix, matching checksum) in `text`, in order. Pure; never throws.
 *
 * @example findKeysIn('API_KEY=pcl_…\n') // [{ key: 'pcl_…', index: 8 }]
 */
export function findKeysIn(text: string): FoundKey[] {
  const found: FoundKey[] = [];
  for (let separator = text.indexOf('_'); separator !== -1 && separator + TAIL_LENGTH <= text.length; separator = text.indexOf('_', separator + 1)) {
    const end = separator + TAIL_LENGTH;
    if (separator === 0 || !isBase62Run(text, separator + 1, end)) continue;
    if (end < text.length && base62DigitValue(text.charCodeAt(end)) >= 0) continue;
    if (!isChecksumInRange(text, end - CHECKSUM_LENGTH)) continue;
    const key = keyEndingAt(text, separator);
    if (key !== null) found.push(key);
  }
  return found;
}

/**
 * Finds keys in text that arrives in chunks (a file or a pipe read piece by piece), with the
 * line and column of each, holding at most one chunk and a key's length of the one before.
 * A key cut in two by a chunk boundary is found whole; none is reported twice.
 *
 * @example
 * const search = new KeyStreamSearch();
 * for await (const chunk of stream) sightings.push(...search.push(chunk.toString('latin1')));
 * sightings.push(...search.end());
 */
export class KeyStreamSearch {
  /** The text not yet settled: the end of the previous chunk, then the new one. */
  #text = '';
  /** Where `#text` starts in the whole stream. */
  #textStart = 0;
  /** The line `#text` starts on, and where that line starts in the whole stream. */
  #line = 1;
  #lineStart = 0;
  /** Keys ending before this offset of the whole stream were reported already. */
  #settledUntil = 0;

  /** The keys settled by this chunk: those a later chunk cannot extend. */
  push(chunk: string): KeySighting[] {
    this.#text += chunk;
    return this.#search(false);
  }

  /** The keys at the very end of the stream. */
  end(): KeySighting[] {
    return this.#search(true);
  }

  #search(final: boolean): KeySighting[] {
    const text = this.#text;
    const sightings: KeySighting[] = [];
    // Lines are counted as far as each key, then (again, from the start) as far as the text kept.
    const lines = { line: this.#line, lineStart: this.#lineStart, counted: 0 };
    for (const { key, index } of findKeysIn(text)) {
      const end = index + key.length;
      // A key at the very end may go on in the next chunk (then it is a longer word, no key).
      if (!final && end >= text.length) continue;
      if (this.#textStart + end < this.#settledUntil) continue;
      this.#countLines(text, lines, index);
      sightings.push({ key, line: lines.line, column: this.#textStart + index - lines.lineStart + 1 });
    }
    const kept = final ? 0 : Math.min(text.length, LONGEST_KEY + 1);
    const settled = { line: this.#line, lineStart: this.#lineStart, counted: 0 };
    this.#countLines(text, settled, text.length - kept);
    this.#line = settled.line;
    this.#lineStart = settled.lineStart;
    this.#settledUntil = this.#textStart + text.length;
    this.#textStart += text.length - kept;
    this.#text = text.slice(text.length - kept);
    return sightings;
  }

  /** Moves `lines` on to `to`, counting the newlines of `text` since `lines.counted`. */
  #countLines(text: string, lines: { line: number; lineStart: number; counted: number }, to: number): void {
    for (let newline = text.indexOf('\n', lines.counted); newline !== -1 && newline < to; newline = text.indexOf('\n', newline + 1)) {
      lines.line++;
      lines.lineStart = this.#textStart + newline + 1;
    }
    lines.counted = Math.max(lines.counted, to);
  }
}

/** Whether a chunk that starts a file looks binary: a NUL byte in its first 8000 bytes, as git decides. */
export function looksBinary(start: Uint8Array): boolean {
  return start.subarray(0, 8000).includes(0);
}
