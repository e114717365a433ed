import { isJsonMediaType } from '../http/media-type.ts';
import { JSON_TYPE_BITS, type PreparedResponseShape } from '../routes/operation-responses.ts';
import { formatPointer } from './json-pointer.ts';
import type { DocumentSet, Location } from './document-set.ts';
import type { OpenApiVersion } from './openapi-ajv.ts';

/**
 * Reads what an operation's `responses` document, for response checks: the status keys, and
 * for each JSON body the *shape* of what it may hold (which properties each object declares,
 * whether it allows others, what arrays hold, which JSON types each place has). Done in the
 * description's child process (prepared-description.ts), before request-schema preparation
 * rewrites `$ref`s, and only when response checks are on.
 *
 * A shape is a union over the schemas that apply at one place: `$ref` targets (with a 3.1
 * `$ref`'s siblings), `allOf`, `anyOf`, `oneOf`, `then` and `else` members alike: a property
 * any of them declares is documented. So an `anyOf` never makes a finding the description
 * explains by one of its alternatives; a field none of them names is reported. Types are
 * stricter: `allOf` intersects, alternatives join, and anything unsure (no type, a
 * contradiction, an anchor) is 0, "not checked". Shapes are memoised by the set of schema
 * locations they stand for, so a recursive schema is a cycle, not an endless tree, and a
 * component used by many operations is one shape.
 */

/** Past this many shapes, further places are documented as anything: a description cannot make start-up unbounded. */
const MAX_SHAPES = 200_000;
/** Composition nested deeper than this is treated as anything. */
const MAX_DEPTH = 64;
const ALTERNATIVES = ['anyOf', 'oneOf'] as const;
const ANY_INDEX = 0;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** `number` admits integers: intersect with that in mind. */
function widen(types: number): number {
  return types & JSON_TYPE_BITS.number ? types | JSON_TYPE_BITS.integer : types;
}

/** Both constraints at once; 0 (unsure) when either is unsure of nothing, or they contradict. */
function meet(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return widen(a) & widen(b);
}

function typeBits(schema: Record<string, unknown>, version: OpenApiVersion): number {
  const declared = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
  let bits = 0;
  for (const name of declared) {
    const bit = typeof name === 'string' ? (JSON_TYPE_BITS as Record<string, number>)[name] : undefined;
    if (bit === undefined) return 0;
    bits |= bit;
  }
  if (bits !== 0 && version === '3.0' && schema.nullable === true) bits |= JSON_TYPE_BITS.null;
  return bits;
}

/** What the schemas at one place declare, gathered before it becomes a shape. */
class Gathered {
  readonly properties = new Map<string, Location[]>();
  readonly patterns = new Map<string, Location[]>();
  readonly additional: Location[] = [];
  readonly items: Location[] = [];
  /** Some schema here is unknowable (`true`, an anchor, too deep): anything goes. */
  anything = false;
  /** Some schema declares members (`properties`, `patternProperties`, `additionalProperties`). */
  declaresMembers = false;
  /** Some schema allows any further member (`additionalProperties: true`). */
  openMembers = false;
  /** Some schema allows any array item (`items: true`, or `items` absent beside `prefixItems`). */
  anyItems = false;
}

export class ResponseShapeCompiler {
  readonly #set: DocumentSet;
  readonly #version: OpenApiVersion;
  /** Index 0 is "anything". */
  readonly shapes: PreparedResponseShape[] = [{ types: 0, properties: [], patterns: [], additional: 'open', items: null }];
  readonly #memo = new Map<string, number>();
  readonly #pending: Array<{ index: number; locations: Location[] }> = [];

  constructor(set: DocumentSet, version: OpenApiVersion) {
    this.#set = set;
    this.#version = version;
  }

