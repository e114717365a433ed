import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { configSchema } from './schema.ts';
import { ConfigError, describeFound } from './config-error.ts';
import { validateConfigDocument } from './validate-config.ts';
import { isPostgresLocation } from '../store/store-location.ts';
import { parseByteSize, parseDuration, parseHostPort, type HostPort } from '../http/units.ts';
import { normaliseNetwork, normaliseTls, normaliseUpstreamTls, type NetworkConfig, type TlsConfig, type UpstreamTlsConfig } from './tls-network-config.ts';
import { compileQuotaText, compileRateText, type CompiledQuota, type CompiledRate } from '../limits/rate-policy.ts';
import type { NonCanonicalPolicy } from '../http/canonical-path.ts';
import type { CorsOptions } from '../policies/cors/cors-policy.ts';

export interface Config {
  configFile: string | null;
  listen: HostPort;
  store: string;
  upstream: {
    url: URL | null;
    connections: number;
    connectTimeout: number;
    headersTimeout: number;
    bodyTimeout: number;
    keepAliveTimeout: number;
    tls: UpstreamTlsConfig;
  };
  network: NetworkConfig;
  tls: TlsConfig | null;
  keys: { prefix: string; acceptedPrefixes: string[]; headers: string[]; queryParameter: string | null };
  openapi: { file: string | null; basePath: string; unknownQueryParameters: 'refuse' | 'allow' };
  routes: RouteRule[];
  paths: { nonCanonical: NonCanonicalPolicy };
  requests: { maxBodySize: number; maxJsonBodySize: number; maxJsonDepth: number };
  cors: CorsOptions;
  server: { headersTimeout: number; requestTimeout: number; keepAliveTimeout: number; maxConnections: number; maxHeaderSize: number; drainTimeout: number };
  cache: { maxKeys: number; maxUnknown: number; maxVerifiedKeys: number };
  changeFeed: { pollInterval: number; staleFor: number };
  health: { listen: HostPort | null };
  workers: number;
  workerBalancing: 'reuse-port' | 'cluster';
  usage: { flushInterval: number; retention: number };
  limits: { keyRate: CompiledRate | null; keyQuota: CompiledQuota | null; addressRate: CompiledRate | null; maxAddresses: number };
  lockout: { maxFailures: number; window: number; coolOff: number };
  redis: { url: string | null; keyPrefix: string; commandTimeout: number };
  admin: {
    /** Null when the admin listener is off. */
    listen: HostPort | null;
    allowRemote: boolean;
    tls: { cert: string; key: string; clientCa: string | null } | null;
    sessionLifetime: number;
    sessionIdleTimeout: number;
  };
  log: { level: string; access: boolean };
}

/** A route rule from `routes` (config/routes-schema.ts). */
export interface RouteRule {
  method: string;
  path: string;
  scopes: string[];
  maxBodySize: number | null;
  /** Rate limit per key on this route; null: none. */
  rate: CompiledRate | null;
}

export interface ConfigSources {
  /** Explicit `--config FILE`; otherwise `PORTCULLIS_CONFIG`, otherwise `./portcullis.yaml` when it exists. */
  configFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags by dotted field (`upstream.url`), with the flag's name for messages. */
  flags?: Array<{ field: string; value: unknown; flag: string }>;
  cwd?: string;
}

interface SchemaNode {
  type?: string | readonly string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/** `upstream.headersTimeout` → `PORTCULLIS_UPSTREAM_HEADERS_TIMEOUT`. */
export function environmentVariableFor(field: string): string {
  return `PORTCULLIS_${field.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

/** Every leaf option of the schema with its dotted name and schema node. */
export function configFields(node: SchemaNode = configSchema as unknown as SchemaNode, prefix = ''): Array<{ field: string; schema: SchemaNode }> {
  const fields: Array<{ field: string; schema: SchemaNode }> = [];
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const field = prefix ? `${prefix}.${name}` : name;
    if (child.properties) fields.push(...configFields(child, field));
    else fields.push({ field, schema: child });
  }
  return fields;
}

function typesOf(schema: SchemaNode): readonly string[] {
  if (schema.type === undefined) return [];
  return typeof schema.type === 'string' ? [schema.type] : schema.type;
}

/** Turns an environment string into the value the schema expects (arrays are comma-separated). */
function coerceEnvironmentValue(raw: string, schema: SchemaNode): unknown {
  const types = typesOf(schema);
  if (types.includes('array')) return raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (raw === '' && types.includes('null')) return null;
  if (types.includes('integer') && /^-?\d+$/.test(raw.trim())) return Number(raw.trim());
  if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

function setField(document: Record<string, unknown>, field: string, value: unknown): void {
  const parts = field.split('.');
  let current = document;
  for (const part of parts.slice(0, -1)) {
    const next = current[part];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) current[part] = {};
    current = current[part] as Record<string, unknown>;
  }
  current[parts[parts.length - 1] as string] = value;
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`config file ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(document.errors.map((error) => `config file ${path}: ${error.message.split('\n')[0]}`));
  }
  const value: unknown = document.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`config file ${path}: expected a mapping of options at the top level, found ${describeFound(value)}`]);
  }
  return value as Record<string, unknown>;
}

