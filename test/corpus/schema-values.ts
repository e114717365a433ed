import fc from 'fast-check';
import type { DocumentSet, Location } from '../../src/openapi/document-set.ts';

/**
 * A value that a request schema of a real description accepts, made from the schema itself:
 * its `const` or `enum`, a value inside its bounds, a string of its format, or one that
 * fast-check draws from its `pattern` (`fc.stringMatching`, with a fixed seed). Only what can be
 * made valid by construction is made: a schema with `not`, `if`, `oneOf` between alternatives
 * that may overlap, or other constraints that a value cannot be built from answers `null`, and
 * the corpus test counts its operation as not generated instead of guessing.
 */

type Schema = Record<string, unknown>;

const FORMATS: Record<string, string> = {
  'date-time': '2024-01-02T03:04:05Z',
  date: '2024-01-02',
  time: '03:04:05Z',
  email: 'ada@example.com',
  uri: 'https://example.com/a',
  url: 'https://example.com/a',
  'uri-reference': '/a',
  uuid: '3b241101-e2bb-4255-8caf-4136c566a962',
  ipv4: '192.0.2.1',
  ipv6: '2001:db8::1',
  hostname: 'example.com',
  byte: 'YWJj',
  int32: '1',
  int64: '1',
};
const UNSUPPORTED = ['not', 'if', 'patternProperties', 'propertyNames', 'dependencies', 'dependentRequired', 'dependentSchemas', 'contains', 'minProperties', 'unevaluatedProperties'];
const MAX_DEPTH = 8;

function isObject(value: unknown): value is Schema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The first type a value may have (`nullable`/`null` aside). */
export function typeOf(schema: Schema): string | undefined {
  if (Array.isArray(schema.type)) return schema.type.find((type) => type !== 'null') as string | undefined;
  if (typeof schema.type === 'string') return schema.type;
  if (isObject(schema.properties) || Array.isArray(schema.required)) return 'object';
  if (schema.items !== undefined) return 'array';
  return undefined;
}

export class SchemaValues {
  readonly #set: DocumentSet;
  /** Where characters in a value are safe: path segments need unreserved characters only. */
  readonly #seed: number;

  constructor(set: DocumentSet, seed = 42) {
    this.#set = set;
    this.#seed = seed;
  }

  /** The schema at `location`, `$ref`s followed (their siblings dropped, as 3.0 does). */
  schemaAt(location: Location): Location {
    return this.#set.dereference(location);
  }

  at(location: Location, ...tokens: string[]): Location {
    return this.#set.at(location, ...tokens);
  }

  /** An object schema's properties and required names, `allOf` branches merged; null when not an object of that kind. */
  objectShape(location: Location): { properties: Map<string, Location>; required: Set<string>; closed: boolean } | null {
    const target = this.schemaAt(location);
    const schema = target.value;
    if (!isObject(schema) || typeOf(schema) !== 'object' && schema.allOf === undefined) return null;
    if (schema.oneOf !== undefined || schema.anyOf !== undefined || UNSUPPORTED.some((keyword) => schema[keyword] !== undefined)) return null;
    const properties = new Map<string, Location>();
    const required = new Set<string>((schema.required as string[] | undefined) ?? []);
    if (isObject(schema.properties)) for (const name of Object.keys(schema.properties)) properties.set(name, this.at(target, 'properties', name));
    let closed = schema.additionalProperties === false;
    if (Array.isArray(schema.allOf)) {
      for (let index = 0; index < schema.allOf.length; index++) {
        const branch = this.objectShape(this.at(target, 'allOf', String(index)));
        if (branch === null) return null;
        for (const [name, property] of branch.properties) properties.set(name, property);
        for (const name of branch.required) required.add(name);
        // A closed branch inside allOf refuses the other branches' properties: too subtle to build for.
        if (branch.closed) closed = true;
      }
      if (closed && schema.allOf.length > 0) return null;
    }
    return { properties, required, closed };
  }

