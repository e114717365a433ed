/**
 * A strict JSON parser for request bodies (RFC 8259, with the I-JSON restrictions of RFC 7493).
 *
 * `JSON.parse` accepts things that let the gateway and the upstream read one body two ways:
 * - duplicate keys (`{"qty": 1, "qty": -1}`): JSON.parse keeps the last, other parsers the
 *   first, so the gateway would validate one value and the API act on another;
 * - keys that differ only in case (`{"role": "user", "Role": "admin"}`): Go's encoding/json,
 *   and Jackson or System.Text.Json when configured so, bind them to one field, so the schema
 *   would see two properties and the API one, perhaps the other;
 * - numbers a double cannot hold exactly: `100.00000000000000001` is 100 here and more than
 *   100 to a decimal parser, `9007199254740993` is 9007199254740992 here and not to an int64
 *   parser, so a bound (`maximum: 100`) is checked on another number than the API acts on;
 * - `__proto__` and `constructor` keys, the vehicle of prototype pollution once the API merges
 *   the object into another;
 * - unbounded nesting, which costs stack and time in every later step.
 * This parser refuses all of them, and also lone surrogates (`"\uD800"`) and numbers outside
 * the double range. The number rules are I-JSON's (RFC 7493 §2.2): integer literals within
 * ±(2^53−1), and no more precision than a double has (17 significant digits at most).
 *
 * No maintained library does all of this (`secure-json-parse` and `@hapi/bourne` refuse
 * `__proto__` but accept duplicate keys; the duplicate-key validators on npm do not refuse
 * `__proto__` or bound depth and are unmaintained), hence this small recursive-descent parser.
 * It is property-tested against `JSON.parse` (strict-json.test.ts, beside it).
 */

import { FoldedKeys, foldedKey, MAX_SIGNIFICANT_DIGITS, SHORT_NUMBER, significantDigits } from './json-interoperability.ts';

/**
 * Why a body is not acceptable JSON. The message is bounded and never holds more than 40
 * characters of input; `path` is where in the value it went wrong (object keys and array
 * indexes from the top, built as the error unwinds: nothing is tracked while parsing succeeds).
 */
