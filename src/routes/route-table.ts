import type { Operation } from './operation.ts';
import { foldedShapeOf, parsePathTemplate, shapeOf, type TemplateSegment } from './path-template.ts';

/** Every operation on one path template, with the `Allow` header a wrong method gets. */
export interface PathRoutes {
  readonly template: string;
  /** By method; HEAD falls back to GET (RFC 9110 §9.3.2) when only GET is declared. */
  readonly operations: ReadonlyMap<string, Operation>;
  readonly allow: string;
}

interface RouteNode {
  literals: Map<string, RouteNode> | null;
  /** The literal segments by their lower case, to notice a segment that differs from one only in case. */
  foldedLiterals: Map<string, string> | null;
  patterns: Array<{ regex: RegExp; node: RouteNode }> | null;
  param: RouteNode | null;
  routes: PathRoutes | null;
}

function emptyNode(): RouteNode {
  return { literals: null, foldedLiterals: null, patterns: null, param: null, routes: null };
}

/** Methods in the order `Allow` lists them. */
const METHOD_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY'];

function childFor(node: RouteNode, segment: TemplateSegment): RouteNode {
  if (segment.kind === 'literal') {
    node.literals ??= new Map();
    const folded = (node.foldedLiterals ??= new Map());
    const sibling = folded.get(segment.key.toLowerCase());
    if (sibling !== undefined && sibling !== segment.key) throw new Error(`its segment "${segment.key}" differs only in case from "${sibling}" in another path at the same place; an upstream that routes without regard to case could not tell them apart`);
    folded.set(segment.key.toLowerCase(), segment.key);
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
 * precedence OpenAPI gives concrete paths over templated ones. It matches case-sensitively,
 * as OpenAPI and most routers do, on exactly the path that is forwarded.
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
   * method on templates that match the same paths, or are on templates that differ only in
   * case (an upstream that routes without regard to case could not tell them apart), and
   * naming the template when it is invalid.
   */
  static build(operations: readonly Operation[]): RouteTable {
    const byShape = new Map<string, { segments: TemplateSegment[]; template: string; operations: Operation[] }>();
    const byFoldedShape = new Map<string, { shape: string; operation: Operation }>();
    for (const operation of operations) {
      let segments: TemplateSegment[];
      try {
        segments = parsePathTemplate(operation.template);
      } catch (error) {
        throw new Error(`${operation.source}: ${(error as Error).message}`, { cause: error });
      }
      const shape = shapeOf(segments);
      const foldedShape = foldedShapeOf(segments);
      const sameButCase = byFoldedShape.get(foldedShape);
      if (sameButCase === undefined) byFoldedShape.set(foldedShape, { shape, operation });
      else if (sameButCase.shape !== shape) {
        const other = sameButCase.operation;
        throw new Error(`${operation.source}: ${operation.method} ${operation.template} differs only in case from ${other.source} (${other.method} ${other.template}); an upstream that routes without regard to case could not tell them apart`);
      }
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
      try {
        for (const segment of segments) node = childFor(node, segment);
      } catch (error) {
        throw new Error(`${(shared[0] as Operation).source}: ${template}: ${(error as Error).message}`, { cause: error });
      }
      node.routes = pathRoutes(template, shared);
    }
    return new RouteTable(root, operations.length);
  }

  /**
   * The routes of a canonical path (no query), or null when none matches, or LETTER_CASE_DIFFERS.
   * Path parameter values, still percent-encoded, are pushed onto `captures` in the order of the
   * template (`parameterNamesOf` in path-template.ts).
   */
  match(path: string, captures: string[]): PathRoutes | null | typeof LETTER_CASE_DIFFERS {
    if (path.length === 1) return this.#root.routes;
    return matchFrom(this.#root, path, 0, captures);
  }
}

/**
 * Said of a path with a segment that differs only in letter case from a literal segment of the
 * API (`/items/Export` beside `/items/export`). Routers disagree on case: Fastify would run
 * `/items/{id}` for it, Express (by default), ASP.NET and IIS `/items/export`. Whichever the
 * gateway picked, one kind of upstream would run another operation than the one checked, so
 * such a path matches nothing: it is refused.
 */
export const LETTER_CASE_DIFFERS: unique symbol = Symbol('letter case differs');

function matchFrom(node: RouteNode, path: string, slash: number, captures: string[]): PathRoutes | null | typeof LETTER_CASE_DIFFERS {
  if (slash === path.length) return node.routes;
  const start = slash + 1;
  let end = path.indexOf('/', start);
  if (end === -1) end = path.length;
  const segment = path.slice(start, end);
  if (node.literals !== null) {
    const child = node.literals.get(segment);
    if (child !== undefined) {
      const found = matchFrom(child, path, end, captures);
      if (found !== null) return found;
    } else if ((node.foldedLiterals as Map<string, string>).has(segment.toLowerCase())) return LETTER_CASE_DIFFERS;
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
