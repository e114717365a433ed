import { resolve } from 'node:path';
import type { ConfigFragment } from '../config/config-fragment.ts';
import { canonicalisePath } from '../http/canonical-path.ts';
import { FORWARDED_METHODS } from '../http/methods.ts';
import { parseByteSize } from '../http/units.ts';
import { RATE_FORMATS } from '../limits/rate-formats.ts';
import { compileRateText, type CompiledRate } from '../limits/rate-policy.ts';
import { ROUTE_REPORTABLE_POLICIES } from '../routes/operation.ts';
import { parsePathTemplate } from '../routes/path-template.ts';
import { isValidRequiredScope, SCOPE_SYNTAX } from '../routes/scopes.ts';

/** A route rule from `routes`. */
export interface RouteRule {
  method: string;
  path: string;
  scopes: string[];
  maxBodySize: number | null;
  /** Rate limit per key on this route; null: none. */
  rate: CompiledRate | null;
  /** The policies that only report on this route (report-only mode for one route). */
  reportOnly: string[];
}

export interface RoutesSettings {
  openapi: {
    file: string | null;
    basePath: string;
    unknownQueryParameters: 'refuse' | 'allow';
    /** Remote URL prefixes and the absolute local paths of their copies. */
    refMap: Record<string, string>;
    strict: boolean;
    /** Response checks in report mode: the share of requests whose response is compared with the description, and the largest body read for it. */
    responseChecks: { sampleRate: number; maxBodySize: number };
  };
  routes: RouteRule[];
}

interface RawRoutes {
  openapi: Omit<RoutesSettings['openapi'], 'refMap' | 'responseChecks'> & { refMap: Record<string, string> | null; responseChecks: { sampleRate: number; maxBodySize: string | number } };
  routes: Array<{ method: string; path: string; scopes: string[]; maxBodySize?: string | number; rate?: string; reportOnly?: string[] }>;
}

function isPathTemplate(value: string): boolean {
  try {
    parsePathTemplate(value);
    return true;
  } catch {
    return false;
  }
}