export class StrictJsonError extends Error {
  override name = 'StrictJsonError';
  readonly path: Array<string | number> = [];
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor']);
const NUMBER_PATTERN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
function quoted(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** Adds the key or index of the member an error happened in, as the error passes out of it. */
function within(error: unknown, token: string | number): unknown {
  if (error instanceof StrictJsonError) error.path.unshift(token);
  return error;
}

class Parser {
  readonly text: string;
  readonly maxDepth: number;
  position = 0;
  /** Per nesting depth, the keys with capitals (or non-ASCII letters) of the object open there. */
  readonly foldedByDepth: FoldedKeys[] = [];

  constructor(text: string, maxDepth: number) {
    this.text = text;
    this.maxDepth = maxDepth;
  }

  fail(message: string, key?: string): never {
    const error = new StrictJsonError(`${message} at offset ${this.position}`);
    if (key !== undefined) error.path.push(key);
    throw error;
  }

  skipWhitespace(): void {
    const text = this.text;
    let position = this.position;
    for (;;) {
      const code = text.charCodeAt(position);
      if (code !== 32 && code !== 10 && code !== 13 && code !== 9) break;
      position++;
    }
    this.position = position;
  }

  value(depth: number): unknown {
    this.skipWhitespace();
    const code = this.text.charCodeAt(this.position);
    switch (code) {
      case 123: // {
        return this.object(depth + 1);
      case 91: // [
        return this.array(depth + 1);
      case 34: // "
        return this.string();
      case 116: // t
        return this.literal('true', true);
      case 102: // f
        return this.literal('false', false);
      case 110: // n
        return this.literal('null', null);
      default:
        if (code === 45 || (code >= 48 && code <= 57)) return this.number();
        return this.fail(Number.isNaN(code) ? 'unexpected end of JSON' : 'unexpected character');
    }
  }

  literal<T>(word: string, result: T): T {
    if (!this.text.startsWith(word, this.position)) this.fail('unexpected character');
    this.position += word.length;
    return result;
  }

  number(): number {
    NUMBER_PATTERN.lastIndex = this.position;
    const match = NUMBER_PATTERN.exec(this.text);
    if (match === null) return this.fail('invalid number');
    const literal = match[0];
    const result = Number(literal);
    if (!Number.isFinite(result)) this.fail('number out of range');
    if (literal.length > SHORT_NUMBER) this.checkPrecision(literal, result);
    this.position += literal.length;
    return result;
  }

  /** I-JSON (RFC 7493 §2.2): a number other parsers read as the same value as this one. */
  checkPrecision(literal: string, value: number): void {
    const integerLiteral = !/[.eE]/.test(literal);
    if (integerLiteral && !Number.isSafeInteger(value)) this.fail(`integer ${quoted(literal)} is beyond ±(2^53-1) (RFC 7493 §2.2: send it as a string)`);
    if (significantDigits(literal) > MAX_SIGNIFICANT_DIGITS) this.fail(`number ${quoted(literal)} has more than ${MAX_SIGNIFICANT_DIGITS} significant digits (RFC 7493 §2.2)`);
  }

  string(): string {
    const text = this.text;
    const start = this.position + 1;
    let position = start;
    // Fast path: no escapes.
    for (;;) {
      const code = text.charCodeAt(position);
      if (code === 34) {
        this.position = position + 1;
        return text.slice(start, position);
      }
      if (code === 92 || code < 32 || Number.isNaN(code)) break;
      position++;
    }
    let result = text.slice(start, position);
    for (;;) {
      const code = text.charCodeAt(position);
      if (Number.isNaN(code)) {
        this.position = position;
        return this.fail('unterminated string');
      }
      if (code === 34) {
        this.position = position + 1;
        return result;
      }
      if (code < 32) {
        this.position = position;
        return this.fail('control character in string');
      }
      if (code !== 92) {
        result += text[position];
        position++;
        continue;
      }
      const escape = text.charCodeAt(position + 1);
      position += 2;
      switch (escape) {
        case 34: result += '"'; break;
        case 92: result += '\\'; break;
        case 47: result += '/'; break;
        case 98: result += '\b'; break;
        case 102: result += '\f'; break;
        case 110: result += '\n'; break;
        case 114: result += '\r'; break;
        case 116: result += '\t'; break;
        case 117:
          result += this.unicodeEscape(position);
          position = this.position;
          break;
        default:
          this.position = position - 2;
          return this.fail('invalid escape in string');
      }
    }
  }

  /** The character of a `\\uXXXX` escape whose digits start at `position` (a surrogate pair takes two); moves past it. */
  unicodeEscape(position: number): string {
    const text = this.text;
    this.position = position;
    const unit = this.hexUnit(position);
    if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone surrogate in string');
    position += 4;
    this.position = position;
    if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
    // A high surrogate must be followed by an escaped low surrogate (I-JSON: no lone surrogates).
    if (text.charCodeAt(position) !== 92 || text.charCodeAt(position + 1) !== 117) this.fail('lone surrogate in string');
    const low = this.hexUnit(position + 2);
    if (low < 0xdc00 || low > 0xdfff) this.fail('lone surrogate in string');
    this.position = position + 6;
    return String.fromCharCode(unit, low);
  }

  hexUnit(position: number): number {
    const digits = this.text.slice(position, position + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid \\u escape');
    return Number.parseInt(digits, 16);
  }

  object(depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.position++;
    const result: Record<string, unknown> = {};
    // The keys that are not their own folded form; taken (emptied) on the first such key.
    let foldedKeys: FoldedKeys | null = null;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.position) === 125) {
      this.position++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.position) !== 34) this.fail('expected a string key');
      const keyStart = this.position;
      const key = this.string();
      if (FORBIDDEN_KEYS.has(key)) {
        this.position = keyStart;
        this.fail(`forbidden key ${quoted(key)}`, key);
      }
      if (Object.hasOwn(result, key)) {
        this.position = keyStart;
        this.fail(`duplicate key ${quoted(key)}`, key);
      }
      const folded = foldedKey(key);
      const sameButCase = folded !== key ? (Object.hasOwn(result, folded) ? folded : foldedKeys?.find(folded)) : foldedKeys?.find(key);
      if (sameButCase !== undefined) {
        this.position = keyStart;
        this.fail(`keys ${quoted(sameButCase)} and ${quoted(key)} differ only in case`, key);
      }
      if (folded !== key) (foldedKeys ??= this.foldedKeysAt(depth)).add(folded, key);
      this.skipWhitespace();
      if (this.text.charCodeAt(this.position) !== 58) this.fail('expected ":"', key);
      this.position++;
      try {
        result[key] = this.value(depth);
      } catch (error) {
        throw within(error, key);
      }
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.position);
      this.position++;
      if (next === 125) return result;
      if (next !== 44) {
        this.position--;
        this.fail('expected "," or "}"');
      }
    }
  }

  /** The emptied list of folded keys for the object open at `depth`: objects at one depth never overlap. */
  foldedKeysAt(depth: number): FoldedKeys {
    let folded = this.foldedByDepth[depth];
    if (folded === undefined) this.foldedByDepth[depth] = folded = new FoldedKeys();
    else folded.clear();
    return folded;
  }

  array(depth: number): unknown[] {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.position++;
    const result: unknown[] = [];
    this.skipWhitespace();
    if (this.text.charCodeAt(this.position) === 93) {
      this.position++;
      return result;
    }
    for (;;) {
      try {
        result.push(this.value(depth));
      } catch (error) {
        throw within(error, result.length);
      }
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.position);
      this.position++;
      if (next === 93) return result;
      if (next !== 44) {
        this.position--;
        this.fail('expected "," or "]"');
      }
    }
  }
}

/**
 * Parses `text` as one JSON value, refusing duplicate keys and keys that differ only in case,
 * `__proto__` and `constructor` keys, nesting deeper than `maxDepth` (objects and arrays),
 * lone surrogates, numbers outside the double range, integer literals beyond ±(2^53−1) and
 * numbers of more than 17 significant digits. Throws StrictJsonError.
 */
export function parseStrictJson(text: string, maxDepth: number): unknown {
  const parser = new Parser(text, maxDepth);
  const result = parser.value(0);
  parser.skipWhitespace();
  if (parser.position !== text.length) parser.fail('unexpected data after the JSON value');
  return result;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes a body as UTF-8 (RFC 8259 §8.1), refusing invalid bytes and a byte order mark, then parses it strictly. */
export function parseStrictJsonBody(body: Uint8Array, maxDepth: number): unknown {
  if (body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) throw new StrictJsonError('byte order mark before the JSON value');
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new StrictJsonError('the body is not valid UTF-8');
  }
  return parseStrictJson(text, maxDepth);
}
