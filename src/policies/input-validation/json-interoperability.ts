/**
 * What two JSON parsers may read differently even in valid JSON, for the strict parser
 * (strict-json.ts): numbers a double cannot hold exactly (I-JSON, RFC 7493 §2.2), and object keys
 * that a case-insensitive binder (Go's encoding/json by default; Jackson, System.Text.Json when
 * configured so) takes for one.
 */

/** A literal this short has at most 15 digits: within the safe integers and a double's precision. */
export const SHORT_NUMBER = 15;
/** Every double round-trips through 17 significant digits; more cannot be held. */
export const MAX_SIGNIFICANT_DIGITS = 17;

/** Significant digits of a number literal: its mantissa's digits without leading or trailing zeros. */
export function significantDigits(literal: string): number {
  let end = literal.search(/[eE]/);
  if (end === -1) end = literal.length;
  let start = literal.charCodeAt(0) === 45 /* - */ ? 1 : 0;
  while (start < end && (literal.charCodeAt(start) === 48 || literal.charCodeAt(start) === 46)) start++;
  while (end > start && (literal.charCodeAt(end - 1) === 48 || literal.charCodeAt(end - 1) === 46)) end--;
  const point = literal.lastIndexOf('.', end - 1);
  return point >= start ? end - start - 1 : end - start;
}

/**
 * The key as a case-insensitive binder sees it, or the key itself when no other key can fold
 * onto it from this side (ASCII without capitals). Non-ASCII letters go through simple
 * upper-then-lower mapping per character, which joins what Go's EqualFold and .NET's
 * OrdinalIgnoreCase join (`K` and the Kelvin sign, `s` and `ſ`) without expanding `ß` to `ss`.
 */
export function foldedKey(key: string): string {
  let ascii = true;
  let capitals = false;
  for (let index = 0; index < key.length; index++) {
    const code = key.charCodeAt(index);
    if (code >= 128) ascii = false;
    else if (code >= 65 && code <= 90) capitals = true;
  }
  if (ascii) return capitals ? key.toLowerCase() : key;
  return foldedUnicode(key);
}

function foldedUnicode(key: string): string {
  let folded = '';
  for (const character of key) {
    const upper = character.toUpperCase();
    const lower = (upper.length === character.length ? upper : character).toLowerCase();
    folded += lower.length === character.length ? lower : character;
  }
  return folded;
}

/**
 * The keys of one object that are not their own folded form, by folded form. Objects are small,
 * so a flat list searched in order is cheapest; past a few dozen such keys, a Map, so a body of
 * one huge object costs no more than linear time.
 */
export class FoldedKeys {
  /** Folded form, key, folded form, key, … */
  readonly #pairs: string[] = [];
  #index: Map<string, string> | null = null;

  clear(): void {
    this.#pairs.length = 0;
    this.#index = null;
  }

  /** The key seen that folds to `folded`, or undefined. */
  find(folded: string): string | undefined {
    if (this.#index !== null) return this.#index.get(folded);
    const pairs = this.#pairs;
    for (let index = 0; index < pairs.length; index += 2) if (pairs[index] === folded) return pairs[index + 1];
    return undefined;
  }

  add(folded: string, key: string): void {
    if (this.#index !== null) {
      this.#index.set(folded, key);
      return;
    }
    this.#pairs.push(folded, key);
    if (this.#pairs.length > 64) {
      this.#index = new Map();
      for (let index = 0; index < this.#pairs.length; index += 2) this.#index.set(this.#pairs[index] as string, this.#pairs[index + 1] as string);
    }
  }
}
