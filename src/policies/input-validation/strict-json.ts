/**
 * A strict JSON parser for request bodies (RFC 8259, with the I-JSON restrictions of RFC 7493).
 *
 * `JSON.parse` accepts things that let the gateway and the upstream read one body two ways:
 * - duplicate keys (`{"qty": 1, "qty": -1}`): JSON.parse keeps the last, other parsers the
 *   first, so the gateway would validate one value and the API act on another;
 * - `__proto__` and `constructor` keys, the vehicle of prototype pollution once the API merges
 *   the object into another;
 * - unbounded nesting, which costs stack and time in every later step.
 * This parser refuses all three, and also lone surrogates (`"\uD800"`) and numbers outside
 * the double range, which I-JSON rules out as not interoperable.
 *
 * No maintained library does all of this (`secure-json-parse` and `@hapi/bourne` refuse
 * `__proto__` but accept duplicate keys; the duplicate-key validators on npm do not refuse
 * `__proto__` or bound depth and are unmaintained), hence this small recursive-descent parser.
 * It is property-tested against `JSON.parse` (strict-json.test.ts, beside it).
 */

/** Why a body is not acceptable JSON. The message is bounded and never holds more than 40 characters of input. */
export class StrictJsonError extends Error {
  override name = 'StrictJsonError';
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor']);
const NUMBER_PATTERN = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

function quoted(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

class Parser {
  readonly text: string;
  readonly maxDepth: number;
  position = 0;

  constructor(text: string, maxDepth: number) {
    this.text = text;
    this.maxDepth = maxDepth;
  }

  fail(message: string): never {
    throw new StrictJsonError(`${message} at offset ${this.position}`);
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
    const result = Number(match[0]);
    if (!Number.isFinite(result)) this.fail('number out of range');
    this.position += match[0].length;
    return result;
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
        this.fail(`forbidden key ${quoted(key)}`);
      }
      if (Object.hasOwn(result, key)) {
        this.position = keyStart;
        this.fail(`duplicate key ${quoted(key)}`);
      }
      this.skipWhitespace();
      if (this.text.charCodeAt(this.position) !== 58) this.fail('expected ":"');
      this.position++;
      result[key] = this.value(depth);
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
      result.push(this.value(depth));
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
 * Parses `text` as one JSON value, refusing duplicate keys, `__proto__` and `constructor`
 * keys, nesting deeper than `maxDepth` (objects and arrays), lone surrogates and numbers
 * outside the double range. Throws StrictJsonError.
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
