import type { Location } from '../../src/openapi/document-set.ts';
import type { OperationDescription, ParameterDescription } from '../../src/openapi/operation-descriptions.ts';
import { SchemaValues, typeOf } from './schema-values.ts';

/**
 * Requests for one operation of a real description: one the description accepts, built from its
 * schemas (schema-values.ts), and single mutations of it that it refuses, each with the status
 * the gateway must answer: a value of the wrong type, a required value missing, a value out of
 * range, a property where none may be added, an undeclared query parameter (400
 * `request_invalid`), a method the path does not declare (405) and a path it does not (404).
 */

export interface CorpusRequest {
  readonly method: string;
  /** Path and query, encoded. */
  readonly target: string;
  readonly headers: Record<string, string>;
  readonly body: string | null;
}

export interface Mutation {
  readonly kind: 'wrong type' | 'missing required' | 'out of range' | 'extra property' | 'unknown query parameter' | 'wrong method' | 'unknown path';
  readonly request: CorpusRequest;
  readonly status: 400 | 404 | 405;
}

interface Parts {
  path: Map<string, string>;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  body: { mediaType: string; value: unknown; json: boolean } | null;
}

const METHODS = ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function text(value: unknown, json: boolean): string {
  return json || typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export class OperationRequests {
  readonly #values: SchemaValues;
  readonly #description: OperationDescription;
  readonly #methods: readonly string[];
  readonly #parts: Parts | null;

  /** `methods`: every method the description declares on this operation's path. */
  constructor(values: SchemaValues, description: OperationDescription, methods: readonly string[]) {
    this.#values = values;
    this.#description = description;
    this.#methods = methods;
    this.#parts = this.#build();
  }

  #parameterValue(parameter: ParameterDescription): string | null {
    if (parameter.schema === null) return parameter.required ? null : '';
    const made = this.#values.value(parameter.schema, { pathSafe: parameter.in === 'path' });
    if (made === null) return null;
    if (parameter.json) return JSON.stringify(made.value);
    if (Array.isArray(made.value)) return made.value.length === 0 ? null : text(made.value[0], false);
    return isObject(made.value) ? null : text(made.value, false);
  }

  #build(): Parts | null {
    const parts: Parts = { path: new Map(), query: [], headers: {}, body: null };
    for (const parameter of this.#description.parameters) {
      if (parameter.in === 'cookie' || (!parameter.required && parameter.in !== 'query')) continue;
      if (parameter.in === 'header' && ['accept', 'content-type', 'authorization'].includes(parameter.name.toLowerCase())) continue;
      const value = this.#parameterValue(parameter);
      if (value === null) {
        if (parameter.required) return null;
        continue;
      }
      if (value === '') continue;
      if (parameter.in === 'path') parts.path.set(parameter.name, value);
      else if (parameter.in === 'query') parts.query.push([parameter.name, value]);
      else parts.headers[parameter.name] = value;
    }
    const body = this.#description.body;
    if (body !== null && body.content.length > 0) {
      const json = body.content.find((media) => media.mediaType === 'application/json' || media.mediaType.endsWith('+json'));
      const chosen = json ?? body.content[0]!;
      if (chosen.mediaType.includes('*')) return body.required ? null : parts;
      if (json !== undefined && json.schema !== null) {
        const made = this.#values.value(json.schema);
        if (made === null) return null;
        parts.body = { mediaType: json.mediaType, value: made.value, json: true };
      } else parts.body = { mediaType: chosen.mediaType, value: chosen.mediaType === 'application/x-www-form-urlencoded' ? 'a=b' : 'x', json: false };
    }
    return parts;
  }

  #request(parts: Parts, method = this.#description.method, extraPath = ''): CorpusRequest {
    const path = this.#description.template.replace(/\{([^{}/]+)\}/g, (_, name: string) => encodeURIComponent(parts.path.get(name) ?? 'x'));
    const query = parts.query.map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`).join('&');
    const headers = { ...parts.headers };
    let body: string | null = null;
    if (parts.body !== null) {
      headers['content-type'] = parts.body.mediaType;
      body = parts.body.json ? JSON.stringify(parts.body.value) : String(parts.body.value);
    }
    return { method, target: `${path}${extraPath}${query === '' ? '' : `?${query}`}`, headers, body };
  }

  /** A request the description accepts; null when none could be built for certain. */
  valid(): CorpusRequest | null {
    return this.#parts === null ? null : this.#request(this.#parts);
  }

  /** Single mutations of the valid request, each refused with its status. */
  mutations(unknownPath: string): Mutation[] {
    const parts = this.#parts;
    if (parts === null) return [];
    const mutations: Mutation[] = [];
    const add = (kind: Mutation['kind'], change: (copy: Parts) => boolean) => {
      const copy: Parts = { path: new Map(parts.path), query: parts.query.map(([name, value]) => [name, value]), headers: { ...parts.headers }, body: parts.body === null ? null : { ...parts.body, value: structuredClone(parts.body.value) } };
      if (change(copy)) mutations.push({ kind, request: this.#request(copy), status: 400 });
    };
    add('wrong type', (copy) => this.#wrongType(copy));
    add('missing required', (copy) => this.#missingRequired(copy));
    add('out of range', (copy) => this.#outOfRange(copy));
    add('extra property', (copy) => this.#extraProperty(copy));
    add('unknown query parameter', (copy) => (copy.query.push(['portcullis-undeclared', '1']), true));
    const other = METHODS.find((method) => !this.#methods.includes(method) && !(method === 'GET' && this.#methods.includes('HEAD')));
    if (other !== undefined) mutations.push({ kind: 'wrong method', request: this.#request(parts, other), status: 405 });
    mutations.push({ kind: 'unknown path', request: { ...this.#request(parts), target: unknownPath }, status: 404 });
    return mutations;
  }

  #parameter(place: string, name: string): ParameterDescription | undefined {
    return this.#description.parameters.find((parameter) => parameter.in === place && parameter.name === name);
  }

  /** The body's top-level object shape, when the body is a JSON object of plain properties. */
  #bodyShape(parts: Parts): ReturnType<SchemaValues['objectShape']> {
    const schema = this.#description.body?.content.find((media) => media.mediaType === parts.body?.mediaType)?.schema;
    return parts.body?.json === true && isObject(parts.body.value) && schema !== null && schema !== undefined ? this.#values.objectShape(schema) : null;
  }

  /** A simple schema of one type and no alternatives. */
  #simple(location: Location): Record<string, unknown> | null {
    const schema = this.#values.schemaAt(location).value;
    if (!isObject(schema) || schema.anyOf !== undefined || schema.oneOf !== undefined || schema.allOf !== undefined || Array.isArray(schema.type) || schema.nullable === true) return null;
    return schema;
  }

  #wrongType(parts: Parts): boolean {
    for (const [name] of [...parts.path, ...parts.query]) {
      const parameter = this.#parameter(parts.path.has(name) ? 'path' : 'query', name);
      const schema = parameter?.schema === null || parameter === undefined || parameter.json ? null : this.#simple(parameter.schema);
      if (schema === null || !['integer', 'number', 'boolean'].includes(typeOf(schema) ?? '') || schema.enum !== undefined) continue;
      if (parts.path.has(name)) parts.path.set(name, 'not-a-number');
      else parts.query = parts.query.map(([key, value]) => [key, key === name ? 'not-a-number' : value]);
      return true;
    }
    const shape = this.#bodyShape(parts);
    for (const name of shape?.required ?? []) {
      const property = shape?.properties.get(name);
      const schema = property === undefined ? null : this.#simple(property);
      const type = schema === null ? undefined : typeOf(schema);
      if (type === undefined || schema?.enum !== undefined) continue;
      (parts.body!.value as Record<string, unknown>)[name] = type === 'string' ? 12345 : 'not-of-its-type';
      return true;
    }
    return false;
  }

  #missingRequired(parts: Parts): boolean {
    const query = this.#description.parameters.find((parameter) => parameter.in === 'query' && parameter.required && parts.query.some(([name]) => name === parameter.name));
    if (query !== undefined) {
      parts.query = parts.query.filter(([name]) => name !== query.name);
      return true;
    }
    const shape = this.#bodyShape(parts);
    const readOnly = (name: string) => isObject(this.#values.schemaAt(shape!.properties.get(name)!).value) && (this.#values.schemaAt(shape!.properties.get(name)!).value as Record<string, unknown>).readOnly === true;
    const name = [...(shape?.required ?? [])].find((candidate) => shape?.properties.has(candidate) && !readOnly(candidate));
    if (name !== undefined) {
      delete (parts.body!.value as Record<string, unknown>)[name];
      return true;
    }
    if (this.#description.body?.required === true && parts.body !== null) {
      parts.body = null;
      return true;
    }
    return false;
  }

  #outOfRange(parts: Parts): boolean {
    const bounded = (location: Location): unknown => {
      const schema = this.#simple(location);
      if (schema === null) return undefined;
      if (typeof schema.maximum === 'number' && typeOf(schema) === 'integer') return schema.maximum + 1;
      if (typeof schema.minimum === 'number' && typeOf(schema) === 'integer') return schema.minimum - 1;
      if (Array.isArray(schema.enum) && typeOf(schema) === 'string') return 'portcullis-not-in-enum';
      if (typeof schema.maxLength === 'number' && schema.pattern === undefined && schema.format === undefined) return 'y'.repeat(schema.maxLength + 1);
      return undefined;
    };
    for (const index of parts.query.keys()) {
      const [name] = parts.query[index]!;
      const parameter = this.#parameter('query', name);
      const value = parameter?.schema === null || parameter === undefined || parameter.json ? undefined : bounded(parameter.schema);
      if (value === undefined) continue;
      parts.query[index] = [name, String(value)];
      return true;
    }
    const shape = this.#bodyShape(parts);
    for (const name of shape?.required ?? []) {
      const property = shape?.properties.get(name);
      const value = property === undefined ? undefined : bounded(property);
      if (value === undefined) continue;
      (parts.body!.value as Record<string, unknown>)[name] = value;
      return true;
    }
    return false;
  }

  #extraProperty(parts: Parts): boolean {
    const shape = this.#bodyShape(parts);
    if (shape === null || !shape.closed) return false;
    (parts.body!.value as Record<string, unknown>).portcullisUndeclared = 1;
    return true;
  }
}
