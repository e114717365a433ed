import { Ajv, type ErrorObject } from 'ajv';
import { configSchema } from './schema.ts';
import { ConfigError, describeFound } from './config-error.ts';
import { parseByteSize, parseDuration, parseHostPort } from '../http/units.ts';
import { parseCidr } from '../http/cidr.ts';
import { parseQuotaPolicy, parseRatePolicy } from '../limits/rate-policy.ts';
import { parsePathTemplate } from '../routes/path-template.ts';
import { isValidRequiredScope, SCOPE_SYNTAX } from '../routes/scopes.ts';
import { canonicalisePath } from '../http/canonical-path.ts';
import { ORIGIN_FORMAT } from '../policies/cors/cors-policy.ts';

/** Human words for each custom format, used in "expected …" messages. */
const FORMAT_EXPECTATIONS: Record<string, string> = {
  duration: 'a duration such as 250ms, 30s, 5m, 1h or 30d (or a number of milliseconds)',
  'byte-size': 'a size such as 512kb or 10mb (or a number of bytes)',
  'host-port': 'HOST:PORT, with IPv6 hosts in brackets such as [::]:8080',
  'upstream-url': 'an http:// or https:// URL without credentials, query or fragment',
  'key-prefix': 'lowercase letters and digits starting with a letter, optionally with an environment tag such as pcl_live',
  'header-name': 'an HTTP header name (letters, digits and -)',
  cidr: 'an IPv4 or IPv6 address or CIDR with the host bits zero, such as 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32',
  'file-path': 'the path of a file',
  'rate-policy': 'a rate such as 100/s, 6000/m or 100/s burst 200',
  'quota-policy': 'a quota such as 10000/day or 300000/month',
  'redis-url': 'a redis:// or rediss:// URL',
  'header-name-or-star': 'an HTTP header name (letters, digits and -) or *',
  'path-template': 'a path template such as /orders/{orderId}, without empty, "." or ".." segments',
  scope: `a scope: ${SCOPE_SYNTAX}, without *`,
  'base-path': 'a path prefix such as /v1 (starting with /, no trailing /), or an empty string',
  'cors-origin': 'an origin such as https://app.example.com or https://*.example.com (lower case, no path), or *',
};

function isCidr(value: string): boolean {
  try {
    parseCidr(value);
    return true;
  } catch {
    return false;
  }
}

function isPathTemplate(value: string): boolean {
  try {
    parsePathTemplate(value);
    return true;
  } catch {
    return false;
  }
}

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}

function isBasePath(value: string): boolean {
  return value === '' || (value !== '/' && canonicalisePath(value, 'refuse') === value && isPathTemplate(value) && !value.includes('{'));
}

function isUpstreamUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
}

function createValidator() {
  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
  ajv.addKeyword({ keyword: 'x-flag', schemaType: 'string' });
  ajv.addFormat('duration', { type: 'string', validate: (value: string) => parseDuration(value) !== null });
  ajv.addFormat('byte-size', { type: 'string', validate: (value: string) => parseByteSize(value) !== null });
  ajv.addFormat('host-port', { type: 'string', validate: (value: string) => parseHostPort(value) !== null });
  ajv.addFormat('upstream-url', { type: 'string', validate: isUpstreamUrl });
  ajv.addFormat('key-prefix', /^[a-z][a-z0-9]{0,15}(_[a-z0-9]{1,16})?$/);
  ajv.addFormat('header-name', /^[A-Za-z0-9-]{1,64}$/);
  ajv.addFormat('cidr', { type: 'string', validate: isCidr });
  ajv.addFormat('file-path', { type: 'string', validate: (value: string) => value.trim() !== '' && !value.includes('\0') });
  ajv.addFormat('rate-policy', { type: 'string', validate: (value: string) => parseRatePolicy(value) !== null });
  ajv.addFormat('quota-policy', { type: 'string', validate: (value: string) => parseQuotaPolicy(value) !== null });
  ajv.addFormat('redis-url', { type: 'string', validate: isRedisUrl });
  ajv.addFormat('header-name-or-star', /^(?:\*|[A-Za-z0-9-]{1,64})$/);
  ajv.addFormat('path-template', { type: 'string', validate: isPathTemplate });
  ajv.addFormat('scope', { type: 'string', validate: isValidRequiredScope });
  ajv.addFormat('base-path', { type: 'string', validate: isBasePath });
  ajv.addFormat('cors-origin', ORIGIN_FORMAT);
  return ajv.compile(configSchema);
}

let compiled: ReturnType<typeof createValidator> | undefined;

/** Dotted field name for an ajv error, e.g. `upstream.headersTimeout`. */
function fieldOf(error: ErrorObject): string {
  const base = error.instancePath.split('/').slice(1).join('.');
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return base ? `${base}.${extra}` : extra;
  }
  return base || '(root)';
}

function expectationOf(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return 'no such option (see docs/configuration.md for the options)';
    case 'format':
      return `expected ${FORMAT_EXPECTATIONS[params.format as string] ?? String(params.format)}`;
    case 'type':
      return `expected ${String(params.type).replace(',', ' or ')}`;
    case 'enum':
      return `expected one of ${(params.allowedValues as unknown[]).join(', ')}`;
    case 'minimum':
    case 'maximum':
      return `expected a number ${error.keyword === 'minimum' ? '>=' : '<='} ${String(params.limit)}`;
    case 'minItems':
      return `expected at least ${String(params.limit)} item(s)`;
    case 'uniqueItems':
      return 'expected no duplicate items';
    default:
      return `expected a value that ${error.message ?? 'fits the schema'}`;
  }
}

function valueAt(document: unknown, instancePath: string): unknown {
  let current = document;
  for (const part of instancePath.split('/').slice(1)) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return current;
}

/**
 * Validates a merged configuration document in place (filling defaults) and throws a
 * ConfigError naming every bad field, what was expected, what was found, and where it came from.
 */
export function validateConfigDocument(document: Record<string, unknown>, sourceOf: (field: string) => string | undefined): void {
  compiled ??= createValidator();
  if (compiled(document)) return;
  const problems = new Set<string>();
  for (const error of compiled.errors ?? []) {
    // A union type failing produces one error per branch; the format/type error says enough.
    if (error.keyword === 'anyOf' || error.keyword === 'oneOf') continue;
    const field = fieldOf(error);
    // An item of a list (`network.allow.0`) came from wherever the list came from.
    const source = sourceOf(field) ?? sourceOf(field.replace(/\.\d+$/, ''));
    const found = error.keyword === 'additionalProperties' ? '' : `, found ${describeFound(valueAt(document, error.instancePath))}`;
    problems.add(`${field}${source ? ` (from ${source})` : ''}: ${expectationOf(error)}${found}`);
  }
  throw new ConfigError([...problems]);
}