function isRemoteUrlPrefix(value: string): boolean {
  if (!/^https?:\/\//i.test(value) || value.includes('#')) return false;
  try {
    return new URL(value).href === value;
  } catch {
    return false;
  }
}

function isBasePath(value: string): boolean {
  return value === '' || (value !== '/' && canonicalisePath(value, 'refuse') === value && isPathTemplate(value) && !value.includes('{'));
}

/** What requests may look like: the API's OpenAPI document and route rules, compiled into the route table at start. */
export const routesConfig: ConfigFragment<RoutesSettings> = {
  formats: {
    ...RATE_FORMATS,
    'path-template': {
      expected: 'a path template such as /orders/{orderId}, without empty, "." or ".." segments',
      documentation: 'A path template as OpenAPI writes it: `/orders/{orderId}`, canonical, without empty, `.` or `..` segments.',
      validate: isPathTemplate,
    },
    scope: {
      expected: `a scope: ${SCOPE_SYNTAX}, without *`,
      documentation: `A scope: ${SCOPE_SYNTAX}, without \`*\`.`,
      validate: isValidRequiredScope,
    },
    'remote-url-prefix': {
      expected: 'an http(s) URL, or a URL prefix ending in /',
      documentation: 'An absolute `http://` or `https://` URL without a fragment; one ending in `/` maps every URL that starts with it.',
      validate: isRemoteUrlPrefix,
    },
    'base-path': {
      expected: 'a path prefix such as /v1 (starting with /, no trailing /), or an empty string',
      documentation: 'A path prefix: `/` followed by segments (`/v1`, `/api/v2`), canonical, without a trailing `/` or `{parameters}`; or the empty string for none.',
      validate: isBasePath,
    },
  },
  options: {
    'openapi.file': {
      type: ['string', 'null'],
      format: 'file-path',
      default: null,
      'x-flag': '--openapi',
      description:
        'The API\'s OpenAPI description: its root file (3.0 or 3.1, or Swagger 2.0, converted to OpenAPI 3.0 at load; YAML or JSON). `$ref`s to other files are followed, each relative to the file that holds it; remote ones only through `openapi.refMap`. When set, only the routes and methods it declares are forwarded (deny by default), requests are validated against it, and operations require the scopes of their `security` or `x-portcullis-scopes`.',
    },
    'openapi.basePath': {
      type: 'string',
      format: 'base-path',
      default: '',
      description: 'A path prefix that requests carry in front of the document\'s paths (`/v1` when clients call `/v1/orders` for the document\'s `/orders`). It is forwarded as part of the path.',
    },
    'openapi.unknownQueryParameters': {
      type: 'string',
      enum: ['refuse', 'allow'],
      default: 'refuse',
      description: 'What to do with query parameters an operation does not declare: `refuse` (400 `request_invalid`) or `allow` (forward them unchecked).',
    },
    'openapi.refMap': {
      type: ['object', 'null'],
      default: null,
      propertyNames: { format: 'remote-url-prefix' },
      additionalProperties: { type: 'string', minLength: 1 },
      description:
        'Local copies of the remote files that the description\'s `$ref`s name: a map from a URL (or a URL prefix ending in `/`) to a local file (or folder), relative to the working directory, such as `{"https://schemas.example.com/common/": ./vendor/common/}`. The gateway never fetches anything at start: a remote `$ref` that no entry maps stops the start (exit 2) with its location. Set in the config file; `null`: no copies.',
    },
    'openapi.strict': {
      type: 'boolean',
      default: false,
      description:
        'Refuse at start (exit 2) a description whose request schemas use a `format` the gateway has no check for, or a keyword neither JSON Schema nor OpenAPI defines. By default each is named once in a start-up warning and ignored, as OpenAPI allows.',
    },
    'openapi.responseChecks.sampleRate': {
      type: 'number',
      minimum: 0,
      maximum: 1,
      default: 0,
      description:
        'Response checks, in report mode: the share of requests (0 to 1) whose upstream response is compared with the OpenAPI description, as an early warning of data exposure. A status the operation does not document (nor its range `2XX`, nor `default`) is reported as `response_undocumented_status`; a JSON body (`application/json`, `+json`) is copied as it streams by, up to `openapi.responseChecks.maxBodySize`, and once the response has been sent its properties that the response schema does not declare (and does not allow with `additionalProperties`) are reported as `response_undocumented_field` with their JSON paths (never their values), a body that is not JSON or has another type than documented as `response_schema_mismatch`. Reported like would-denies (`portcullis_would_deny_total{code}`, `portcullis report`, a rate-limited log line); the response itself is never changed or held back. 0: off.',
    },
    'openapi.responseChecks.maxBodySize': {
      type: ['string', 'integer'],
      format: 'byte-size',
      default: '64kb',
      description: 'Largest response body that response checks copy and read (`openapi.responseChecks.sampleRate`); a larger one (by its Content-Length, or once that many bytes went by) is not checked and is counted in `portcullis_response_checks_total{outcome="too_large"}`.',
    },
    routes: {
      type: 'array',
      default: [],
      description:
        'Route rules, for an API without an OpenAPI document (or to add scopes and limits to one): a list of `{method, path, scopes, maxBodySize, rate, reportOnly}`, such as `{method: GET, path: \'/orders/{id}\', scopes: [orders:read]}`. When any rule is set, only the routes listed (and those of the document) are forwarded. `rate` (such as `10/s` or `100/min burst 20`) limits each key on that route, on top of the key\'s own rate (429 `rate_limited`). `reportOnly` (any of scopes, input-validation, rate-limits, quotas) puts those policies in report mode on this route only, as `reportOnly.policies` does everywhere (an OpenAPI operation can say the same with `x-portcullis-report-only`). A rule for an operation the document already has adds its scopes, limits and report-only policies to it. Set in the config file (quote templates in YAML flow style, as here); README.md has an example.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['method', 'path'],
        properties: {
          method: { type: 'string', enum: FORWARDED_METHODS },
          path: { type: 'string', format: 'path-template' },
          scopes: { type: 'array', items: { type: 'string', format: 'scope' }, uniqueItems: true, default: [] },
          maxBodySize: { type: ['string', 'integer'], format: 'byte-size' },
          rate: { type: 'string', format: 'rate-policy' },
          reportOnly: { type: 'array', items: { type: 'string', enum: [...ROUTE_REPORTABLE_POLICIES] }, uniqueItems: true },
        },
      },
    },
  },
  read(document, { cwd }) {
    const raw = document as unknown as RawRoutes;
    return {
      openapi: {
        ...raw.openapi,
        file: raw.openapi.file === null ? null : resolve(cwd, raw.openapi.file),
        refMap: Object.fromEntries(Object.entries(raw.openapi.refMap ?? {}).map(([prefix, local]) => [prefix, resolve(cwd, local)])),
        responseChecks: { sampleRate: raw.openapi.responseChecks.sampleRate, maxBodySize: parseByteSize(raw.openapi.responseChecks.maxBodySize) as number },
      },
      routes: raw.routes.map((rule) => ({
        method: rule.method,
        path: rule.path,
        scopes: rule.scopes,
        maxBodySize: rule.maxBodySize === undefined ? null : (parseByteSize(rule.maxBodySize) as number),
        rate: rule.rate === undefined ? null : compileRateText(rule.rate),
        reportOnly: rule.reportOnly ?? [],
      })),
    };
  },
};

