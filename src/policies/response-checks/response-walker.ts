import { ANY_SHAPE, JSON_TYPE_BITS, type ResponseShape } from '../../routes/operation-responses.ts';

/**
 * Walks a parsed JSON response body against the shape its description documents
 * (routes/operation-responses.ts) and lists, as JSON paths, the members it does not declare and
 * the places whose JSON type differs. Paths only, never values: a value may be a secret or
 * personal data. Array elements share one path (`$.items[*].id`), so a field repeated in every
 * element is one finding. Iterative (a deeply nested body cannot exhaust the stack) and bounded:
 * at most `maxNodes` values are visited and `maxPaths` paths kept per list.
 */

export interface WalkLimits {
  /** Values visited at most; the walk stops there (`truncated`). */
  readonly maxNodes: number;
  /** Paths kept per list; further ones only set `truncated`. */
  readonly maxPaths: number;
  /** Longest member name put in a path; longer ones are cut, with `…`. */
  readonly maxNameLength: number;
}

export const DEFAULT_WALK_LIMITS: WalkLimits = { maxNodes: 10_000, maxPaths: 20, maxNameLength: 64 };

interface WalkResult {
  /** Members the description does not declare (nor allow), by path. */
  readonly undocumented: string[];
  /** Places whose value has a JSON type other than the documented ones. */
  readonly mismatched: string[];
  /** A list was cut at `maxPaths`, or the walk stopped at `maxNodes`. */
  readonly truncated: boolean;
}

const PLAIN_NAME = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Longest path reported: a deeper one keeps its start and its end, with `…` between. */
const MAX_PATH_LENGTH = 300;

/** `.name`, or `["odd name"]` for names that are not identifiers (quoted as JSON, so control characters cannot break a log line). */
function memberPath(path: string, name: string, maxLength: number): string {
  const shown = name.length > maxLength ? `${name.slice(0, maxLength - 1)}…` : name;
  return PLAIN_NAME.test(shown) ? `${path}.${shown}` : `${path}[${JSON.stringify(shown)}]`;
}

/** The JSON type bits a value has: an integer is a `number` and an `integer`. */
function typeOf(value: unknown): number {
  if (value === null) return JSON_TYPE_BITS.null;
  switch (typeof value) {
    case 'string':
      return JSON_TYPE_BITS.string;
    case 'boolean':
      return JSON_TYPE_BITS.boolean;
    case 'number':
      return Number.isInteger(value) ? JSON_TYPE_BITS.number | JSON_TYPE_BITS.integer : JSON_TYPE_BITS.number;
    default:
      return Array.isArray(value) ? JSON_TYPE_BITS.array : JSON_TYPE_BITS.object;
  }
}

/** The shape a member named `name` has under `shape`; null when the description does not document it. */
function memberShape(shape: ResponseShape, name: string): ResponseShape | null {
  const declared = shape.properties.get(name);
  if (declared !== undefined) return declared;
  for (const { pattern, shape: matched } of shape.patterns) if (pattern.test(name)) return matched;
  const additional = shape.additional;
  if (additional === 'closed') return null;
  return additional === 'open' ? ANY_SHAPE : additional;
}

class PathList {
  readonly paths = new Set<string>();
  truncated = false;
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  add(found: string): void {
    const path = found.length > MAX_PATH_LENGTH ? `${found.slice(0, MAX_PATH_LENGTH / 2)}…${found.slice(1 - MAX_PATH_LENGTH / 2)}` : found;
    if (this.paths.has(path)) return;
    if (this.paths.size >= this.#max) this.truncated = true;
    else this.paths.add(path);
  }
}

export function walkResponse(body: unknown, root: ResponseShape, limits: WalkLimits = DEFAULT_WALK_LIMITS): WalkResult {
  const undocumented = new PathList(limits.maxPaths);
  const mismatched = new PathList(limits.maxPaths);
  const values: unknown[] = [body];
  const shapes: ResponseShape[] = [root];
  const paths: string[] = ['$'];
  let visited = 0;
  while (values.length > 0 && visited < limits.maxNodes) {
    visited++;
    const value = values.pop();
    const shape = shapes.pop() as ResponseShape;
    const path = paths.pop() as string;
    if (shape.types !== 0 && (shape.types & typeOf(value)) === 0) {
      mismatched.add(path);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) {
      const items = shape.items;
      if (items === null || items === ANY_SHAPE) continue;
      const itemPath = `${path}[*]`;
      for (let index = value.length - 1; index >= 0; index--) {
        values.push(value[index]);
        shapes.push(items);
        paths.push(itemPath);
      }
      continue;
    }
    for (const name of Object.keys(value)) {
      const member = memberShape(shape, name);
      if (member === ANY_SHAPE) continue;
      const childPath = memberPath(path, name, limits.maxNameLength);
      if (member === null) {
        undocumented.add(childPath);
        continue;
      }
      values.push((value as Record<string, unknown>)[name]);
      shapes.push(member);
      paths.push(childPath);
    }
  }
  return {
    undocumented: [...undocumented.paths],
    mismatched: [...mismatched.paths],
    truncated: undocumented.truncated || mismatched.truncated || values.length > 0,
  };
}
