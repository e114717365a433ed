import { OpenApiError, type DocumentSet, type Location } from './document-set.ts';

/**
 * Makes the request schemas of an OpenAPI document ready for ajv, once, before compiling:
 * - follows every JSON-Pointer `$ref` the schemas reach (loading other files), so a dangling
 *   one fails start-up with its location instead of at the first request;
 * - OpenAPI 3.0 only: rewrites the keywords where 3.0 differs from JSON Schema (boolean
 *   `exclusiveMinimum`/`exclusiveMaximum`; `nullable` without `type`), in place;
 * - drops `readOnly` properties from `required`: they describe responses, and OpenAPI says
 *   a request need not (should not) send them;
 * - refuses property names that differ from a declared property only in letter case (below).
 * Returns every schema it reached that a `$ref` targets, so the caller can check each against
 * the meta-schema at its own location.
 */

export type OpenApiVersion = '3.0' | '3.1';

/** Keywords whose value is one schema. */
const SCHEMA_KEYWORDS = ['additionalProperties', 'unevaluatedProperties', 'items', 'additionalItems', 'unevaluatedItems', 'contains', 'propertyNames', 'not', 'if', 'then', 'else'];
/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
/** Keywords whose value maps names to schemas. */
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions'];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function convertOpenApi30(schema: Record<string, unknown>): void {
  for (const [flag, bound] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']] as const) {
    if (typeof schema[flag] !== 'boolean') continue;
    if (schema[flag] === true && typeof schema[bound] === 'number') {
      schema[flag] = schema[bound];
      delete schema[bound];
    } else delete schema[flag];
  }
  if (schema.nullable !== undefined && schema.type === undefined) delete schema.nullable;
}

function dropReadOnlyRequired(schema: Record<string, unknown>): void {
  const { required, properties } = schema;
  if (!Array.isArray(required) || !isObject(properties)) return;
  const kept = required.filter((name) => !(typeof name === 'string' && isObject(properties[name]) && properties[name].readOnly === true));
  if (kept.length !== required.length) schema.required = kept;
}

/** `serial` → `[sS][eE][rR][iI][aA][lL]`: the name in any ASCII letter case, other characters escaped. */
function anyCase(name: string): string {
  let pattern = '';
  for (const character of name) {
    const lower = character.toLowerCase();
    const upper = character.toUpperCase();
    pattern += lower !== upper && lower.length === 1 && upper.length === 1 ? `[${lower}${upper}]` : character.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return pattern;
}

/**
 * An object whose declared properties include `serial` refuses a member named `Serial` (when
 * other members are allowed at all): frameworks that bind JSON without regard to case (Go's
 * encoding/json, ASP.NET Core, Jackson configured so) would read `Serial` as `serial`, which
 * the schema never checked. Left alone where the schema already says what names may be.
 */
function refuseCaseVariantNames(schema: Record<string, unknown>): void {
  const { properties } = schema;
  if (!isObject(properties) || schema.additionalProperties === false || schema.propertyNames !== undefined || schema.patternProperties !== undefined) return;
  const names = Object.keys(properties).filter((name) => name.toLowerCase() !== name.toUpperCase());
  if (names.length === 0) return;
  const declared = names.map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|');
  schema.propertyNames = { not: { pattern: `^(?!(?:${declared})$)(?:${names.map(anyCase).join('|')})$` } };
}

export class SchemaPreparation {
  readonly #set: DocumentSet;
  readonly #version: OpenApiVersion;
  readonly #visited = new WeakSet<object>();
  /** Schemas reached through `$ref`, each once: checked against the meta-schema by the compiler. */
  readonly referenced: Location[] = [];

  constructor(set: DocumentSet, version: OpenApiVersion) {
    this.#set = set;
    this.#version = version;
  }

  /** Prepares the schema at `location` and everything it references. */
  prepare(location: Location, underId = false): void {
    const schema = location.value;
    if (typeof schema === 'boolean') return;
    if (!isObject(schema)) throw new OpenApiError(this.#set.describe(location), 'expected a schema (an object)');
    if (this.#visited.has(schema)) return;
    this.#visited.add(schema);
    if (this.#version === '3.0') convertOpenApi30(schema);
    dropReadOnlyRequired(schema);
    refuseCaseVariantNames(schema);
    // Below a 3.1 `$id`, relative refs resolve against that id, not the file: ajv resolves those.
    const scoped = underId || typeof schema.$id === 'string';
    if (typeof schema.$ref === 'string' && !scoped) {
      const target = this.#set.resolve(schema.$ref, this.#set.at(location, '$ref'), true);
      if (target !== null && isObject(target.value) && !this.#visited.has(target.value)) {
        this.referenced.push(target);
        this.prepare(target);
      }
    }
    for (const keyword of SCHEMA_KEYWORDS) if (isObject(schema[keyword])) this.prepare(this.#set.at(location, keyword), scoped);
    for (const keyword of SCHEMA_LIST_KEYWORDS) {
      const list = schema[keyword];
      if (Array.isArray(list)) list.forEach((_, index) => this.prepare(this.#set.at(location, keyword, String(index)), scoped));
    }
    for (const keyword of SCHEMA_MAP_KEYWORDS) {
      const map = schema[keyword];
      if (isObject(map)) for (const name of Object.keys(map)) if (isObject(map[name]) || typeof map[name] === 'boolean') this.prepare(this.#set.at(location, keyword, name), scoped);
    }
  }
}
