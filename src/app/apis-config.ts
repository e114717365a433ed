import { ConfigError } from '../config/config-error.ts';
import type { ConfigDocument, ConfigFragment, OptionSchema } from '../config/config-fragment.ts';
import { readUpstream, upstreamConfig, type RawUpstreamOptions, type UpstreamConfig } from '../engine/upstream-config.ts';
import { API_NAME_PATTERN } from '../keys/key-apis.ts';
import { isHostPattern } from '../routes/api-matcher.ts';
import { routesConfig, type RoutesSettings } from './routes-config.ts';
import { ROUTE_REPORTABLE_POLICIES } from '../routes/operation.ts';

/** One API of `apis`, read: what it matches, its upstream, its routes. */
export interface ApiSettings {
  name: string;
  /** Host patterns, lower case; empty: any host. */
  hosts: string[];
  /** `''`: any path. */
  pathPrefix: string;
  stripPrefix: boolean;
  upstream: UpstreamConfig;
  /** Its OpenAPI document and route rules (`openapi`, `routes`), as the top-level options read. */
  routes: RoutesSettings;
  /** The policies that only report on every operation of this API (`reportOnly`). */
  reportOnly: string[];
}

export interface ApisSettings {
  /** The APIs of `apis`, in order; empty when the option is unset (one implicit API, `default`: see `apisOf`). */
  apis: ApiSettings[];
}

/** The options of `upstream.*` an API's `upstream` may set; those it leaves out are the top-level `upstream.*` values, except the URLs and TLS. */
const UPSTREAM_KEYS = ['url', 'urls', 'balance', 'connections', 'connectTimeout', 'headersTimeout', 'bodyTimeout', 'keepAliveTimeout'] as const;
const TLS_KEYS = ['ca', 'cert', 'key', 'servername', 'insecureSkipVerify'] as const;
const OPENAPI_KEYS = ['file', 'basePath', 'unknownQueryParameters', 'strict'] as const;
const RESPONSE_CHECK_KEYS = ['sampleRate', 'maxBodySize'] as const;

/** An option's schema without what only a top-level option has (its default, flag and description). */
function schemaOf(option: OptionSchema | undefined): OptionSchema {
  const schema: Record<string, unknown> = { ...(option as OptionSchema) };
  for (const keyword of ['default', 'x-flag', 'description']) delete schema[keyword];
  return schema as OptionSchema;
}

function objectOf(properties: Record<string, OptionSchema>): OptionSchema {
  return { type: 'object', additionalProperties: false, properties };
}

const upstreamSchema = objectOf({
  ...Object.fromEntries(UPSTREAM_KEYS.map((key) => [key, schemaOf(upstreamConfig.options[`upstream.${key}`])])),
  passiveHealth: objectOf({ failures: schemaOf(upstreamConfig.options['upstream.passiveHealth.failures']), ejectFor: schemaOf(upstreamConfig.options['upstream.passiveHealth.ejectFor']) }),
  tls: objectOf(Object.fromEntries(TLS_KEYS.map((key) => [key, schemaOf(upstreamConfig.options[`upstream.tls.${key}`])]))),
});

const API_ITEM: OptionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'upstream'],
  properties: {
    name: { type: 'string', pattern: API_NAME_PATTERN },
    hosts: { type: 'array', items: { type: 'string', format: 'host-pattern' }, uniqueItems: true },
    pathPrefix: { type: 'string', format: 'base-path' },
    stripPrefix: { type: 'boolean' },
    upstream: upstreamSchema,
    openapi: objectOf({
      ...Object.fromEntries(OPENAPI_KEYS.map((key) => [key, schemaOf(routesConfig.options[`openapi.${key}`])])),
      responseChecks: objectOf(Object.fromEntries(RESPONSE_CHECK_KEYS.map((key) => [key, schemaOf(routesConfig.options[`openapi.responseChecks.${key}`])]))),
    }),
    routes: schemaOf(routesConfig.options.routes),
    reportOnly: { type: 'array', items: { type: 'string', enum: [...ROUTE_REPORTABLE_POLICIES] }, uniqueItems: true },
  },
};

