import type { CompiledRate } from '../limits/rate-policy.ts';
import { isJsonMediaType } from '../http/media-type.ts';
import type { ParameterSpec, ValueType } from '../routes/operation-validation.ts';
import type { ScopeRequirement } from '../routes/scopes.ts';
import { loadDescription, type LoadOptions } from './description-loader.ts';
import { OpenApiError, type DocumentSet, type Location } from './document-set.ts';
import { pointerFragment } from './json-pointer.ts';
import { createOpenApiAjv, type OpenApiVersion } from './openapi-ajv.ts';
import { OperationReader, type OperationDescription, type ParameterDescription } from './operation-descriptions.ts';
import { SchemaFindings } from './schema-findings.ts';
import { SchemaPreparation } from './schema-preparation.ts';
import { ResponseShapeCompiler } from './response-shapes.ts';
import type { PreparedResponseShape } from '../routes/operation-responses.ts';

/**
 * The first half of compiling a description, done where the whole description can be held
 * and dropped again (description-worker.ts): load it, read its operations, prepare and check
 * its request schemas. What comes out is plain data, small beside the description: the
 * operations, and every request schema (annotations dropped) under the address that
 * validators use to reach it. compile-openapi.ts makes validators of it.
 */

export interface PrepareOptions extends LoadOptions {
  /** Refuse formats and keywords the gateway cannot check, instead of ignoring them. */
  readonly strict: boolean;
  /** Also read what each operation's responses document (response checks, response-shapes.ts). */
  readonly responses?: boolean;
}

export interface PreparedParameter {
  readonly in: 'path' | 'query' | 'header';
  readonly spec: ParameterSpec;
  /** Address of its schema among `schemas`; null when its value is not checked. */
  readonly schema: string | null;
}

interface PreparedMediaType {
  readonly mediaType: string;
  readonly json: boolean;
  /** Address of its schema among `schemas` (JSON media types only); null when none. */
  readonly schema: string | null;
}

export interface PreparedOperation {
  readonly method: string;
  /** The key in `paths`, without the base path. */
  readonly template: string;
  readonly source: string;
  readonly scopes: ScopeRequirement | null;
  readonly maxBodySize: number | null;
  readonly rate: CompiledRate | null;
  /** `x-portcullis-report-only`: the policies that only report on this operation. */
  readonly reportOnly: readonly string[];
  readonly parameters: readonly PreparedParameter[];
  readonly body: { readonly required: boolean; readonly mediaTypes: readonly PreparedMediaType[] } | null;
  /** With `responses`: its documented status keys, each with its JSON body's shape (an index in `responseShapes`) or null; null when not read or none. */
  readonly responses?: ReadonlyArray<readonly [string, number | null]> | null;
}

export interface PreparedDescription {
  readonly version: OpenApiVersion;
  readonly convertedFrom: '2.0' | null;
  readonly operations: readonly PreparedOperation[];
  /** Every schema a validator reaches, by address (`file:///…#/pointer`), for ajv's `addSchema`. */
  readonly schemas: ReadonlyArray<readonly [string, unknown]>;
  /** Some schema uses `$id`, anchors or dynamic references, which ajv resolves: compile at start to find dangling ones. */
  readonly compileAtStart: boolean;
  /** Parameters whose values are not checked (unsupported serialisations), for a start-up warning. */
  readonly unchecked: readonly string[];
  /** Patterns, formats and keywords checked differently or not at all (schema-findings.ts). */
  readonly warnings: readonly string[];
  /** With `responses`: the shapes operations' responses refer to by index (0: anything). */
  readonly responseShapes?: readonly PreparedResponseShape[];
}

class DescriptionPreparer {
  readonly #set: DocumentSet;
  readonly #addressOf: (location: Location) => string;
  readonly #roots = new Map<string, Location>();
  readonly unchecked: string[] = [];

