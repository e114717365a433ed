import { OpenApiError, type DocumentSet, type Location } from './document-set.ts';
import type { OpenApiVersion } from './openapi-ajv.ts';
import type { SchemaFindings } from './schema-findings.ts';

/**
 * Makes the request schemas of an OpenAPI description ready for ajv, once, at load, in place
 * (the objects are the loader's own and go nowhere else):
 * - follows every JSON-Pointer `$ref` the schemas reach, so a dangling one fails start-up with
 *   its location, and rewrites it to the target's absolute address (`file:///…#/pointer`),
 *   under which the target is registered with ajv once (`shared`), however many use it;
 * - OpenAPI 3.0 only: a `$ref`'s siblings are dropped (3.0 ignores them; 3.1 schemas apply
 *   them, as JSON Schema does), and the keywords where 3.0 differs from JSON Schema are
 *   rewritten (boolean `exclusiveMinimum`/`exclusiveMaximum`; `nullable` without `type`);
 * - drops `readOnly` properties from `required`: they describe responses, and OpenAPI says
 *   a request need not (should not) send them;
 * - refuses property names that differ from a declared property only in letter case (below);
 * - reports patterns, formats and keywords through SchemaFindings, then drops annotations
 *   (`description`, `example`, `x-…`), which no check reads and which are most of the bytes.
 */

/** Keywords whose value is one schema. */
const SCHEMA_KEYWORDS = ['additionalProperties', 'unevaluatedProperties', 'items', 'additionalItems', 'unevaluatedItems', 'contains', 'propertyNames', 'not', 'if', 'then', 'else'];
/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST_KEYWORDS = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
/** Keywords whose value maps names to schemas. */
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', 'dependentSchemas', '$defs', 'definitions'];
/** Annotations: no validator reads them. */
const ANNOTATIONS = ['title', 'description', 'example', 'examples', 'externalDocs', 'xml', '$comment', 'deprecated'];
/** Keywords whose references ajv resolves itself, against a schema's own `$id` or anchors. */
const SCOPE_KEYWORDS = ['$id', '$anchor', '$dynamicAnchor', '$dynamicRef', '$recursiveRef', '$recursiveAnchor'];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function convertOpenApi30(schema: Record<string, unknown>): void {
  if (typeof schema.$ref === 'string') {
    for (const keyword of Object.keys(schema)) if (keyword !== '$ref') delete schema[keyword];
    return;
  }
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

function dropAnnotations(schema: Record<string, unknown>): void {
  for (const keyword of ANNOTATIONS) delete schema[keyword];
  for (const keyword of Object.keys(schema)) if (keyword.startsWith('x-')) delete schema[keyword];
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
  readonly #findings: SchemaFindings;
  /** The address ajv knows a location by: `file:///…/common.yaml#/Widget`, normalised as ajv normalises it. */
  readonly #addressOf: (location: Location) => string;
  readonly #visited = new WeakSet<object>();
  /** Every `$ref` target, by the address its references now carry: registered with ajv once each. */
  readonly shared = new Map<string, Location>();
  /** Whether some schema uses `$id`, anchors or dynamic references, which only compiling can check. */
  scoped = false;

  constructor(set: DocumentSet, version: OpenApiVersion, findings: SchemaFindings, addressOf: (location: Location) => string) {
    this.#set = set;
    this.#version = version;
    this.#findings = findings;
    this.#addressOf = addressOf;
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
    this.#findings.inspect(schema, (...tokens) => this.#set.describe(this.#set.at(location, ...tokens)));
    dropAnnotations(schema);
    if (SCOPE_KEYWORDS.some((keyword) => schema[keyword] !== undefined)) this.scoped = true;
    // Below a 3.1 `$id`, relative refs resolve against that id, not the file: ajv resolves those.
    const scoped = underId || typeof schema.$id === 'string';
    if (typeof schema.$ref === 'string' && !scoped) this.#follow(schema, location);
    for (const keyword of SCHEMA_KEYWORDS) if (isObject(schema[keyword])) this.prepare(this.#set.at(location, keyword), scoped);
    for (const keyword of SCHEMA_LIST_KEYWORDS) {
      const list = this.#container(schema, location, keyword, scoped);
      if (Array.isArray(list.value)) list.value.forEach((_, index) => this.prepare(this.#set.at(list, String(index)), scoped));
    }
    for (const keyword of SCHEMA_MAP_KEYWORDS) {
      const map = this.#container(schema, location, keyword, scoped);
      if (isObject(map.value)) for (const [name, value] of Object.entries(map.value)) if (isObject(value) || typeof value === 'boolean') this.prepare(this.#set.at(map, name), scoped);
    }
  }

  /**
   * The list or map under `keyword`. Where a description puts a `$ref` in place of the whole
   * map (`properties: {$ref: attributes.yml#/ids}`), as descriptions split over files do and
   * their authors' bundlers accept, it is read as a JSON Reference to the map and replaced by it.
   */
  #container(schema: Record<string, unknown>, location: Location, keyword: string, scoped: boolean): Location {
    const container = this.#set.at(location, keyword);
    const value = container.value;
    // `items` holding a `$ref` is one schema (prepared above), not a reference to a list.
    if (scoped || keyword === 'items' || !isObject(value) || typeof value.$ref !== 'string' || Object.keys(value).length !== 1) return container;
    const target = this.#set.dereference(container);
    schema[keyword] = target.value;
    return target;
  }

  /** Points the schema's `$ref` at its target's address, and prepares the target. */
  #follow(schema: Record<string, unknown>, location: Location): void {
    const target = this.#set.resolve(schema.$ref as string, this.#set.at(location, '$ref'), true);
    if (target === null) {
      this.scoped = true; // an anchor: ajv finds it
      return;
    }
    if (!isObject(target.value) && typeof target.value !== 'boolean') throw new OpenApiError(this.#set.describe(target), 'expected a schema (an object)');
    const address = this.#addressOf(target);
    schema.$ref = address;
    if (!this.shared.has(address)) this.shared.set(address, target);
    this.prepare(target);
  }
}
