import type { ResolvedRefMap } from '@redocly/openapi-core';
import { formatPointer, parsePointer } from './json-pointer.ts';

/** A problem in the OpenAPI description, with where it is: `orders.yaml#/paths/~1orders/post`. */
export class OpenApiError extends Error {
  override name = 'OpenApiError';
  readonly where: string;

  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.where = where;
  }
}

export interface LoadedDocument {
  /** The loader's name for it: an absolute file path, or the remote URL that `openapi.refMap` maps to a local file. */
  readonly key: string;
  /** `file:///…` (or the remote URL): the base its relative `$ref`s resolve against, and its place in ajv. */
  readonly url: string;
  /** How messages name it: its path relative to the root document's folder. */
  readonly name: string;
  readonly value: unknown;
}

/** A place in one of the documents. */
export interface Location {
  readonly document: LoadedDocument;
  readonly tokens: readonly string[];
  readonly value: unknown;
}

function child(value: unknown, token: string): unknown {
  if (value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) return /^(0|[1-9][0-9]*)$/.test(token) ? value[Number(token)] : undefined;
  return Object.hasOwn(value, token) ? (value as Record<string, unknown>)[token] : undefined;
}

/** A `$ref` that names a JSON Pointer (`file.yaml`, `#/a/b`, `file.yaml#/a`), not a JSON Schema anchor (`#name`). */
function isPointerReference(ref: string): boolean {
  const hash = ref.indexOf('#');
  return hash === -1 || hash === ref.length - 1 || ref[hash + 1] === '/';
}

/**
 * The description and every file its `$ref`s reach, as description-loader.ts loaded them, with
 * where each `$ref` leads. Reading it is synchronous: the library resolved every reference
 * relative to the file that holds it while loading; this class only looks the answers up and
 * turns them into locations and messages that name the file and the JSON pointer.
 */
export class DocumentSet {
  readonly root: LoadedDocument;
  readonly #documents: ReadonlyMap<string, LoadedDocument>;
  readonly #references: ResolvedRefMap;

  constructor(root: LoadedDocument, documents: ReadonlyMap<string, LoadedDocument>, references: ResolvedRefMap) {
    this.root = root;
    this.#documents = documents;
    this.#references = references;
  }

  /** `orders.yaml#/paths/~1orders`, relative to the root document's folder. */
  describe(location: { document: LoadedDocument; tokens: readonly string[] }): string {
    return `${location.document.name}#${formatPointer(location.tokens)}`;
  }

  at(location: Location, ...tokens: string[]): Location {
    let value = location.value;
    for (const token of tokens) value = child(value, token);
    return { document: location.document, tokens: [...location.tokens, ...tokens], value };
  }

  rootLocation(): Location {
    return { document: this.root, tokens: [], value: this.root.value };
  }

  /**
   * Where the `$ref` at `from` leads: its target, or the first reference with siblings on the
   * way there (a 3.1 schema applies a `$ref`'s siblings, so such a hop is not a mere alias).
   * Throws OpenApiError at `from` when its file could not be read (or is remote and not
   * mapped) or the pointer leads nowhere. `anchors`: return null for a ref that is not a JSON
   * Pointer (a JSON Schema anchor, which ajv resolves), instead of failing.
   */
  resolve(ref: string, from: Location, anchors = false): Location | null {
    if (!isPointerReference(ref)) {
      if (anchors) return null;
      throw new OpenApiError(this.describe(from), `$ref ${JSON.stringify(ref)} must be a JSON Pointer (#/…)`);
    }
    // The loader keys what it resolved by the referring document and the `$ref` as written.
    const entry = this.#references.get(`${from.document.key}::${ref}`);
    if (entry === undefined) throw new OpenApiError(this.describe(from), `$ref ${JSON.stringify(ref)} was not followed when the description loaded`);
    if (!entry.resolved) throw new OpenApiError(this.describe(from), `$ref ${JSON.stringify(ref)}: ${entry.error?.message ?? 'cannot be read'}`);
    const hop = entry.chain?.[0];
    const [key, pointer, value] = hop === undefined ? [entry.document.source.absoluteRef, entry.nodePointer, entry.node as unknown] : [hop.document.source.absoluteRef, hop.location.pointer, hop.node];
    const document = this.#documents.get(key);
    if (value === undefined || document === undefined) throw new OpenApiError(this.describe(from), `$ref ${JSON.stringify(ref)} points to nothing`);
    return { document, tokens: parsePointer(pointer), value };
  }

  /** Follows `$ref`s (Reference Objects) to the object itself, ignoring their siblings. */
  dereference(location: Location): Location {
    let current = location;
    for (let hops = 0; hops < 32; hops++) {
      const value = current.value;
      if (value === null || typeof value !== 'object' || typeof (value as { $ref?: unknown }).$ref !== 'string') return current;
      current = this.resolve((value as { $ref: string }).$ref, this.at(current, '$ref')) as Location;
    }
    throw new OpenApiError(this.describe(location), '$ref chain too long (a cycle?)');
  }
}