  constructor(set: DocumentSet, normalise: (uri: string) => string) {
    this.#set = set;
    // The document's URL as ajv normalises it, once per document; the fragment (percent-encoded
    // by encodeURIComponent) is already in the form ajv keeps.
    const documentAddresses = new Map<string, string>();
    this.#addressOf = (location) => {
      let address = documentAddresses.get(location.document.url);
      if (address === undefined) documentAddresses.set(location.document.url, (address = normalise(location.document.url)));
      return address + pointerFragment(location.tokens);
    };
  }

  get addressOf(): (location: Location) => string {
    return this.#addressOf;
  }

  /** The schemas validators start from, by address. */
  get roots(): ReadonlyMap<string, Location> {
    return this.#roots;
  }

  /** A schema a validator starts from: registered under its own address. */
  #root(location: Location): string {
    const address = this.#addressOf(location);
    this.#roots.set(address, location);
    return address;
  }

  /** The schema's top-level type, following `$ref`s; `items` for arrays. */
  #typeOf(location: Location | null): { type: string | null; items: Location | null } {
    if (location === null) return { type: null, items: null };
    const target = this.#set.dereference(location);
    const schema = target.value;
    if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return { type: null, items: null };
    let type = (schema as Record<string, unknown>).type;
    if (Array.isArray(type)) type = type.find((candidate) => candidate !== 'null');
    return { type: typeof type === 'string' ? type : null, items: (schema as Record<string, unknown>).items === undefined ? null : this.#set.at(target, 'items') };
  }

  #valueType(parameter: ParameterDescription, type: string | null): ValueType {
    if (parameter.json) return 'json';
    if (type === 'integer' || type === 'number' || type === 'boolean') return type;
    if (type === 'object') return 'unchecked';
    return 'string';
  }

  #parameterSpec(parameter: ParameterDescription, captureIndex: number): ParameterSpec {
    const { type, items } = this.#typeOf(parameter.json ? null : parameter.schema);
    const array = type === 'array';
    let delimiter: string | null = null;
    if (array) {
      if (parameter.style === 'spaceDelimited') delimiter = ' ';
      else if (parameter.style === 'pipeDelimited') delimiter = '|';
      else if (parameter.in !== 'query' || !parameter.explode) delimiter = ',';
    }
    const valueType = array ? this.#valueType(parameter, this.#typeOf(items).type) : this.#valueType(parameter, type);
    const supportedStyle = parameter.in === 'query' ? ['form', 'spaceDelimited', 'pipeDelimited'].includes(parameter.style) : parameter.style === 'simple';
    const checked = valueType !== 'unchecked' && supportedStyle;
    if (!checked) this.unchecked.push(`${this.#set.describe(parameter.where)} (${parameter.in} parameter ${JSON.stringify(parameter.name)}, style ${parameter.style}${type === 'object' ? ', an object' : ''})`);
    return {
      name: parameter.name,
      key: parameter.in === 'header' ? parameter.name.toLowerCase() : parameter.name,
      required: parameter.required,
      array,
      delimiter,
      valueType: checked ? valueType : 'unchecked',
      captureIndex,
    };
  }

  operation(description: OperationDescription): PreparedOperation {
    const pathNames = [...description.template.matchAll(/\{([^{}/]+)\}/g)].map((match) => match[1] as string);
    const parameters: PreparedParameter[] = [];
    for (const parameter of description.parameters) {
      // Cookies are not validated; `Accept`, `Content-Type` and `Authorization` header parameters are ignored, as OpenAPI says.
      if (parameter.in === 'cookie') continue;
      if (parameter.in === 'header' && ['accept', 'content-type', 'authorization'].includes(parameter.name.toLowerCase())) continue;
      const spec = this.#parameterSpec(parameter, pathNames.indexOf(parameter.name));
      parameters.push({ in: parameter.in, spec, schema: spec.valueType === 'unchecked' || parameter.schema === null ? null : this.#root(parameter.schema) });
    }
    const body = description.body === null ? null : {
      required: description.body.required,
      mediaTypes: description.body.content.map(({ mediaType, schema }) => {
        const json = isJsonMediaType(mediaType);
        return { mediaType, json, schema: json && schema !== null ? this.#root(schema) : null };
      }),
    };
    const { method, template, scopes, maxBodySize, rate, reportOnly } = description;
    return { method, template, source: this.#set.describe(description.where), scopes, maxBodySize, rate, reportOnly, parameters, body };
  }
}

/** Loads, reads, prepares and checks the description at `path`. Throws OpenApiError naming the location of the first problem. */
export async function prepareDescription(path: string, options: PrepareOptions): Promise<PreparedDescription> {
  const { set, convertedFrom } = await loadDescription(path, options);
  const reader = new OperationReader(set);
  const version = reader.version();
  const ajv = createOpenApiAjv(version);
  const preparer = new DescriptionPreparer(set, (uri) => ajv.opts.uriResolver.resolve('', uri));
  const descriptions = reader.operations();
  // Response shapes and parameter types are read before preparation points `$ref`s at addresses.
  const shapes = options.responses === true ? new ResponseShapeCompiler(set, version) : null;
  const operations = descriptions.map((description) => {
    const prepared = preparer.operation(description);
    return shapes === null ? prepared : { ...prepared, responses: shapes.responses(description.where) };
  });
  const findings = new SchemaFindings(ajv, options.strict);
  const preparation = new SchemaPreparation(set, version, findings, preparer.addressOf);
  for (const root of preparer.roots.values()) preparation.prepare(root);
  const schemas = new Map<string, unknown>();
  for (const [address, location] of [...preparer.roots, ...preparation.shared]) {
    if (schemas.has(address)) continue;
    schemas.set(address, location.value);
    if (!ajv.validateSchema(location.value as object)) {
      const error = ajv.errors?.[0];
      throw new OpenApiError(`${set.describe(location)}${error?.instancePath ?? ''}`, `invalid schema: ${error?.message ?? 'does not match the JSON Schema meta-schema'}`);
    }
  }
  return { version, convertedFrom, operations, schemas: [...schemas], compileAtStart: preparation.scoped, unchecked: preparer.unchecked, warnings: findings.warnings(), ...(shapes === null ? {} : { responseShapes: shapes.shapes }) };
}
