import type { Denial } from '../../http/error-catalogue.ts';
import type { ParameterSpec, ValueType } from '../../routes/operation-validation.ts';
import { invalidAt, pointerWithin } from './validation-errors.ts';
import { escapeToken as escapePointerToken } from '../../openapi/json-pointer.ts';
import { parseStrictJson, StrictJsonError } from './strict-json.ts';

/**
 * Reading parameters out of a request, the way OpenAPI serialises them (style `form` for the
 * query, `simple` for path and headers), into an object the compiled schema checks.
 *
 * Ambiguity is refused rather than resolved, because the upstream might resolve it the other
 * way: a parameter that is not an array but appears twice (`?role=user&role=admin`: HTTP
 * parameter pollution), a query that is not validly percent-encoded, and, unless configured
 * otherwise, query parameters the document does not declare.
 */

const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
/** Query and header values are parsed as JSON (`content`-style parameters) to this depth. */
const PARAMETER_JSON_DEPTH = 16;

const INVALID_QUERY_ENCODING = invalidAt('/query', 'is not validly percent-encoded');

/** A value that could not be read at all (bad JSON); a class, so no client-sent value can pass for one. */
class Unreadable {
  readonly denial: Denial;
  constructor(denial: Denial) {
    this.denial = denial;
  }
}

/** The text of a value converted for its schema; text that does not convert stays text, and the schema then says what is wrong. */
function convert(text: string, type: ValueType, pointer: string): unknown {
  switch (type) {
    case 'integer':
    case 'number':
      return NUMBER.test(text) ? Number(text) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'json':
      try {
        return parseStrictJson(text, PARAMETER_JSON_DEPTH);
      } catch (error) {
        if (error instanceof StrictJsonError) return new Unreadable(invalidAt(pointerWithin(pointer, error.path), `is not valid JSON: ${error.message}`));
        throw error;
      }
    default:
      return text;
  }
}

/** Sets `target[spec.name]` from the values found (one or more), or returns a denial. */
function assign(target: Record<string, unknown>, spec: ParameterSpec, values: readonly string[], location: string): Denial | null {
  const pointer = `/${location}/${escapePointerToken(spec.name)}`;
  if (!spec.array) {
    if (values.length > 1) return invalidAt(pointer, 'must appear once');
    const value = convert(values[0] as string, spec.valueType, pointer);
    if (value instanceof Unreadable) return value.denial;
    target[spec.name] = value;
    return null;
  }
  let items: readonly string[] = values;
  if (spec.delimiter !== null) {
    if (values.length > 1) return invalidAt(pointer, 'must appear once (its items are separated by delimiters)');
    items = (values[0] as string).split(spec.delimiter);
  }
  const converted: unknown[] = [];
  for (const item of items) {
    const value = convert(location === 'headers' ? item.trim() : item, spec.valueType, pointer);
    if (value instanceof Unreadable) return value.denial;
    converted.push(value);
  }
  target[spec.name] = converted;
  return null;
}

/** Path parameters, decoded from the canonical path's captures, into `result`; a denial when one is unreadable. */
export function collectPathParameters(specs: readonly ParameterSpec[], captures: readonly string[], result: Record<string, unknown>): Denial | null {
  for (const spec of specs) {
    let text: string;
    try {
      text = decodeURIComponent(captures[spec.captureIndex] as string);
    } catch {
      return invalidAt(`/path/${escapePointerToken(spec.name)}`, 'is not validly percent-encoded');
    }
    const outcome = assign(result, spec, [text], 'path');
    if (outcome !== null) return outcome;
  }
  return null;
}

function decodeQueryComponent(text: string): string | null {
  try {
    return decodeURIComponent(text.includes('+') ? text.replaceAll('+', ' ') : text);
  } catch {
    return null;
  }
}

/** The query string (without "?") as name → values, strictly decoded; a denial when it is not valid. */
export function parseQuery(query: string): Map<string, string[]> | Denial {
  const result = new Map<string, string[]>();
  if (query === '') return result;
  for (const pair of query.split('&')) {
    if (pair === '') continue;
    const equals = pair.indexOf('=');
    const name = decodeQueryComponent(equals === -1 ? pair : pair.slice(0, equals));
    const value = decodeQueryComponent(equals === -1 ? '' : pair.slice(equals + 1));
    if (name === null || value === null) return INVALID_QUERY_ENCODING;
    const values = result.get(name);
    if (values === undefined) result.set(name, [value]);
    else values.push(value);
  }
  return result;
}

/** Declared query parameters into `result`; with `refuseUnknown`, any other name is refused. */
export function collectQueryParameters(specs: readonly ParameterSpec[], query: string, refuseUnknown: boolean, result: Record<string, unknown>): Denial | null {
  const parsed = parseQuery(query);
  if (!(parsed instanceof Map)) return parsed;
  for (const spec of specs) {
    const values = parsed.get(spec.name);
    if (values === undefined) continue;
    const outcome = assign(result, spec, values, 'query');
    if (outcome !== null) return outcome;
    parsed.delete(spec.name);
  }
  if (refuseUnknown && parsed.size > 0) {
    const [unknown] = parsed.keys();
    return invalidAt(`/query/${escapePointerToken(unknown as string)}`, 'is not a query parameter of this operation');
  }
  return null;
}

/**
 * Declared header parameters into `result`, from a flat list of header lines (which, unlike
 * req.headers, shows every repetition): the headers as they will be forwarded, so the upstream
 * is sent exactly the values that were checked.
 */
export function collectHeaderParameters(specs: readonly ParameterSpec[], headers: readonly string[], result: Record<string, unknown>): Denial | null {
  for (const spec of specs) {
    const values: string[] = [];
    for (let index = 0; index < headers.length; index += 2) {
      const name = headers[index] as string;
      if (name.length === spec.key.length && name.toLowerCase() === spec.key) values.push((headers[index + 1] as string).trim());
    }
    if (values.length === 0) continue;
    // An array header may be sent as one line or several (RFC 9110 §5.3): join, then split on ",".
    const outcome = spec.array ? assign(result, spec, [values.join(',')], 'headers') : assign(result, spec, values, 'headers');
    if (outcome !== null) return outcome;
  }
  return null;
}

/**
 * A denial when the client's `Connection` header names a declared header parameter. Such a
 * header is hop-by-hop (RFC 9110 §7.6.1): the gateway drops it, but an intermediary between it
 * and the API may not, or may drop another; the parameter's value is then anyone's guess, so
 * the request is refused rather than checked without it. `named` is what the header scan found
 * (`RequestContext.connectionNamed`).
 */
export function refuseConnectionNamedParameters(specs: readonly ParameterSpec[], named: ReadonlySet<string> | null): Denial | null {
  if (named === null) return null;
  for (const spec of specs) {
    if (named.has(spec.key)) return invalidAt(`/headers/${escapePointerToken(spec.name)}`, 'is named in Connection, so it would not be forwarded');
  }
  return null;
}