  /** A value the schema at `location` accepts, or null when one cannot be built for certain. */
  value(location: Location, options: { pathSafe?: boolean } = {}, depth = 0): { value: unknown } | null {
    if (depth > MAX_DEPTH) return null;
    const target = this.schemaAt(location);
    const schema = target.value;
    if (schema === true) return { value: 'x' };
    if (!isObject(schema) || UNSUPPORTED.some((keyword) => schema[keyword] !== undefined)) return null;
    if (schema.const !== undefined) return { value: schema.const };
    if (Array.isArray(schema.enum)) {
      const choice = schema.enum.find((candidate) => candidate !== null && (!options.pathSafe || /^[A-Za-z0-9_~-]+$/.test(String(candidate))));
      return choice === undefined ? null : { value: choice };
    }
    if (schema.oneOf !== undefined) return null;
    if (Array.isArray(schema.anyOf)) return schema.anyOf.length === 0 ? null : this.value(this.at(target, 'anyOf', '0'), options, depth + 1);
    switch (typeOf(schema)) {
      case 'string':
        return this.#string(schema, options.pathSafe === true);
      case 'integer':
      case 'number':
        return this.#number(schema);
      case 'boolean':
        return { value: true };
      case 'array':
        return this.#array(target, depth);
      case 'object':
        return this.#object(target, depth);
      default:
        return schema.allOf === undefined ? null : this.#object(target, depth);
    }
  }

  #string(schema: Schema, pathSafe: boolean): { value: string } | null {
    const minLength = typeof schema.minLength === 'number' ? schema.minLength : 0;
    const maxLength = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
    const fits = (text: string) => text.length >= minLength && [...text].length <= maxLength && (!pathSafe || /^[A-Za-z0-9_~-]+$/.test(text)) && text !== '';
    if (typeof schema.pattern === 'string') {
      let pattern: RegExp;
      try {
        pattern = new RegExp(schema.pattern, 'u');
      } catch {
        pattern = new RegExp(schema.pattern);
      }
      if (typeof schema.example === 'string' && pattern.test(schema.example) && fits(schema.example) && schema.format === undefined) return { value: schema.example };
      if (schema.format !== undefined) return null;
      const found = fc.sample(fc.stringMatching(pattern, { size: 'small' }), { seed: this.#seed, numRuns: 200 }).find(fits);
      return found === undefined ? null : { value: found };
    }
    const format = typeof schema.format === 'string' ? FORMATS[schema.format] : undefined;
    if (format !== undefined) return fits(format) ? { value: format } : null;
    if (typeof schema.format === 'string' && !['password', 'binary', 'string'].includes(schema.format)) return null;
    const text = 'x'.repeat(Math.max(minLength, Math.min(3, maxLength)));
    return fits(text) ? { value: text } : null;
  }

  #number(schema: Schema): { value: number } | null {
    const integer = typeOf(schema) === 'integer';
    let low = typeof schema.minimum === 'number' ? schema.minimum : -Infinity;
    let high = typeof schema.maximum === 'number' ? schema.maximum : Infinity;
    if (typeof schema.exclusiveMinimum === 'number') low = Math.max(low, schema.exclusiveMinimum + (integer ? 1 : 0.5));
    if (schema.exclusiveMinimum === true && low !== -Infinity) low += integer ? 1 : 0.5;
    if (typeof schema.exclusiveMaximum === 'number') high = Math.min(high, schema.exclusiveMaximum - (integer ? 1 : 0.5));
    if (schema.exclusiveMaximum === true && high !== Infinity) high -= integer ? 1 : 0.5;
    const step = typeof schema.multipleOf === 'number' ? schema.multipleOf : 1;
    let value = low !== -Infinity ? Math.ceil(low / step) * step : high !== Infinity ? Math.min(step, Math.floor(high / step) * step) : step;
    if (integer) value = Math.ceil(value);
    return value >= low && value <= high ? { value } : null;
  }

  #array(target: Location, depth: number): { value: unknown[] } | null {
    const schema = target.value as Schema;
    const minItems = typeof schema.minItems === 'number' ? schema.minItems : 0;
    if (minItems > 1 && schema.uniqueItems === true) return null;
    if (schema.items === undefined) return minItems === 0 ? { value: [] } : null;
    const item = this.value(this.at(target, 'items'), {}, depth + 1);
    if (item === null) return null;
    return { value: Array.from({ length: Math.max(minItems, 1) }, () => structuredClone(item.value)) };
  }

  #object(target: Location, depth: number): { value: Record<string, unknown> } | null {
    const shape = this.objectShape(target);
    if (shape === null) return null;
    const value: Record<string, unknown> = {};
    for (const name of shape.required) {
      const property = shape.properties.get(name);
      if (property === undefined) {
        if (shape.closed) return null;
        value[name] = 'x';
        continue;
      }
      const made = this.value(property, {}, depth + 1);
      if (made === null) return null;
      value[name] = made.value;
    }
    return { value };
  }
}
