import { compileRateText, type CompiledRate } from '../limits/rate-policy.ts';
import { parseByteSize } from '../http/units.ts';
import { ROUTE_REPORTABLE_POLICIES } from '../routes/operation.ts';
import { isValidRequiredScope, type ScopeRequirement } from '../routes/scopes.ts';
import { OpenApiError, type DocumentSet, type Location } from './document-set.ts';
import type { OpenApiVersion } from './openapi-ajv.ts';

/**
 * Reads the operations out of an OpenAPI document (3.0 or 3.1): methods, path templates,
 * parameters (path-level merged with operation-level), request bodies, required scopes and
 * Portcullis's extensions. Every structural problem is an OpenApiError naming its location.
 */

type ParameterLocation = 'path' | 'query' | 'header' | 'cookie';

export interface ParameterDescription {
  readonly name: string;
  readonly in: ParameterLocation;
  readonly required: boolean;
  readonly style: string;
  readonly explode: boolean;
  /** Its schema (from `schema`, or from the one media type of `content`), or null. */
  readonly schema: Location | null;
  /** The value is JSON (`content: {application/json: …}`). */
  readonly json: boolean;
  readonly where: Location;
}

interface MediaTypeDescription {
  /** The declared media type, lower case, without parameters. */
  readonly mediaType: string;
  readonly schema: Location | null;
}

export interface OperationDescription {
  readonly method: string;
  /** The key in `paths`. */
  readonly template: string;
  readonly where: Location;
  readonly parameters: readonly ParameterDescription[];
  readonly body: { readonly required: boolean; readonly content: readonly MediaTypeDescription[] } | null;
  readonly scopes: ScopeRequirement | null;
  readonly maxBodySize: number | null;
  /** `x-portcullis-rate`: a rate limit per key on this operation. */
  readonly rate: CompiledRate | null;
  /** `x-portcullis-report-only`: the policies that only report on this operation. */
  readonly reportOnly: readonly string[];
}

