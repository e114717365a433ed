import type { Ajv, AnySchema, ValidateFunction } from 'ajv';
import type { Operation } from '../routes/operation.ts';
import type { BodyMediaType, OperationValidation, ParameterSpec } from '../routes/operation-validation.ts';
import type { DescriptionAnswer } from './description-process.ts';
import { OpenApiError } from './document-set.ts';
import { createOpenApiAjv, type OpenApiVersion } from './openapi-ajv.ts';
import type { PrepareOptions, PreparedDescription, PreparedOperation, PreparedParameter } from './prepared-description.ts';
import { runChildSynchronously } from './synchronous-child.ts';
import { ValidatorOnFirstUse } from './validator-on-first-use.ts';
import { patternMode } from './ecma-pattern.ts';
import { ANY_SHAPE, type OperationResponses, type PreparedResponseShape, type ResponseShape } from '../routes/operation-responses.ts';

/**
 * Compiles an OpenAPI description into operations with their validators, at start.
 *
 * A child process loads and prepares the description (prepared-description.ts): the whole
 * description is held only there, and given back to the system when it exits; what comes back
 * is the operations and their request schemas. Here every schema is registered with ajv once, under its address, and validators
 * reach shared components by `$ref`, so a component compiles once however many operations use
 * it. An operation's validators compile at the first request that needs them (each is a
 * ValidatorOnFirstUse), so start-up time and memory follow the description's size, not the
 * number of operations times their schemas; everything that can make a schema fail to compile
 * (dangling references, invalid schemas and patterns) is checked at load.
 */

export interface OpenApiOptions extends PrepareOptions {
  /** Prefix that requests carry in front of the description's paths. */
  basePath: string;
  refuseUnknownQuery: boolean;
}

export interface CompiledOpenApi {
  version: OpenApiVersion;
  /** `2.0` when the description was Swagger 2.0, converted to OpenAPI 3.0 at load. */
  convertedFrom: '2.0' | null;
  operations: Operation[];
  /** Parameters whose values are not checked (unsupported serialisations), for a start-up warning. */
  unchecked: string[];
  /** Patterns compiled without the Unicode flag, formats and keywords ignored: one line each, for the start-up log. */
  warnings: string[];
}

/** Generous: the largest descriptions load in seconds. */
const LOAD_TIMEOUT_MS = 5 * 60_000;
const PREPARER = new URL('./description-process.ts', import.meta.url);

/** The parameters' validator's schema: `{path, query, headers}`, each parameter's schema by reference. */
function parametersSchema(parameters: readonly PreparedParameter[]): object {
  const groups: Record<string, { type: 'object'; properties: Record<string, object>; required: string[] }> = {};
  for (const { in: place, spec, schema } of parameters) {
    const group = (groups[place === 'header' ? 'headers' : place] ??= { type: 'object', properties: {}, required: [] });
    group.properties[spec.name] = schema === null ? {} : { $ref: schema };
    if (spec.required) group.required.push(spec.name);
  }
  return { type: 'object', required: Object.keys(groups), properties: groups };
}

class OperationCompiler {
  readonly #ajv: Ajv;
  readonly #options: OpenApiOptions;
  /** Every validator made, for `compileAtStart`. */
  readonly validators: ValidatorOnFirstUse[] = [];

  constructor(ajv: Ajv, options: OpenApiOptions) {
    this.#ajv = ajv;
    this.#options = options;
  }

  #onFirstUse(source: string, compile: () => ValidateFunction | undefined): ValidateFunction {
    const validator = new ValidatorOnFirstUse(() => {
      try {
        const validate = compile();
        if (validate === undefined) throw new Error('schema not registered');
        return validate;
      } catch (error) {
        throw new OpenApiError(source, `cannot compile its schemas: ${(error as Error).message}`);
      }
    });
    this.validators.push(validator);
    return validator.validate;
  }

  operation(prepared: PreparedOperation, shapes: readonly ResponseShape[] | null): Operation {
    const specs: Record<'path' | 'query' | 'header', ParameterSpec[]> = { path: [], query: [], header: [] };
    for (const parameter of prepared.parameters) specs[parameter.in].push(parameter.spec);
    const validateParameters = prepared.parameters.length === 0 ? null : this.#onFirstUse(prepared.source, () => this.#ajv.compile(parametersSchema(prepared.parameters)));
    let body: OperationValidation['body'] = null;
    if (prepared.body !== null) {
      const mediaTypes: BodyMediaType[] = prepared.body.mediaTypes.map(({ mediaType, json, schema }) => ({
        mediaType,
        json,
        validate: schema === null ? null : this.#onFirstUse(prepared.source, () => this.#ajv.getSchema(schema)),
      }));
      const names = mediaTypes.map((media) => media.mediaType);
      body = { required: prepared.body.required, mediaTypes, names, accepted: names.join(', ') || 'no media type' };
    }
    const { basePath, refuseUnknownQuery } = this.#options;
    return {
      method: prepared.method,
      // With a base path, the description's `/` is the base path itself (`/v1`, not `/v1/`).
      template: basePath !== '' && prepared.template === '/' ? basePath : basePath + prepared.template,
      source: prepared.source,
      scopes: prepared.scopes,
      maxBodySize: prepared.maxBodySize,
      rate: prepared.rate,
      ...(prepared.reportOnly.length === 0 ? {} : { reportOnly: new Set(prepared.reportOnly) }),
      validation: { path: specs.path, query: specs.query, headers: specs.header, refuseUnknownQuery, body, validateParameters },
      ...(shapes === null || prepared.responses == null ? {} : { responses: responsesOf(prepared.responses, shapes) }),
    };
  }
}

