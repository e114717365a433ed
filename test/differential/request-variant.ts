/**
 * A generated request, symbolic so that it can be saved as a regression case and replayed in a
 * later run, whose keys are new: key material is written as placeholders, resolved just before
 * the request is sent.
 *
 *   {key:NAME}    the key itself                      {id:NAME}   its key id
 *   {basic:NAME}  base64("<key>:"), Basic with the key as user name
 *   {b64:NAME}    base64("<key>")
 */

/** The suite's keys and their scopes (admin holds every scope api.yaml uses). */
export const KEY_SCOPES = {
  plain: [],
  exporter: ['items:export'],
  writer: ['items:write'],
  deleter: ['items:delete'],
  admin: ['admin', 'items:*'],
} as const satisfies Record<string, readonly string[]>;

export type KeyName = keyof typeof KEY_SCOPES;
export const KEY_NAMES = Object.keys(KEY_SCOPES) as KeyName[];

export interface RequestVariant {
  method: string;
  /** The request target, byte for byte (path and query). */
  target: string;
  /** Header lines in order (Host is added when sending; Connection: close unless a line names Connection). */
  headers: Array<[string, string]>;
  /** Sent as UTF-8, with a Content-Length. */
  body: string | null;
}

export interface TestKey {
  name: KeyName;
  id: string;
  key: string;
  scopes: readonly string[];
}

export type TestKeys = ReadonlyMap<KeyName, TestKey>;

const PLACEHOLDER = /\{(key|basic|b64|id):(\w+)\}/g;

function keyOf(keys: TestKeys, name: string): TestKey {
  const key = keys.get(name as KeyName);
  if (key === undefined) throw new Error(`unknown key placeholder name ${name}`);
  return key;
}

function resolve(text: string, keys: TestKeys): string {
  return text.replace(PLACEHOLDER, (_match, kind: string, name: string) => {
    const key = keyOf(keys, name);
    if (kind === 'id') return key.id;
    if (kind === 'basic') return Buffer.from(`${key.key}:`).toString('base64');
    if (kind === 'b64') return Buffer.from(key.key).toString('base64');
    return key.key;
  });
}

/** The keys whose material (key, encoded key or id) a request carries anywhere. */
export function referencedKeys(variant: RequestVariant): Set<KeyName> {
  const text = [variant.target, ...variant.headers.flat(), variant.body ?? ''].join('\n');
  return new Set([...text.matchAll(PLACEHOLDER)].map((match) => match[2] as KeyName));
}

/** The bytes of the request, placeholders resolved. */
export function requestBytes(variant: RequestVariant, keys: TestKeys, host: string): Buffer {
  const lines = [`${variant.method} ${resolve(variant.target, keys)} HTTP/1.1`, `Host: ${host}`];
  if (!variant.headers.some(([name]) => name.toLowerCase() === 'connection')) lines.push('Connection: close');
  for (const [name, value] of variant.headers) lines.push(`${name}: ${resolve(value, keys)}`);
  const body = variant.body === null ? null : Buffer.from(resolve(variant.body, keys), 'utf8');
  if (body !== null) lines.push(`Content-Length: ${body.length}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body === null ? head : Buffer.concat([head, body]);
}

/** `text` with the run's key material written as placeholders again, so messages and saved cases hold no keys and read the same in every run. */
export function symbolicText(text: string, keys: TestKeys): string {
  let result = text;
  for (const key of keys.values()) {
    result = result
      .replaceAll(key.key, `{key:${key.name}}`)
      .replaceAll(Buffer.from(`${key.key}:`).toString('base64'), `{basic:${key.name}}`)
      .replaceAll(Buffer.from(key.key).toString('base64'), `{b64:${key.name}}`)
      .replaceAll(key.id, `{id:${key.name}}`);
  }
  return result;
}

/** The request as a person reads it in a failure message (placeholders kept, so it does not depend on the run's keys). */
export function describeVariant(variant: RequestVariant): string {
  const lines = [`${variant.method} ${variant.target}`, ...variant.headers.map(([name, value]) => `${name}: ${JSON.stringify(value).slice(1, -1)}`)];
  if (variant.body !== null) lines.push('', variant.body);
  return lines.map((line) => `    ${line}`).join('\n');
}

/** `[path, query or null]` of a request target. */
export function splitTarget(target: string): [string, string | null] {
  const question = target.indexOf('?');
  return question === -1 ? [target, null] : [target.slice(0, question), target.slice(question + 1)];
}

export function withHeaders(variant: RequestVariant, lines: ReadonlyArray<[string, string]>): RequestVariant {
  return { ...variant, headers: [...variant.headers, ...lines] };
}

/** The variant with the header lines named `lowerName` renamed (their values kept). */
export function renameHeader(variant: RequestVariant, lowerName: string, name: string): RequestVariant {
  return { ...variant, headers: variant.headers.map(([line, value]): [string, string] => (line.toLowerCase() === lowerName ? [name, value] : [line, value])) };
}

/** The variant with the value of the header lines named `lowerName` replaced. */
export function replaceHeaderValue(variant: RequestVariant, lowerName: string, value: string): RequestVariant {
  return { ...variant, headers: variant.headers.map(([line, old]): [string, string] => (line.toLowerCase() === lowerName ? [line, value] : [line, old])) };
}
