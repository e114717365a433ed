import { Ajv, type Options, type ValidateFunction } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import type { Operation } from '../routes/operation.ts';
import type { BodyMediaType, OperationValidation, ParameterSpec, ValueType } from '../routes/operation-validation.ts';
import { isJsonMediaType } from '../http/media-type.ts';
import { DocumentSet, OpenApiError, type Location } from './document-set.ts';
import { pointerFragment } from './json-pointer.ts';
import { OperationReader, type OperationDescription, type ParameterDescription } from './operation-descriptions.ts';
import { SchemaPreparation, type OpenApiVersion } from './schema-preparation.ts';

/**
 * Compiles an OpenAPI document into operations with their validators, once, at start.
 *
 * Every file of the document is registered with ajv under its `file://` URL, and every
 * validator refers to its schema by `$ref` to its place in the document, so relative `$ref`s
 * inside schemas resolve as the document means them and a component shared by many operations
 * is compiled once. 3.0 documents are checked with JSON Schema draft-07 (after
 * schema-preparation.ts has rewritten 3.0's differences), 3.1 documents with draft 2020-12.
 */

export interface OpenApiOptions {
  /** Prefix that requests carry in front of the document's paths. */
  basePath: string;
  refuseUnknownQuery: boolean;
}

export interface CompiledOpenApi {
  version: OpenApiVersion;
  operations: Operation[];
  /** Parameters whose values are not checked (unsupported serialisations), for a start-up warning. */
  unchecked: string[];
}

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