function collectFileSources(document: Record<string, unknown>, label: string, prefix = '', into = new Map<string, string>()): Map<string, string> {
  for (const [name, value] of Object.entries(document)) {
    const field = prefix ? `${prefix}.${name}` : name;
    into.set(field, label);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) collectFileSources(value as Record<string, unknown>, label, field, into);
  }
  return into;
}

/**
 * Loads the configuration: defaults, then the YAML file, then `PORTCULLIS_*` variables, then
 * flags (each overriding the one before), validated against the schema. Throws ConfigError.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const cwd = sources.cwd ?? process.cwd();
  const explicitFile = sources.configFile ?? env.PORTCULLIS_CONFIG;
  const defaultFile = resolve(cwd, 'portcullis.yaml');
  const configFile = explicitFile ? resolve(cwd, explicitFile) : existsSync(defaultFile) ? defaultFile : null;

  const document: Record<string, unknown> = configFile ? readConfigFile(configFile) : {};
  const sourceByField = configFile ? collectFileSources(document, configFile) : new Map<string, string>();

  for (const { field, schema } of configFields()) {
    const name = environmentVariableFor(field);
    const raw = env[name];
    if (raw === undefined) continue;
    setField(document, field, coerceEnvironmentValue(raw, schema));
    sourceByField.set(field, name);
  }
  for (const { field, value, flag } of sources.flags ?? []) {
    if (value === undefined) continue;
    setField(document, field, value);
    sourceByField.set(field, flag);
  }

  validateConfigDocument(document, (field) => sourceByField.get(field));
  const config = normaliseConfig(document, configFile, cwd);
  checkCrossFieldRules(config, (field) => sourceByField.get(field));
  return config;
}

/** Rules that relate two options, which the schema cannot express; same message shape as the schema's. */
function checkCrossFieldRules(config: Config, sourceOf: (field: string) => string | undefined): void {
  const problems: string[] = [];
  const { pollInterval, staleFor } = config.changeFeed;
  const minimumStaleFor = Math.max(1000, 4 * pollInterval);
  if (staleFor < minimumStaleFor) {
    const source = sourceOf('changeFeed.staleFor');
    problems.push(
      `changeFeed.staleFor${source ? ` (from ${source})` : ''}: expected at least ${minimumStaleFor}ms (1s, and 4 × changeFeed.pollInterval, ` +
        `so that ordinary polling keeps cached keys usable), found ${staleFor}ms`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
}

// After validation every format is known to parse, so the `as` casts below only narrow types.
function normaliseConfig(document: Record<string, unknown>, configFile: string | null, cwd: string): Config {
  const raw = document as {
    listen: string | number;
    store: string;
    upstream: Record<string, unknown> & { url: string | null; connections: number; tls: UpstreamTlsConfig };
    network: NetworkConfig;
    tls: Parameters<typeof normaliseTls>[0];
    keys: { prefix: string; acceptedPrefixes?: string[]; headers: string[]; queryParameter: string | null };
    openapi: Config['openapi'];
    routes: Array<{ method: string; path: string; scopes: string[]; maxBodySize?: string | number; rate?: string }>;
    paths: Config['paths'];
    requests: { maxBodySize: string | number; maxJsonBodySize: string | number; maxJsonDepth: number };
    cors: Omit<CorsOptions, 'maxAge'> & { maxAge: string | number };
    server: Record<string, unknown> & { maxConnections: number };
    cache: { maxKeys: number; maxUnknown: number; maxVerifiedKeys: number };
    changeFeed: Record<string, unknown>;
    health: { listen: string | number | null };
    workers: number;
    workerBalancing: 'reuse-port' | 'cluster';
    usage: Record<string, unknown>;
    limits: { keyRate: string | null; keyQuota: string | null; addressRate: string | null; maxAddresses: number };
    lockout: Record<string, unknown> & { maxFailures: number };
    redis: Record<string, unknown> & { url: string | null; keyPrefix: string };
    admin: { listen: string | number | null; allowRemote: boolean; tls: { cert: string | null; key: string | null; clientCa: string | null }; sessionLifetime: unknown; sessionIdleTimeout: unknown };
    log: { level: string; access: boolean };
  };
  const duration = (value: unknown) => parseDuration(value) as number;
  const store = isPostgresLocation(raw.store) ? raw.store : resolve(cwd, raw.store);
  return {
    configFile,
    listen: parseHostPort(raw.listen) as HostPort,
    store,
    upstream: {
      url: raw.upstream.url === null ? null : new URL(raw.upstream.url),
      connections: raw.upstream.connections,
      connectTimeout: duration(raw.upstream.connectTimeout),
      headersTimeout: duration(raw.upstream.headersTimeout),
      bodyTimeout: duration(raw.upstream.bodyTimeout),
      keepAliveTimeout: duration(raw.upstream.keepAliveTimeout),
      tls: normaliseUpstreamTls(raw.upstream.tls, raw.upstream.url, cwd),
    },
    network: normaliseNetwork(raw.network),
    tls: normaliseTls(raw.tls, cwd),
    keys: {
      prefix: raw.keys.prefix,
      acceptedPrefixes: raw.keys.acceptedPrefixes ?? [raw.keys.prefix],
      headers: raw.keys.headers.map((header) => header.toLowerCase()),
      queryParameter: raw.keys.queryParameter,
    },
    openapi: { ...raw.openapi, file: raw.openapi.file === null ? null : resolve(cwd, raw.openapi.file) },
    routes: raw.routes.map((rule) => ({ method: rule.method, path: rule.path, scopes: rule.scopes, maxBodySize: rule.maxBodySize === undefined ? null : (parseByteSize(rule.maxBodySize) as number), rate: rule.rate === undefined ? null : compileRateText(rule.rate) })),
    paths: raw.paths,
    requests: { maxBodySize: parseByteSize(raw.requests.maxBodySize) as number, maxJsonBodySize: parseByteSize(raw.requests.maxJsonBodySize) as number, maxJsonDepth: raw.requests.maxJsonDepth },
    cors: { ...raw.cors, maxAge: duration(raw.cors.maxAge) },
    server: {
      headersTimeout: duration(raw.server.headersTimeout),
      requestTimeout: duration(raw.server.requestTimeout),
      keepAliveTimeout: duration(raw.server.keepAliveTimeout),
      maxConnections: raw.server.maxConnections,
      maxHeaderSize: parseByteSize(raw.server.maxHeaderSize) as number,
      drainTimeout: duration(raw.server.drainTimeout),
    },
    cache: raw.cache,
    changeFeed: { pollInterval: duration(raw.changeFeed.pollInterval), staleFor: duration(raw.changeFeed.staleFor) },
    health: { listen: raw.health.listen === null ? null : (parseHostPort(raw.health.listen) as HostPort) },
    workers: raw.workers,
    workerBalancing: raw.workerBalancing,
    usage: { flushInterval: duration(raw.usage.flushInterval), retention: duration(raw.usage.retention) },
    limits: {
      keyRate: compileRateText(raw.limits.keyRate),
      keyQuota: compileQuotaText(raw.limits.keyQuota),
      addressRate: compileRateText(raw.limits.addressRate),
      maxAddresses: raw.limits.maxAddresses,
    },
    lockout: { maxFailures: raw.lockout.maxFailures, window: duration(raw.lockout.window), coolOff: duration(raw.lockout.coolOff) },
    redis: { url: raw.redis.url, keyPrefix: raw.redis.keyPrefix, commandTimeout: duration(raw.redis.commandTimeout) },
    admin: {
      listen: raw.admin.listen === null ? null : (parseHostPort(raw.admin.listen) as HostPort),
      allowRemote: raw.admin.allowRemote,
      tls: adminTls(raw.admin.tls, cwd),
      sessionLifetime: duration(raw.admin.sessionLifetime),
      sessionIdleTimeout: duration(raw.admin.sessionIdleTimeout),
    },
    log: raw.log,
  };
}

/** `admin.tls`: a certificate and its key together (paths resolved like `store`), or neither. */
function adminTls(tls: { cert: string | null; key: string | null; clientCa: string | null }, cwd: string): Config['admin']['tls'] {
  if (tls.cert === null && tls.key === null) {
    if (tls.clientCa !== null) throw new ConfigError(['admin.tls.clientCa: requires admin.tls.cert and admin.tls.key (client certificates need TLS), found only admin.tls.clientCa']);
    return null;
  }
  if (tls.cert === null || tls.key === null) {
    throw new ConfigError([`admin.tls: expected both cert and key, found only ${tls.cert === null ? 'key' : 'cert'}`]);
  }
  return { cert: resolve(cwd, tls.cert), key: resolve(cwd, tls.key), clientCa: tls.clientCa === null ? null : resolve(cwd, tls.clientCa) };
}