interface RawApi {
  name: string;
  hosts?: string[];
  pathPrefix?: string;
  stripPrefix?: boolean;
  upstream: Partial<Omit<RawUpstreamOptions, 'passiveHealth' | 'tls'>> & { passiveHealth?: Partial<RawUpstreamOptions['passiveHealth']>; tls?: Partial<RawUpstreamOptions['tls']> };
  openapi?: Partial<Omit<RoutesSettings['openapi'], 'responseChecks'>> & { responseChecks?: Partial<Record<(typeof RESPONSE_CHECK_KEYS)[number], unknown>> };
  routes?: unknown[];
  reportOnly?: string[];
}

/** Several APIs behind one gateway, each with its match, upstream and routes. */
export const apisConfig: ConfigFragment<ApisSettings> = {
  formats: {
    'host-pattern': {
      expected: 'a host name such as api.example.com, or *.example.com (no port)',
      documentation: 'A host name (`api.example.com`: letters, digits, `-` and `.`, no port, no trailing `.`), or a wildcard `*.example.com` that matches any name ending in `.example.com` (one label or more in front; not `example.com` itself; `*.com` is refused).',
      validate: isHostPattern,
    },
  },
  options: {
    apis: {
      type: 'array',
      default: [],
      items: API_ITEM,
      description:
        'Several APIs behind one gateway, each `{name, hosts, pathPrefix, stripPrefix, upstream, openapi, routes, reportOnly}`. A request goes to the first API that matches it: by host name (its one `Host` header, without port, in any letter case) — an exact name before a wildcard `*.example.com`, a longer wildcard before a shorter one, a host before none — then by the longest `pathPrefix` (whole segments); none matches: 404 `api_not_found`. `name` (lower case, as `keys create --api` names it) labels metrics and logs. `hosts` (default: any) and `pathPrefix` (default: any path) are the match; `stripPrefix: true` removes the prefix from the path before the API\'s routes are matched and the request is forwarded (`/orders/1` reaches the upstream as `/1`). `upstream` takes the options of `upstream.*` (`url` or `urls`, `balance`, `passiveHealth`, `connections`, the timeouts, `tls`); those it leaves out are the top-level ones, except the URLs and `tls`, which are the API\'s own. `openapi` (`file`, `basePath`, `unknownQueryParameters`, `strict`, `responseChecks: {sampleRate, maxBodySize}`) and `routes` are as the top-level options, for this API only (`openapi.refMap` is shared; what an API leaves out of `openapi` is the top-level value). `reportOnly` (any of scopes, input-validation, rate-limits, quotas) puts those policies in report mode on every operation of this API, as `reportOnly.policies` does on every API. With `apis` set, `upstream.url`, `upstream.urls`, `openapi.file` and `routes` must be unset. Unset: one API named `default` that matches every request, made of the top-level options. Set in the config file; README.md has an example.',
    },
  },
  read(document, { cwd }) {
    const raw = (document as unknown as { apis: RawApi[] }).apis;
    if (raw.length === 0) return { apis: [] };
    refuseTopLevelApi(document);
    const apis = raw.map((api, index) => readApi(api, `apis.${index}`, document, cwd));
    refuseAmbiguousApis(apis);
    return { apis };
  },
};

/** With `apis`, the options of the implicit API would be silently ignored: refused instead. */
function refuseTopLevelApi(document: ConfigDocument): void {
  const { upstream, openapi, routes } = document as unknown as { upstream: RawUpstreamOptions; openapi: { file: string | null }; routes: unknown[] };
  const problems: string[] = [];
  if (upstream.url !== null) problems.push(`upstream.url: expected unset when apis is set (each API has its own apis.N.upstream.url), found ${JSON.stringify(upstream.url)}`);
  if (upstream.urls !== null) problems.push('upstream.urls: expected unset when apis is set (each API has its own apis.N.upstream.urls), found a list');
  if (openapi.file !== null) problems.push(`openapi.file: expected unset when apis is set (each API has its own apis.N.openapi.file), found ${JSON.stringify(openapi.file)}`);
  if (routes.length > 0) problems.push('routes: expected unset when apis is set (each API has its own apis.N.routes), found a list');
  if (problems.length > 0) throw new ConfigError(problems);
}

