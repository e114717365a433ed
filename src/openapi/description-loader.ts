import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BaseResolver, bundle, createConfig, detectSpec, getTypes, normalizeTypes, resolveDocument, Source, type Document, type ResolvedRefMap } from '@redocly/openapi-core';
import { DocumentSet, OpenApiError, type LoadedDocument } from './document-set.ts';
import { RefMap } from './ref-map.ts';

/**
 * Loads an OpenAPI description and every file its `$ref`s reach, with @redocly/openapi-core:
 * the resolver Redocly's own bundler uses, which knows where OpenAPI allows references (a
 * `$ref` inside an example is data) and resolves each one against the file that holds it.
 *
 * What Portcullis adds: only local files are read. A reference to `http(s)://` is loaded from
 * the local copy that `openapi.refMap` names for it, or refused, so start-up never depends on
 * the network. JSON files are parsed as JSON; YAML without timestamps (dates stay strings, as
 * JSON Schema sees them). A Swagger 2.0 description is bundled into one document (Redocly's
 * bundler) and converted to OpenAPI 3.0 (swagger2openapi, loaded only then), then read like any
 * other.
 */

export interface LoadOptions {
  /** Remote URL prefixes and the local files or folders that stand for them. */
  readonly refMap: Readonly<Record<string, string>>;
}

export interface LoadedDescription {
  readonly set: DocumentSet;
  /** `2.0` when the description was Swagger 2.0, converted at load. */
  readonly convertedFrom: '2.0' | null;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:/i;

function isRemote(key: string): boolean {
  return SCHEME.test(key) && !key.toLowerCase().startsWith('file:');
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

/** Redocly's resolver, reading local files only, with the refMap's copies for remote URLs. */
class LocalFileResolver extends BaseResolver {
  readonly #refMap: RefMap;

  constructor(refMap: RefMap) {
    super({ http: { headers: [] } });
    this.#refMap = refMap;
  }

  override resolveExternalRef(base: string | null, ref: string): string {
    if (ref.toLowerCase().startsWith('file:')) return fileURLToPath(ref);
    return super.resolveExternalRef(base, ref);
  }

  /** The file that holds `key`: itself, or the refMap's copy of a remote URL. */
  #fileOf(key: string): string {
    if (!isRemote(key)) return key;
    const local = this.#refMap.localPath(key);
    if (local === null) throw new Error(`${key} is outside the local files; the gateway never fetches a description over the network: map the URL to a local copy with openapi.refMap`);
    return local;
  }

  override async loadExternalRef(absoluteRef: string): Promise<Source> {
    const file = this.#fileOf(absoluteRef);
    try {
      return new Source(absoluteRef, (await readFile(file, 'utf8')).replaceAll('\r\n', '\n'));
    } catch (error) {
      throw new Error(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
    }
  }

  override parseDocument(source: Source, isRoot = false): Document {
    if (/\.json$/i.test(this.#fileOf(source.absoluteRef))) {
      try {
        return { source, parsed: JSON.parse(source.body) as unknown };
      } catch (error) {
        throw new Error(`${source.absoluteRef}: not valid JSON: ${(error as Error).message}`, { cause: error });
      }
    }
    try {
      return super.parseDocument(source, isRoot);
    } catch (error) {
      throw new Error(`${source.absoluteRef}: not valid YAML: ${firstLine((error as Error).message)}`, { cause: error });
    }
  }
}

type Spec = 'oas2' | 'oas3_0' | 'oas3_1';

function specOf(value: unknown): Spec | null {
  try {
    const spec = detectSpec(value as object);
    return spec === 'oas2' || spec === 'oas3_0' || spec === 'oas3_1' ? spec : null;
  } catch {
    return null;
  }
}

async function references(document: Document, resolver: LocalFileResolver, spec: Spec | null, where: string): Promise<ResolvedRefMap> {
  if (spec === null) return new Map();
  try {
    const rootType = normalizeTypes(getTypes(spec)).Root;
    if (rootType === undefined) return new Map();
    return await resolveDocument({ rootDocument: document, externalRefResolver: resolver, rootType });
  } catch (error) {
    throw new OpenApiError(where, `cannot resolve its references: ${(error as Error).message}`);
  }
}

/** Every document the resolver read, by its key, named relative to the root's folder. */
async function loadedDocuments(resolver: LocalFileResolver, rootDirectory: string): Promise<Map<string, LoadedDocument>> {
  const documents = new Map<string, LoadedDocument>();
  for (const [key, pending] of resolver.cache) {
    const document = await pending.catch(() => null);
    if (document === null || document instanceof Error) continue;
    const remote = isRemote(key);
    documents.set(key, { key, url: remote ? key : pathToFileURL(key).href, name: remote ? key : relative(rootDirectory, key) || key, value: document.parsed });
  }
  return documents;
}

/** Swagger 2.0: every file bundled into one document, then converted to OpenAPI 3.0. */
async function convertSwagger2(root: Document, resolver: LocalFileResolver, name: string): Promise<Document> {
  const { bundle: bundled, problems } = await bundle({ doc: root, config: await createConfig({}), externalRefResolver: resolver });
  const problem = problems.find((found) => found.severity === 'error' && found.ruleId === 'bundler');
  if (problem !== undefined) throw new OpenApiError(name, `cannot bundle the Swagger 2.0 description: ${problem.message}`);
  let converted: unknown;
  try {
    const { default: converter } = await import('swagger2openapi');
    converted = (await converter.convertObj(bundled.parsed as object, { patch: true, warnOnly: true, resolve: false })).openapi;
  } catch (error) {
    throw new OpenApiError(name, `cannot convert the Swagger 2.0 description to OpenAPI 3.0: ${(error as Error).message}`);
  }
  return { source: new Source(root.source.absoluteRef, ''), parsed: converted };
}

/** Loads the description at `file` and what it references. Throws OpenApiError naming the file. */
export async function loadDescription(file: string, options: LoadOptions): Promise<LoadedDescription> {
  // Absolute, as the resolver keys documents.
  const path = resolve(file);
  const resolver = new LocalFileResolver(new RefMap(options.refMap));
  let root = await resolver.resolveDocument(null, path, true).catch((error: unknown) => error as Error);
  if (root instanceof Error) throw new OpenApiError(path, root.message.replace(`${path}: `, ''));
  const rootDirectory = dirname(path);
  const name = relative(rootDirectory, path) || path;
  let spec = specOf(root.parsed);
  let convertedFrom: '2.0' | null = null;
  if (spec === 'oas2') {
    root = await convertSwagger2(root, resolver, name);
    spec = 'oas3_0';
    convertedFrom = '2.0';
  }
  const map = await references(root, resolver, spec, name);
  const documents = await loadedDocuments(resolver, rootDirectory);
  const rootDocument: LoadedDocument = { key: path, url: pathToFileURL(path).href, name: convertedFrom === null ? name : `${name} (converted to OpenAPI 3.0)`, value: root.parsed };
  documents.set(path, rootDocument);
  return { set: new DocumentSet(rootDocument, documents, map), convertedFrom };
}
