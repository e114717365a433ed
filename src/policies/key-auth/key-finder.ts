import { base62DigitValue } from '../../keys/base62.ts';
import { createKeyParser } from '../../keys/key-format.ts';

/**
 * Keys inside a longer value. A server that reads a credential more loosely than the gateway
 * (another separator after `Bearer`, another scheme name, the key as a Basic user name, quotes
 * around it) still finds the key in it, so wherever a key header's value holds something with
 * the shape of a key, the gateway counts it as presented, checks it and keeps the header from
 * the upstream.
 *
 * Key shape (keys/key-format.ts): an accepted prefix, `_`, then 43 random and 6 checksum
 * base62 digits whose checksum matches, and no further letter or digit: `<key>x` is a longer
 * word, which no server reads as the key. Anything may come before the prefix (a server that
 * strips a scheme name without a separator reads `Tokenpcl_…` as `pcl_…`). Base62 has no `_`,
 * so the `_` 49 digits before a key's end is its separator: the search visits each `_` of the
 * value once.
 */

/** `_`, 43 random and 6 checksum digits: a key's length past its prefix (keys/key-format.ts, TAIL_LENGTH). */
const TAIL_LENGTH = 50;
const UNDERSCORE = 95;

/** Whether `text[start, end)` is all base62 digits. */
function isBase62Run(text: string, start: number, end: number): boolean {
  for (let index = start; index < end; index++) if (base62DigitValue(text.charCodeAt(index)) < 0) return false;
  return true;
}

export class KeyFinder {
  readonly #prefixes: readonly string[];
  readonly #keyLengths: ReadonlySet<number>;
  readonly #parseKey: (input: unknown) => unknown;

  /** Throws on an invalid prefix or an empty list, like createKeyParser. */
  constructor(acceptedPrefixes: readonly string[]) {
    this.#parseKey = createKeyParser(acceptedPrefixes);
    this.#prefixes = [...new Set(acceptedPrefixes)];
    this.#keyLengths = new Set(this.#prefixes.map((prefix) => prefix.length + TAIL_LENGTH));
  }

  /**
   * Whether `text` has the outline of exactly one key: an accepted prefix, `_` and a key's
   * length. A few comparisons, no digit scan or checksum: such a text holds no other key, so
   * it is presented whole (and the key check parses it, or finds it in its memo).
   */
  isKeyOutline(text: string): boolean {
    if (!this.#keyLengths.has(text.length)) return false;
    for (const prefix of this.#prefixes) {
      if (prefix.length + TAIL_LENGTH === text.length && text.charCodeAt(prefix.length) === UNDERSCORE && text.startsWith(prefix)) return true;
    }
    return false;
  }

  /** Every key (with a matching checksum) found anywhere in `text`, in order; null when there is none. Never throws. */
  keysIn(text: string): string[] | null {
    let found: string[] | null = null;
    for (let separator = text.indexOf('_'); separator !== -1 && separator + TAIL_LENGTH <= text.length; separator = text.indexOf('_', separator + 1)) {
      const end = separator + TAIL_LENGTH;
      if (!isBase62Run(text, separator + 1, end) || (end < text.length && base62DigitValue(text.charCodeAt(end)) >= 0)) continue;
      for (const prefix of this.#prefixes) {
        const start = separator - prefix.length;
        if (start < 0 || !text.startsWith(prefix, start)) continue;
        const candidate = text.slice(start, end);
        if (this.#parseKey(candidate) !== null) (found ??= []).push(candidate);
      }
    }
    return found;
  }
}
