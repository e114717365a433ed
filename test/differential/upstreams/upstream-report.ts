/**
 * What every differential upstream answers, whatever the request: which operation it ran and
 * everything of the request that operation could act on, as the framework exposes it. The
 * suite compares this with what the gateway checked (differential-assertions.ts).
 *
 * The Python upstream (wsgi_upstream.py) writes the same JSON shape; keep the two in step.
 */

/** The response header that marks an answer as the upstream's (the gateway's own answers are problem+json). */
export const UPSTREAM_HEADER = 'x-differential-upstream';

/**
 * Header names the suite asks the upstream to look up the way the application would
 * (`req.get(name)` in Express, `request.headers[name]` in Fastify, `environ['HTTP_…']` in WSGI):
 * the credential headers, the identity and forwarding headers only the gateway may set, the
 * API's header parameter, the body's media type and the method override.
 */
export const LOOKED_UP_HEADERS = [
  'authorization',
  'x-api-key',
  'x-portcullis-key-id',
  'x-portcullis-key-name',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'forwarded',
  'x-tenant',
  'content-type',
  'x-http-method-override',
] as const;

/** The body fields the createItem handler binds (api.yaml); the upstreams report these, as bound. */
export const BODY_FIELDS = ['name', 'quantity', 'serial'] as const;

/**
 * A JSON value as the upstream parsed it, with numbers as exact text: a JavaScript upstream
 * holds a double (`String(n)`), the Python one an exact integer or a double (`repr`).
 */
export interface ReportedValue {
  type: 'string' | 'integer' | 'number' | 'boolean' | 'null' | 'object' | 'array';
  text: string;
}

export interface UpstreamReport {
  upstream: string;
  /** The operationId of the handler that ran; null when no route matched or the request failed before one ran. */
  route: string | null;
  /** The method the application routed on (after a method override). */
  method: string;
  /** The method of the request line. */
  wireMethod: string;
  /** The request target as the framework received it. */
  target: string;
  pathParameters: Record<string, string>;
  /** The query as the framework parsed it; a name given more than once maps to a list. */
  query: Record<string, string | string[]>;
  /** Every header as the framework exposes it (Node: `req.headers`; WSGI: the `HTTP_*` environ keys). */
  headers: Record<string, string>;
  /** What the application gets when it asks for each of LOOKED_UP_HEADERS; null when absent. */
  lookups: Record<string, string | null>;
  /**
   * Names of the headers the application sees as `X-Portcullis-*`, in lower case with hyphens
   * (`HTTP_X_PORTCULLIS_KEY_ID` in WSGI is `x-portcullis-key-id`).
   */
  portcullisHeaders: string[];
  /** The body fields the handler bound (BODY_FIELDS that are present); null when no JSON body was parsed. */
  body: Record<string, ReportedValue> | null;
  /** Set when the framework refused the request before a handler ran (a body it could not parse). */
  error?: string;
}

/** A value parsed by JSON.parse, described for the report. */
export function reportedValue(value: unknown): ReportedValue {
  if (value === null) return { type: 'null', text: 'null' };
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'integer' : 'number', text: String(value) };
  if (typeof value === 'string') return { type: 'string', text: value };
  if (typeof value === 'boolean') return { type: 'boolean', text: String(value) };
  return { type: Array.isArray(value) ? 'array' : 'object', text: JSON.stringify(value) };
}

/** The BODY_FIELDS of a body parsed by JSON.parse, looked up exactly as a JavaScript handler does (`body.quantity`). */
export function boundFields(body: unknown): Record<string, ReportedValue> | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const fields: Record<string, ReportedValue> = {};
  for (const field of BODY_FIELDS) {
    if (Object.hasOwn(body, field)) fields[field] = reportedValue((body as Record<string, unknown>)[field]);
  }
  return fields;
}

/** Node's `req.headers` as a plain string map (repeated headers Node keeps as lists are joined as it would join others). */
export function nodeHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) result[name] = Array.isArray(value) ? value.join(', ') : value;
  return result;
}

/** The lookups and `X-Portcullis-*` names of a Node framework, whose header names are Node's lower-cased ones. */
export function nodeLookups(headers: Record<string, string>): Pick<UpstreamReport, 'lookups' | 'portcullisHeaders'> {
  const lookups: Record<string, string | null> = {};
  for (const name of LOOKED_UP_HEADERS) lookups[name] = headers[name] ?? null;
  return { lookups, portcullisHeaders: Object.keys(headers).filter((name) => name.startsWith('x-portcullis-')).sort() };
}

/** The query as a plain map (Express and Fastify give objects with a null prototype, or arrays for repeats). */
export function plainQuery(query: unknown): Record<string, string | string[]> {
  const result: Record<string, string | string[]> = {};
  if (query === null || typeof query !== 'object') return result;
  for (const [name, value] of Object.entries(query)) {
    if (typeof value === 'string') result[name] = value;
    else if (Array.isArray(value)) result[name] = value.map(String);
    else result[name] = JSON.stringify(value);
  }
  return result;
}

/** The routes of api.yaml in the order an application registers them: literal paths before templated ones, as OpenAPI gives them precedence. */
export const ROUTES: ReadonlyArray<{ operationId: string; method: string; template: string }> = [
  { operationId: 'exportItems', method: 'GET', template: '/items/export' },
  { operationId: 'getMe', method: 'GET', template: '/users/me' },
  { operationId: 'createItem', method: 'POST', template: '/items' },
  { operationId: 'purgeItems', method: 'DELETE', template: '/items' },
  { operationId: 'getItem', method: 'GET', template: '/items/{id}' },
  { operationId: 'touchItem', method: 'POST', template: '/items/{id}' },
  { operationId: 'deleteItem', method: 'DELETE', template: '/items/{id}' },
  { operationId: 'getUser', method: 'GET', template: '/users/{name}' },
];

/** `/items/{id}` → `/items/:id` (Express and Fastify syntax). */
export function colonTemplate(template: string): string {
  return template.replace(/\{([^}]+)\}/g, ':$1');
}