/** Methods OpenAPI can declare that the gateway forwards (TRACE never is). */
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;
const LOCATIONS = new Set<string>(['path', 'query', 'header', 'cookie']);
const DEFAULT_STYLE: Record<ParameterLocation, string> = { path: 'simple', query: 'form', header: 'simple', cookie: 'form' };
const TEMPLATE_PARAMETER = /\{([^{}/]+)\}/g;
const DIALECTS = new Set(['https://spec.openapis.org/oas/3.1/dialect/base', 'https://json-schema.org/draft/2020-12/schema']);

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export class OperationReader {
  readonly #set: DocumentSet;

  constructor(set: DocumentSet) {
    this.#set = set;
  }

  #fail(location: Location, message: string): never {
    throw new OpenApiError(this.#set.describe(location), message);
  }

  #object(location: Location, what: string): Record<string, unknown> {
    if (!isObject(location.value)) this.#fail(location, `expected ${what} (an object)`);
    return location.value;
  }

  version(): OpenApiVersion {
    const root = this.#set.rootLocation();
    const document = this.#object(root, 'an OpenAPI document');
    const version = document.openapi;
    if (typeof version !== 'string') {
      if (document.swagger !== undefined) this.#fail(this.#set.at(root, 'swagger'), `expected Swagger 2.0 (converted at load) or OpenAPI 3.0.x or 3.1.x, found ${JSON.stringify(document.swagger).slice(0, 40)}`);
      this.#fail(this.#set.at(root, 'openapi'), 'expected the OpenAPI version, such as "3.1.0"');
    }
    if (/^3\.0\.\d+$/.test(version)) return '3.0';
    if (/^3\.1\.\d+$/.test(version)) {
      const dialect = document.jsonSchemaDialect;
      if (dialect !== undefined && !DIALECTS.has(dialect as string)) this.#fail(this.#set.at(root, 'jsonSchemaDialect'), 'only the OpenAPI 3.1 base dialect (JSON Schema 2020-12) is supported');
      return '3.1';
    }
    return this.#fail(this.#set.at(root, 'openapi'), `expected OpenAPI 3.0.x or 3.1.x, found ${JSON.stringify(version).slice(0, 40)}`);
  }

  operations(): OperationDescription[] {
    const root = this.#set.rootLocation();
    const document = root.value as Record<string, unknown>;
    const rootScopes = this.#scopes(this.#set.at(root, 'security'));
    const pathsLocation = this.#set.at(root, 'paths');
    if (document.paths === undefined) return [];
    const paths = this.#object(pathsLocation, 'the paths');
    const result: OperationDescription[] = [];
    for (const template of Object.keys(paths)) {
      if (template.startsWith('x-')) continue;
      const itemLocation = this.#set.dereference(this.#set.at(pathsLocation, template));
      const item = this.#object(itemLocation, 'a path item');
      if (!template.startsWith('/')) this.#fail(itemLocation, 'a path must start with "/"');
      const shared = this.#parameterList(this.#set.at(itemLocation, 'parameters'));
      for (const method of METHODS) {
        if (item[method] === undefined) continue;
        // OpenAPI has no Reference Object for operations, but descriptions split over files use one.
        const where = this.#set.dereference(this.#set.at(itemLocation, method));
        result.push(this.#operation(method.toUpperCase(), template, where, shared, rootScopes));
      }
    }
    return result;
  }

  #operation(method: string, template: string, where: Location, shared: ParameterDescription[], rootScopes: ScopeRequirement | null | undefined): OperationDescription {
    const operation = this.#object(where, 'an operation');
    const own = this.#parameterList(this.#set.at(where, 'parameters'));
    const byKey = new Map<string, ParameterDescription>();
    for (const parameter of [...shared, ...own]) byKey.set(`${parameter.in}:${parameter.in === 'header' ? parameter.name.toLowerCase() : parameter.name}`, parameter);
    const parameters = [...byKey.values()];
    this.#checkPathParameters(template, where, parameters);

    let scopes = this.#scopes(this.#set.at(where, 'security'));
    if (scopes === undefined) scopes = rootScopes ?? null;
    const extension = this.#set.at(where, 'x-portcullis-scopes');
    if (extension.value !== undefined) {
      if (!Array.isArray(extension.value) || !extension.value.every((scope) => typeof scope === 'string' && isValidRequiredScope(scope))) {
        this.#fail(extension, 'expected a list of scopes such as [orders:read] (no spaces, quotes, backslashes or *)');
      }
      scopes = extension.value.length === 0 ? null : [[...new Set(extension.value as string[])]];
    }
    let maxBodySize: number | null = null;
    const limit = this.#set.at(where, 'x-portcullis-max-body-size');
    if (limit.value !== undefined) {
      maxBodySize = parseByteSize(limit.value);
      if (maxBodySize === null) this.#fail(limit, 'expected a size such as 512kb or 10mb, or a number of bytes');
    }
    let rate: CompiledRate | null = null;
    const rateExtension = this.#set.at(where, 'x-portcullis-rate');
    if (rateExtension.value !== undefined) {
      rate = compileRateText(rateExtension.value);
      if (rate === null) this.#fail(rateExtension, 'expected a rate such as 100/s, 6000/m or 100/s burst 200');
    }
    const reportExtension = this.#set.at(where, 'x-portcullis-report-only');
    const reportOnly = reportExtension.value ?? [];
    if (!Array.isArray(reportOnly) || !reportOnly.every((name) => ROUTE_REPORTABLE_POLICIES.includes(name as string))) {
      this.#fail(reportExtension, `expected a list of policies that can report on one operation: ${ROUTE_REPORTABLE_POLICIES.join(', ')}`);
    }
    return { method, template, where, parameters, body: operation.requestBody === undefined ? null : this.#body(this.#set.at(where, 'requestBody')), scopes, maxBodySize, rate, reportOnly: [...new Set(reportOnly as string[])] };
  }

  /** `security` as a requirement; undefined when absent (inherit), null when it requires no scopes. */
  #scopes(location: Location): ScopeRequirement | null | undefined {
    const security = location.value;
    if (security === undefined) return undefined;
    if (!Array.isArray(security)) this.#fail(location, 'expected a list of security requirements');
    const alternatives: string[][] = [];
    security.forEach((requirement, index) => {
      const at = this.#set.at(location, String(index));
      if (!isObject(requirement)) this.#fail(at, 'expected a security requirement (an object)');
      const scopes: string[] = [];
      for (const [scheme, list] of Object.entries(requirement)) {
        if (!Array.isArray(list) || !list.every((scope) => typeof scope === 'string')) this.#fail(this.#set.at(at, scheme), 'expected a list of scope names');
        for (const scope of list as string[]) {
          if (!isValidRequiredScope(scope)) this.#fail(this.#set.at(at, scheme), `${JSON.stringify(scope).slice(0, 60)} cannot be a scope (no spaces, quotes, backslashes or *)`);
          scopes.push(scope);
        }
      }
      alternatives.push([...new Set(scopes)]);
    });
    // An empty requirement object (or none at all) is met by any key: no scopes needed.
    if (alternatives.length === 0 || alternatives.some((alternative) => alternative.length === 0)) return null;
    return alternatives;
  }

  #parameterList(location: Location): ParameterDescription[] {
    if (location.value === undefined) return [];
    if (!Array.isArray(location.value)) this.#fail(location, 'expected a list of parameters');
    return location.value.map((_, index) => this.#parameter(this.#set.dereference(this.#set.at(location, String(index)))));
  }

  #parameter(where: Location): ParameterDescription {
    const parameter = this.#object(where, 'a parameter');
    const { name } = parameter;
    const location = parameter.in;
    if (typeof name !== 'string' || name === '') this.#fail(where, 'a parameter needs a name');
    if (typeof location !== 'string' || !LOCATIONS.has(location)) this.#fail(where, 'a parameter needs "in": path, query, header or cookie');
    const place = location as ParameterLocation;
    if (place === 'path' && parameter.required !== true) this.#fail(where, `path parameter ${JSON.stringify(name)} must have required: true`);
    const style = typeof parameter.style === 'string' ? parameter.style : DEFAULT_STYLE[place];
    if (place === 'path' && style === 'matrix') this.#fail(where, 'matrix-style path parameters put ";" in paths, which the gateway refuses (docs/security.md, canonical paths)');
    const explode = typeof parameter.explode === 'boolean' ? parameter.explode : style === 'form';
    let schema: Location | null = null;
    let json = false;
    if (parameter.schema !== undefined) schema = this.#set.at(where, 'schema');
    else if (parameter.content !== undefined) {
      const contentLocation = this.#set.at(where, 'content');
      const content = this.#object(contentLocation, 'a map of one media type');
      const types = Object.keys(content);
      if (types.length !== 1) this.#fail(contentLocation, 'a parameter\'s content must have exactly one media type');
      const mediaType = (types[0] as string).split(';')[0]!.trim().toLowerCase();
      json = mediaType === 'application/json' || mediaType.endsWith('+json');
      const mediaLocation = this.#set.at(contentLocation, types[0] as string);
      if (json && isObject(mediaLocation.value) && mediaLocation.value.schema !== undefined) schema = this.#set.at(mediaLocation, 'schema');
    }
    return { name, in: place, required: parameter.required === true, style, explode, schema, json, where };
  }

  #checkPathParameters(template: string, where: Location, parameters: readonly ParameterDescription[]): void {
    const inTemplate = new Set([...template.matchAll(TEMPLATE_PARAMETER)].map((match) => match[1] as string));
    const declared = new Set(parameters.filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name));
    for (const name of inTemplate) if (!declared.has(name)) this.#fail(where, `the path parameter {${name}} of ${template} is not declared in parameters`);
    for (const name of declared) if (!inTemplate.has(name)) this.#fail(where, `path parameter ${JSON.stringify(name)} does not appear in ${template}`);
  }

  #body(reference: Location): OperationDescription['body'] {
    const where = this.#set.dereference(reference);
    const body = this.#object(where, 'a request body');
    const contentLocation = this.#set.at(where, 'content');
    const content = this.#object(contentLocation, 'the request body\'s content (media types)');
    const mediaTypes: MediaTypeDescription[] = [];
    for (const key of Object.keys(content)) {
      const mediaLocation = this.#set.at(contentLocation, key);
      const media = this.#object(mediaLocation, 'a media type object');
      mediaTypes.push({ mediaType: key.split(';')[0]!.trim().toLowerCase(), schema: media.schema === undefined ? null : this.#set.at(mediaLocation, 'schema') });
    }
    return { required: body.required === true, content: mediaTypes };
  }
}