function createAjv(version: OpenApiVersion): Ajv {
  // strict: false, because OpenAPI schemas carry keywords JSON Schema does not know (example,
  // xml, discriminator, x-…); unknown formats are ignored, as OpenAPI allows any format name.
  const options: Options = { strict: false, allErrors: false, logger: false, code: { optimize: false } };
  const ajv = version === '3.1' ? (new Ajv2020(options) as unknown as Ajv) : new Ajv(options);
  addFormats(ajv);
  ajv.addFormat('int32', { type: 'number', validate: (value: number) => Number.isInteger(value) && value >= -2147483648 && value <= 2147483647 });
  ajv.addFormat('int64', { type: 'number', validate: (value: number) => Number.isInteger(value) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  ajv.addFormat('binary', true);
  ajv.addFormat('password', true);
  return ajv;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const CONTEXT_KEYWORDS = new Set(['$ref', '$id', '$dynamicRef', '$recursiveRef', '$anchor', '$dynamicAnchor', '$schema']);

/** Whether a schema means the same wherever it is placed: no keyword inside depends on its location. */
function isSelfContained(value: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (Array.isArray(value)) return value.every((item) => isSelfContained(item, depth + 1));
  if (!isObject(value)) return true;
  for (const [key, child] of Object.entries(value)) {
    if (CONTEXT_KEYWORDS.has(key)) return false;
    if (!isSelfContained(child, depth + 1)) return false;
  }
  return true;
}

class OpenApiCompiler {
  readonly #set: DocumentSet;
  readonly #options: OpenApiOptions;
  #ajv: Ajv | null = null;
  readonly #compiled = new Map<string, ValidateFunction>();
  readonly unchecked: string[] = [];

  constructor(path: string, options: OpenApiOptions) {
    this.#set = new DocumentSet(path);
    this.#options = options;
  }

  compile(): CompiledOpenApi {
    const reader = new OperationReader(this.#set);
    const version = reader.version();
    const descriptions = reader.operations();

    const preparation = new SchemaPreparation(this.#set, version);
    const roots: Location[] = [];
    for (const description of descriptions) {
      for (const parameter of description.parameters) if (parameter.schema !== null) roots.push(parameter.schema);
      for (const media of description.body?.content ?? []) if (media.schema !== null && isJsonMediaType(media.mediaType)) roots.push(media.schema);
    }
    for (const root of roots) preparation.prepare(root);

    const ajv = (this.#ajv = createAjv(version));
    for (const document of this.#set.documents) {
      if (isObject(document.value)) ajv.addSchema(document.value, document.url, undefined, false);
    }
    const checked = new WeakSet<object>();
    for (const location of [...roots, ...preparation.referenced]) {
      if (!isObject(location.value) || checked.has(location.value)) continue;
      checked.add(location.value);
      if (!ajv.validateSchema(location.value)) {
        const error = ajv.errors?.[0];
        throw new OpenApiError(`${this.#set.describe(location)}${error?.instancePath ?? ''}`, `invalid schema: ${error?.message ?? 'does not match the JSON Schema meta-schema'}`);
      }
    }
    const operations = descriptions.map((description) => this.#operation(description));
    return { version, operations, unchecked: this.unchecked };
  }

  #compileAt(description: OperationDescription, schema: object): ValidateFunction {
    try {
      return (this.#ajv as Ajv).compile(schema);
    } catch (error) {
      throw new OpenApiError(this.#set.describe(description.where), `cannot compile its schemas: ${(error as Error).message}`);
    }
  }

  /**
   * A schema as the validator embeds it: the schema itself when it is self-contained (no
   * reference or id inside, so it means the same anywhere), which lets identical parameter
   * sets share one compiled validator; otherwise a `$ref` to its place in its file.
   */
  #schemaAt(location: Location): object {
    if (isSelfContained(location.value)) return location.value as object;
    return { $ref: location.document.url + pointerFragment(location.tokens) };
  }

  /** Compiles `schema` once per distinct schema, however many operations use it. */
  #compileShared(description: OperationDescription, schema: object): ValidateFunction {
    const key = JSON.stringify(schema);
    let validate = this.#compiled.get(key);
    if (validate === undefined) this.#compiled.set(key, (validate = this.#compileAt(description, schema)));
    return validate;
  }

  #schemaValidator(description: OperationDescription, location: Location): ValidateFunction {
    return this.#compileShared(description, this.#schemaAt(location));
  }

  /** The schema's top-level type, following `$ref`s; `items` for arrays. */
  #typeOf(location: Location | null): { type: string | null; items: Location | null } {
    if (location === null) return { type: null, items: null };
    const target = this.#set.dereference(location);
    const schema = target.value;
    if (!isObject(schema)) return { type: null, items: null };
    let type = schema.type;
    if (Array.isArray(type)) type = type.find((candidate) => candidate !== 'null');
    return { type: typeof type === 'string' ? type : null, items: schema.items === undefined ? null : this.#set.at(target, 'items') };
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

  #operation(description: OperationDescription): Operation {
    const pathNames = [...description.template.matchAll(/\{([^{}/]+)\}/g)].map((match) => match[1] as string);
    const specs: Record<'path' | 'query' | 'header', ParameterSpec[]> = { path: [], query: [], header: [] };
    const properties: Record<string, { type: 'object'; properties: Record<string, object>; required: string[] }> = {};
    for (const parameter of description.parameters) {
      // Cookies are not validated; `Accept`, `Content-Type` and `Authorization` header parameters are ignored, as OpenAPI says.
      if (parameter.in === 'cookie') continue;
      if (parameter.in === 'header' && ['accept', 'content-type', 'authorization'].includes(parameter.name.toLowerCase())) continue;
      const spec = this.#parameterSpec(parameter, pathNames.indexOf(parameter.name));
      specs[parameter.in].push(spec);
      const part = parameter.in === 'header' ? 'headers' : parameter.in;
      const group = (properties[part] ??= { type: 'object', properties: {}, required: [] });
      group.properties[spec.name] = spec.valueType === 'unchecked' || parameter.schema === null ? {} : this.#schemaAt(parameter.schema);
      if (spec.required) group.required.push(spec.name);
    }
    const parts = Object.keys(properties);
    const validateParameters = parts.length === 0 ? null : this.#compileShared(description, { type: 'object', required: parts, properties });

    let body: OperationValidation['body'] = null;
    if (description.body !== null) {
      const mediaTypes: BodyMediaType[] = description.body.content.map(({ mediaType, schema }) => {
        const json = isJsonMediaType(mediaType);
        return { mediaType, json, validate: json && schema !== null ? this.#schemaValidator(description, schema) : null };
      });
      const names = mediaTypes.map((media) => media.mediaType);
      body = { required: description.body.required, mediaTypes, names, accepted: names.join(', ') || 'no media type' };
    }
    const validation: OperationValidation = {
      path: specs.path,
      query: specs.query,
      headers: specs.header,
      refuseUnknownQuery: this.#options.refuseUnknownQuery,
      body,
      validateParameters,
    };
    return {
      method: description.method,
      // With a base path, the document's `/` is the base path itself (`/v1`, not `/v1/`).
      template: this.#options.basePath !== '' && description.template === '/' ? this.#options.basePath : this.#options.basePath + description.template,
      source: this.#set.describe(description.where),
      scopes: description.scopes,
      maxBodySize: description.maxBodySize,
      rate: description.rate,
      validation,
    };
  }
}

/** Loads and compiles the document at `path`. Throws OpenApiError naming the location of the first problem. */
export function compileOpenApi(path: string, options: OpenApiOptions): CompiledOpenApi {
  return new OpenApiCompiler(path, options).compile();
}
