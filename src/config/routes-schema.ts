/**
 * Configuration of what requests may look like: the OpenAPI document, route rules, canonical
 * paths, body limits and CORS. Part of the one schema in schema.ts (documented from there).
 * Formats `path-template`, `scope`, `base-path` and `cors-origin` are registered in
 * validate-config.ts.
 */

const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'QUERY'] as const;

export const openapiConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    file: {
      type: ['string', 'null'],
      minLength: 1,
      default: null,
      'x-flag': '--openapi',
      description:
        'The API\'s OpenAPI document (3.0 or 3.1, YAML or JSON; local `$ref`s, also to other files). When set, only the routes and methods it declares are forwarded (deny by default), requests are validated against it, and operations require the scopes of their `security` or `x-portcullis-scopes`.',
    },
    basePath: {
      type: 'string',
      format: 'base-path',
      default: '',
      description: 'A path prefix that requests carry in front of the document\'s paths (`/v1` when clients call `/v1/orders` for the document\'s `/orders`). It is forwarded as part of the path.',
    },
    unknownQueryParameters: {
      type: 'string',
      enum: ['refuse', 'allow'],
      default: 'refuse',
      description: 'What to do with query parameters an operation does not declare: `refuse` (400 `request_invalid`) or `allow` (forward them unchecked).',
    },
  },
} as const;

export const routesConfigSchema = {
  type: 'array',
  default: [],
  description:
    'Route rules, for an API without an OpenAPI document (or to add scopes and limits to one): a list of `{method, path, scopes, maxBodySize, rate}`, such as `{method: GET, path: \'/orders/{id}\', scopes: [orders:read]}`. When any rule is set, only the routes listed (and those of the document) are forwarded. `rate` (such as `10/s` or `100/min burst 20`) limits each key on that route, on top of the key\'s own rate (429 `rate_limited`). A rule for an operation the document already has adds its scopes and limits to it. Set in the config file (quote templates in YAML flow style, as here); README.md has an example.',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['method', 'path'],
    properties: {
      method: { type: 'string', enum: ROUTE_METHODS },
      path: { type: 'string', format: 'path-template' },
      scopes: { type: 'array', items: { type: 'string', format: 'scope' }, uniqueItems: true, default: [] },
      maxBodySize: { type: ['string', 'integer'], format: 'byte-size' },
      rate: { type: 'string', format: 'rate-policy' },
    },
  },
} as const;

export const pathsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    nonCanonical: {
      type: 'string',
      enum: ['refuse', 'normalise'],
      default: 'refuse',
      description:
        'Paths that are not in canonical form (`//`, `.` and `..` segments, needless or lower-case percent-encodings, characters that must be encoded): `refuse` them (400 `path_not_canonical`) or `normalise` them, forwarding the canonical form. Encoded `/` and `\\`, `;`, control bytes and invalid encodings are refused either way.',
    },
  },
} as const;

export const requestsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    maxBodySize: {
      type: ['string', 'integer'],
      format: 'byte-size',
      default: '100mb',
      description: 'Largest request body streamed to the upstream, unless the operation sets its own (`x-portcullis-max-body-size`, or a route rule\'s `maxBodySize`). Larger bodies get 413 `body_too_large`; the limit is enforced while the body streams.',
    },
    maxJsonBodySize: {
      type: ['string', 'integer'],
      format: 'byte-size',
      default: '1mb',
      description: 'Largest JSON body the gateway reads to validate against the OpenAPI document, unless the operation sets its own limit.',
    },
    maxJsonDepth: { type: 'integer', minimum: 1, maximum: 1000, default: 32, description: 'Deepest nesting of objects and arrays accepted in a validated JSON body.' },
  },
} as const;

export const corsConfigSchema = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    allowedOrigins: {
      type: 'array',
      items: { type: 'string', format: 'cors-origin' },
      uniqueItems: true,
      default: [],
      description: 'Origins whose pages may call the API from a browser: exact (`https://app.example.com`), with a wildcard leftmost label (`https://*.example.com`), or `*`. Empty: CORS is off and the gateway sends no CORS headers.',
    },
    allowedMethods: {
      type: 'array',
      items: { type: 'string', enum: ROUTE_METHODS },
      uniqueItems: true,
      default: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      description: 'Methods a preflight may ask for.',
    },
    allowedHeaders: {
      type: 'array',
      items: { type: 'string', format: 'header-name-or-star' },
      uniqueItems: true,
      default: ['authorization', 'content-type', 'x-api-key'],
      description: 'Request headers a preflight may ask for (`*`: any, only without credentials).',
    },
    exposedHeaders: { type: 'array', items: { type: 'string', format: 'header-name' }, uniqueItems: true, default: [], description: 'Response headers the page\'s script may read beyond the safelisted ones.' },
    allowCredentials: { type: 'boolean', default: false, description: 'Whether browsers may send cookies and HTTP authentication. Never combined with the origin `*`.' },
    maxAge: { type: ['string', 'integer'], format: 'duration', default: '10m', description: 'How long a browser may cache a preflight answer.' },
  },
} as const;