  /**
   * The operation's documented statuses, each with the shape of its JSON body (null: no JSON
   * body documented); null when the operation has no `responses` object.
   */
  responses(operation: Location): Array<[string, number | null]> | null {
    const responsesLocation = this.#set.dereference(this.#set.at(operation, 'responses'));
    if (!isObject(responsesLocation.value)) return null;
    const statuses: Array<[string, number | null]> = [];
    for (const key of Object.keys(responsesLocation.value)) {
      if (key.startsWith('x-')) continue;
      const response = this.#set.dereference(this.#set.at(responsesLocation, key));
      const content = this.#set.at(response, 'content');
      let shape: number | null = null;
      if (isObject(content.value)) {
        const schemas: Location[] = [];
        for (const mediaType of Object.keys(content.value)) {
          if (!isJsonMediaType((mediaType.split(';')[0] as string).trim().toLowerCase())) continue;
          const schema = this.#set.at(content, mediaType, 'schema');
          // A JSON body without a schema is documented as anything.
          if (schema.value === undefined) {
            shape = ANY_INDEX;
            break;
          }
          schemas.push(schema);
        }
        if (shape === null && schemas.length > 0) shape = this.#shapeOf(schemas);
      }
      statuses.push([/^[1-5]xx$/i.test(key) ? key.toUpperCase() : key, shape]);
    }
    this.#drain();
    return statuses;
  }

