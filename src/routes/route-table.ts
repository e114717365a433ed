import type { Operation } from './operation.ts';
import { parsePathTemplate, shapeOf, type TemplateSegment } from './path-template.ts';

/** Every operation on one path template, with the `Allow` header a wrong method gets. */
export interface PathRoutes {
  readonly template: string;
  /** By method; HEAD falls back to GET (RFC 9110 §9.3.2) when only GET is declared. */
  readonly operations: ReadonlyMap<string, Operation>;
  readonly allow: string;
}

interface RouteNode {
  literals: Map<string, RouteNode> | null;
  patterns: Array<{ regex: RegExp; node: RouteNode }> | null;
  param: RouteNode | null;
  routes: PathRoutes | null;
}

function emptyNode(): RouteNode {
  return { literals: null, patterns: null, param: null, routes: null };
}

/** Methods in the order `Allow` lists them. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY'];

function childFor(node: RouteNode, segment: TemplateSegment): RouteNode {
  if (segment.kind === 'literal') {
    node.literals ??= new Map();
    let child = node.literals.get(segment.key);
    if (child === undefined) node.literals.set(segment.key, (child = emptyNode()));
    return child;
  }
  if (segment.kind === 'param') return (node.param ??= emptyNode());
  node.patterns ??= [];
  let edge = node.patterns.find((candidate) => candidate.regex.source === segment.regex.source);
  if (edge === undefined) node.patterns.push((edge = { regex: segment.regex, node: emptyNode() }));
  return edge.node;
}

function pathRoutes(template: string, operations: Operation[]): PathRoutes {
  const byMethod = new Map(operations.map((operation) => [operation.method, operation]));
  const get = byMethod.get('GET');
  if (get !== undefined && !byMethod.has('HEAD')) byMethod.set('HEAD', get);
  const allow = METHOD_ORDER.filter((method) => byMethod.has(method)).join(', ');
  return { template, operations: byMethod, allow };
}

/**
 * The compiled route table: a tree of path segments, built once at start. Matching walks the
 * canonical path segment by segment, preferring a literal segment, then a segment with text
 * and parameters, then a bare parameter, and backs up when a branch leads nowhere: the
 * precedence OpenAPI gives concrete paths over templated ones.
 */
export class RouteTable {
  readonly #root: RouteNode;
  readonly size: number;

  private constructor(root: RouteNode, size: number) {
    this.#root = root;
    this.size = size;
  }

  /**
   * Builds the table. Throws an Error naming both sources when two operations claim the same
   * method on templates that match the same paths, and naming the template when it is invalid.
   */
  static build(operations: readonly Operation[]): RouteTable {
    const byShape = new Map<string, { segments: TemplateSegment[]; template: string; operations: Operation[] }>();
    for (const operation of operations) {
      let segments: TemplateSegment[];
      try {
        segments = parsePathTemplate(operation.template);
      } catch (error) {
        throw new Error(`${operation.source}: ${(error as Error).message}`, { cause: error });
      }
      const shape = shapeOf(segments);
      let entry = byShape.get(shape);
      if (entry === undefined) byShape.set(shape, (entry = { segments, template: operation.template, operations: [] }));
      const clash = entry.operations.find((other) => other.method === operation.method);
      if (clash !== undefined) {
        throw new Error(`${operation.source}: ${operation.method} ${operation.template} is the same route as ${clash.source} (${clash.method} ${clash.template})`);
      }
      entry.operations.push(operation);
    }
    const root = emptyNode();
    for (const { segments, template, operations: shared } of byShape.values()) {
      let node = root;
      for (const segment of segments) node = childFor(node, segment);
      node.routes = pathRoutes(template, shared);
    }
    return new RouteTable(root, operations.length);
  }

  /**
   * The routes of a canonical path (no query), or null when none matches. Path parameter
   * values, still percent-encoded, are pushed onto `captures` in the order of the template
   * (`parameterNamesOf` in path-template.ts).
   */
  match(path: string, captures: string[]): PathRoutes | null {
    if (path.length === 1) return this.#root.routes;
    return matchFrom(this.#root, path, 0, captures);
  }
}

function matchFrom(node: RouteNode, path: string, slash: number, captures: string[]): PathRoutes | null {
  if (slash === path.length) return node.routes;
  const start = slash + 1;
  let end = path.indexOf('/', start);
  if (end === -1) end = path.length;
  const segment = path.slice(start, end);
  if (node.literals !== null) {
    const child = node.literals.get(segment.toLowerCase());
    if (child !== undefined) {
      const found = matchFrom(child, path, end, captures);
      if (found !== null) return found;
    }
  }
  const depth = captures.length;
  if (node.patterns !== null) {
    for (const { regex, node: child } of node.patterns) {
      const match = regex.exec(segment);
      if (match === null) continue;
      for (let group = 1; group < match.length; group++) captures.push(match[group] as string);
      const found = matchFrom(child, path, end, captures);
      if (found !== null) return found;
      captures.length = depth;
    }
  }
  if (node.param !== null) {
    captures.push(segment);
    const found = matchFrom(node.param, path, end, captures);
    if (found !== null) return found;
    captures.length = depth;
  }
  return null;
}