/** An operation's documented responses, their shapes linked. */
function responsesOf(statuses: ReadonlyArray<readonly [string, number | null]>, shapes: readonly ResponseShape[]): OperationResponses {
  return { byStatus: new Map(statuses.map(([status, shape]) => [status, shape === null ? null : (shapes[shape] as ResponseShape)])) };
}

/** A pattern of `patternProperties` as JSON Schema reads it (the Unicode flag where valid); one neither grammar accepts matches nothing. */
function memberPattern(pattern: string): RegExp {
  const mode = patternMode(pattern);
  return mode === null ? /(?!)/ : new RegExp(pattern, mode === 'unicode' ? 'u' : '');
}

/** The response shapes as a graph of objects (index 0 is ANY_SHAPE), so walking one follows references, not indexes. */
function linkResponseShapes(prepared: readonly PreparedResponseShape[]): ResponseShape[] {
  type Mutable = { -readonly [K in keyof ResponseShape]: ResponseShape[K] };
  const shapes: Mutable[] = prepared.map((shape, index) => (index === 0 ? (ANY_SHAPE as Mutable) : { types: shape.types, properties: new Map(), patterns: [], additional: 'open', items: null }));
  prepared.forEach((shape, index) => {
    if (index === 0) return;
    const linked = shapes[index] as Mutable;
    const at = (position: number): ResponseShape => shapes[position] as ResponseShape;
    linked.properties = new Map(shape.properties.map(([name, position]) => [name, at(position)]));
    linked.patterns = shape.patterns.map(([pattern, position]) => ({ pattern: memberPattern(pattern), shape: at(position) }));
    linked.additional = typeof shape.additional === 'number' ? at(shape.additional) : shape.additional;
    linked.items = shape.items === null ? null : at(shape.items);
  });
  return shapes;
}

/** Operations with their validators from a prepared description. Throws OpenApiError. */
export function compilePrepared(prepared: PreparedDescription, options: OpenApiOptions): CompiledOpenApi {
  const ajv = createOpenApiAjv(prepared.version);
  for (const [address, schema] of prepared.schemas) {
    try {
      ajv.addSchema(schema as AnySchema, address, undefined, false);
    } catch (error) {
      throw new OpenApiError(address, `cannot register the schema: ${(error as Error).message}`);
    }
  }
  const compiler = new OperationCompiler(ajv, options);
  const shapes = prepared.responseShapes === undefined ? null : linkResponseShapes(prepared.responseShapes);
  const operations = prepared.operations.map((operation) => compiler.operation(operation, shapes));
  // `$id`, anchors and dynamic references are resolved by ajv alone: compile now, so a dangling one stops the start.
  if (prepared.compileAtStart) for (const validator of compiler.validators) validator.compiled();
  return { version: prepared.version, convertedFrom: prepared.convertedFrom, operations, unchecked: [...prepared.unchecked], warnings: [...prepared.warnings] };
}

/** Loads and compiles the description at `path`. Throws OpenApiError naming the location of the first problem. */
export function compileOpenApi(path: string, options: OpenApiOptions): CompiledOpenApi {
  const answer = runChildSynchronously(PREPARER, { path, options: { refMap: options.refMap, strict: options.strict, responses: options.responses === true } }, LOAD_TIMEOUT_MS) as DescriptionAnswer;
  if ('failure' in answer) {
    if (answer.failure.where !== null) throw new OpenApiError(answer.failure.where, answer.failure.message);
    throw new Error(answer.failure.message);
  }
  return compilePrepared(answer.prepared, options);
}
