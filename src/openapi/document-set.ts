import { readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseDocument } from 'yaml';
import { formatPointer, parsePointerFragment, valueAt } from './json-pointer.ts';

/** A problem in the OpenAPI document, with where it is: `orders.yaml#/paths/~1orders/post`. */
export class OpenApiError extends Error {
  override name = 'OpenApiError';
  readonly where: string;

  constructor(where: string, message: string) {
    super(`${where}: ${message}`);
    this.where = where;
  }
}

export interface LoadedDocument {
  /** `file:///…`: the base its relative `$ref`s resolve against, and its key in ajv. */
  readonly url: string;
  readonly path: string;
  readonly value: unknown;
}

/** A place in one of the documents. */
export interface Location {
  readonly document: LoadedDocument;
  readonly tokens: readonly string[];
  readonly value: unknown;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * The OpenAPI document and every file its `$ref`s reach, each loaded once (YAML or JSON).
 * Only local files are followed; a `$ref` to `http(s)://` is refused, so start-up never
 * depends on the network.
 */
export class DocumentSet {
  readonly #documents = new Map<string, LoadedDocument>();
  readonly #rootDirectory: string;
  readonly root: LoadedDocument;

  constructor(rootPath: string) {
    this.#rootDirectory = dirname(rootPath);
    this.root = this.#load(pathToFileURL(rootPath).href, null);
  }

  get documents(): LoadedDocument[] {
    return [...this.#documents.values()];
  }

  /** `orders.yaml#/paths/~1orders`, relative to the root document's folder. */
  describe(location: { document: LoadedDocument; tokens: readonly string[] }): string {
    return `${relative(this.#rootDirectory, location.document.path) || location.document.path}#${formatPointer(location.tokens)}`;
  }

  at(location: Location, ...tokens: string[]): Location {
    return { document: location.document, tokens: [...location.tokens, ...tokens], value: valueAt(location.value, tokens) };
  }

  rootLocation(): Location {
    return { document: this.root, tokens: [], value: this.root.value };
  }

  #load(url: string, referrer: Location | null): LoadedDocument {
    const existing = this.#documents.get(url);
    if (existing !== undefined) return existing;
    const path = fileURLToPath(url);
    const where = referrer === null ? path : this.describe(referrer);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new OpenApiError(where, `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
    let value: unknown;
    if (path.endsWith('.json')) {
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new OpenApiError(path, `not valid JSON: ${(error as Error).message}`);
      }
    } else {
      const parsed = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
      if (parsed.errors.length > 0) throw new OpenApiError(path, `not valid YAML: ${(parsed.errors[0] as Error).message.split('\n')[0]}`);
      value = parsed.toJS({ maxAliasCount: 1000 });
    }
    const document = { url, path, value };
    this.#documents.set(url, document);
    return document;
  }

  /**
   * Where a `$ref` at `from` points (loading its file when needed). Throws OpenApiError at
   * `from` when the file is remote or unreadable, or the pointer leads nowhere. `anchors`:
   * return null for a ref that is not a JSON Pointer (a JSON Schema anchor), instead of failing.
   */
  resolve(ref: string, from: Location, anchors = false): Location | null {
    const hash = ref.indexOf('#');
    const filePart = hash === -1 ? ref : ref.slice(0, hash);
    const fragment = hash === -1 ? '' : ref.slice(hash + 1);
    let document = from.document;
    if (filePart !== '') {
      if (SCHEME.test(filePart) && !filePart.toLowerCase().startsWith('file:')) {
        throw new OpenApiError(this.describe(from), `$ref ${JSON.stringify(ref)} points outside the local files; only local $refs are followed`);
      }
      const url = new URL(filePart, from.document.url);
      url.hash = '';
      document = this.#load(url.href, from);
    }
    const tokens = parsePointerFragment(fragment);
    if (tokens === null) {
      if (anchors) return null;
      throw new OpenApiError(this.describe(from), `$ref ${JSON.stringify(ref)} must be a JSON Pointer (#/…)`);
    }
    const value = valueAt(document.value, tokens);
    if (value === undefined) throw new OpenApiError(this.describe(from), `$ref ${JSON.stringify(ref)} points to nothing`);
    return { document, tokens, value };
  }

  /** Follows `$ref`s (a chain of Reference Objects) to the object itself; refuses cycles. */
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