function readApi(api: RawApi, field: string, document: ConfigDocument, cwd: string): ApiSettings {
  const top = document as unknown as { upstream: RawUpstreamOptions; openapi: Omit<RoutesSettings['openapi'], 'responseChecks'> & { refMap: Record<string, string> | null; responseChecks: Record<string, unknown> } };
  const problems: string[] = [];
  const pathPrefix = api.pathPrefix ?? '';
  const stripPrefix = api.stripPrefix ?? false;
  if (stripPrefix && pathPrefix === '') problems.push(`${field}.stripPrefix: expected a pathPrefix to strip, found none`);
  if (api.upstream.url === undefined && api.upstream.urls === undefined) problems.push(`${field}.upstream.url: expected the API's upstream (url or urls), found nothing`);
  if (problems.length > 0) throw new ConfigError(problems);
  const upstream: RawUpstreamOptions = {
    ...top.upstream,
    url: null,
    urls: null,
    ...api.upstream,
    passiveHealth: { ...top.upstream.passiveHealth, ...api.upstream.passiveHealth },
    tls: { ca: null, cert: null, key: null, servername: null, insecureSkipVerify: false, ...api.upstream.tls },
  };
  const openapi = { ...top.openapi, file: null, basePath: '', ...api.openapi, responseChecks: { ...top.openapi.responseChecks, ...api.openapi?.responseChecks } };
  const routes = routesConfig.read({ openapi, routes: api.routes ?? [] }, { cwd, sourceOf: () => undefined });
  return {
    name: api.name,
    hosts: (api.hosts ?? []).map((host) => host.toLowerCase()),
    pathPrefix,
    stripPrefix,
    upstream: readUpstream(upstream, `${field}.upstream`, cwd),
    routes,
    reportOnly: api.reportOnly ?? [],
  };
}

/** Two APIs with one name, or with a match that only the first could ever win, are refused. */
function refuseAmbiguousApis(apis: readonly ApiSettings[]): void {
  const problems: string[] = [];
  const names = new Map<string, number>();
  const matches = new Map<string, number>();
  apis.forEach((api, index) => {
    const named = names.get(api.name);
    if (named !== undefined) problems.push(`apis.${index}.name: expected a name no other API has, found ${JSON.stringify(api.name)} (also apis.${named}.name)`);
    else names.set(api.name, index);
    for (const host of api.hosts.length === 0 ? ['*'] : api.hosts) {
      const match = `${host} ${api.pathPrefix}`;
      const same = matches.get(match);
      if (same !== undefined && same !== index) {
        const what = host === '*' ? 'any host' : `host ${JSON.stringify(host)}`;
        problems.push(`apis.${index}.${api.hosts.length === 0 ? 'pathPrefix' : 'hosts'}: expected a match no other API has, found ${what} with path prefix ${JSON.stringify(api.pathPrefix || '(none)')}, as apis.${same} (only the first would ever be used)`);
        break;
      }
      matches.set(match, index);
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
}

/** The APIs a configuration serves: `apis`, or the one implicit API `default` made of the top-level options, matching every request. */
export function apisOf(config: ApisSettings & RoutesSettings & { upstream: UpstreamConfig }): ApiSettings[] {
  if (config.apis.length > 0) return config.apis;
  return [{ name: 'default', hosts: [], pathPrefix: '', stripPrefix: false, upstream: config.upstream, routes: { openapi: config.openapi, routes: config.routes }, reportOnly: [] }];
}