  /** The shape for the schemas at one place, made (later, in #drain) if it is new. */
  #shapeOf(locations: Location[]): number {
    if (locations.length === 0) return ANY_INDEX;
    const key = locations.map((location) => `${location.document.url}#${formatPointer(location.tokens)}`).sort().join('\n');
    const known = this.#memo.get(key);
    if (known !== undefined) return known;
    if (this.shapes.length >= MAX_SHAPES) return ANY_INDEX;
    const index = this.shapes.length;
    this.shapes.push(this.shapes[ANY_INDEX] as PreparedResponseShape);
    this.#memo.set(key, index);
    this.#pending.push({ index, locations });
    return index;
  }

  /** Makes every shape asked for, breadth first: no recursion however deep the schemas nest. */
  #drain(): void {
    for (let next = this.#pending.pop(); next !== undefined; next = this.#pending.pop()) {
      const gathered = new Gathered();
      let types = 0;
      let unsure = false;
      for (const location of next.locations) {
        this.#gather(location, gathered, new Set(), 0);
        const bits = this.#typesOf(location, new Set(), 0);
        if (bits === 0) unsure = true;
        types |= bits;
      }
      this.shapes[next.index] = gathered.anything ? (this.shapes[ANY_INDEX] as PreparedResponseShape) : this.#shape(gathered, unsure ? 0 : types);
    }
  }

  #shape(gathered: Gathered, types: number): PreparedResponseShape {
    const properties = [...gathered.properties].map(([name, locations]) => [name, this.#shapeOf(locations)] as const);
    const patterns = [...gathered.patterns].map(([pattern, locations]) => [pattern, this.#shapeOf(locations)] as const);
    let additional: PreparedResponseShape['additional'];
    if (gathered.openMembers || !gathered.declaresMembers) additional = 'open';
    else if (gathered.additional.length > 0) additional = this.#shapeOf(gathered.additional);
    else additional = 'closed';
    const items = gathered.anyItems || gathered.items.length === 0 ? null : this.#shapeOf(gathered.items);
    return { types, properties, patterns, additional, items };
  }

  /** Adds what the schema at `location` (and every schema it pulls in) declares about members and items. */
  #gather(location: Location, into: Gathered, seen: Set<unknown>, depth: number): void {
    const schema = location.value;
    if (schema === false || seen.has(schema)) return;
    if (!isObject(schema) || depth > MAX_DEPTH) {
      into.anything = true;
      return;
    }
    seen.add(schema);
    if (typeof schema.$ref === 'string') {
      const target = this.#set.resolve(schema.$ref, this.#set.at(location, '$ref'), true);
      if (target === null) into.anything = true;
      else this.#gather(target, into, seen, depth + 1);
      // OpenAPI 3.0 ignores a `$ref`'s siblings.
      if (this.#version === '3.0') return;
    }
    for (const keyword of ['allOf', ...ALTERNATIVES] as const) {
      const members = this.#set.at(location, keyword);
      if (Array.isArray(members.value)) members.value.forEach((_, index) => this.#gather(this.#set.at(members, String(index)), into, seen, depth + 1));
    }
    for (const keyword of ['then', 'else']) if (schema[keyword] !== undefined) this.#gather(this.#set.at(location, keyword), into, seen, depth + 1);
    this.#gatherMembers(location, schema, into);
    this.#gatherItems(location, schema, into);
  }

  #gatherMembers(location: Location, schema: Record<string, unknown>, into: Gathered): void {
    for (const [keyword, map] of [['properties', into.properties], ['patternProperties', into.patterns]] as const) {
      if (schema[keyword] === undefined) continue;
      // A `$ref` in place of the whole map, as descriptions split over files write it.
      const members = this.#set.dereference(this.#set.at(location, keyword));
      if (!isObject(members.value)) continue;
      into.declaresMembers = true;
      for (const name of Object.keys(members.value)) {
        let list = map.get(name);
        if (list === undefined) map.set(name, (list = []));
        list.push(this.#set.at(members, name));
      }
    }
    const additional = schema.additionalProperties ?? schema.unevaluatedProperties;
    if (additional === undefined) return;
    into.declaresMembers = true;
    if (additional === true || (isObject(additional) && Object.keys(additional).length === 0)) into.openMembers = true;
    else if (isObject(additional)) into.additional.push(this.#set.at(location, schema.additionalProperties === undefined ? 'unevaluatedProperties' : 'additionalProperties'));
  }

  #gatherItems(location: Location, schema: Record<string, unknown>, into: Gathered): void {
    const { items, prefixItems } = schema;
    if (items === true) into.anyItems = true;
    else if (isObject(items)) into.items.push(this.#set.at(location, 'items'));
    else if (Array.isArray(items)) items.forEach((_, index) => into.items.push(this.#set.at(location, 'items', String(index))));
    if (Array.isArray(prefixItems)) {
      prefixItems.forEach((_, index) => into.items.push(this.#set.at(location, 'prefixItems', String(index))));
      if (items === undefined) into.anyItems = true;
    }
  }

  /** The JSON types the schema at `location` allows (JSON_TYPE_BITS); 0 when unsure. */
  #typesOf(location: Location, seen: Set<unknown>, depth: number): number {
    const schema = location.value;
    if (!isObject(schema) || seen.has(schema) || depth > MAX_DEPTH) return 0;
    seen.add(schema);
    let bits = 0;
    if (typeof schema.$ref === 'string') {
      const target = this.#set.resolve(schema.$ref, this.#set.at(location, '$ref'), true);
      if (target === null) return 0;
      bits = this.#typesOf(target, seen, depth + 1);
      if (this.#version === '3.0') return bits;
    }
    bits = meet(bits, typeBits(schema, this.#version));
    const allOf = this.#set.at(location, 'allOf');
    if (Array.isArray(allOf.value)) allOf.value.forEach((_, index) => (bits = meet(bits, this.#typesOf(this.#set.at(allOf, String(index)), seen, depth + 1))));
    for (const keyword of ALTERNATIVES) {
      const members = this.#set.at(location, keyword);
      if (!Array.isArray(members.value)) continue;
      let joined = 0;
      let unsure = members.value.length === 0;
      members.value.forEach((_, index) => {
        // Each alternative on its own: one seen by a sibling is no cycle.
        const member = this.#typesOf(this.#set.at(members, String(index)), new Set(seen), depth + 1);
        if (member === 0) unsure = true;
        joined |= member;
      });
      if (!unsure) bits = meet(bits, joined);
    }
    return bits;
  }
}
