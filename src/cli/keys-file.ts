import { createRequire } from 'node:module';
import { parseCidr } from '../http/cidr.ts';
import { LEAK_ACTIONS, TAG_PATTERN, type KeyRecord, type KeySettings, type LeakAction } from '../keys/key-record.ts';
import { checkApiName, checkCertFingerprint, checkQuota, checkRate, checkScope, type SettingCheck } from '../routes/key-setting-checks.ts';
import { readYamlSource } from '../config/yaml-source.ts';
import { ConfigError } from '../config/config-error.ts';
import { JSON_SCHEMA_VERSION, UsageError } from './cli-support.ts';

/**
 * The keys file: every key's settings, never a secret, as `keys export` writes it and `apply`
 * reads it (docs/cli-json/keys-file.schema.json). YAML (or JSON, which YAML reads too):
 *
 *     schemaVersion: 1
 *     selector: { tag: frontend }      # only with `keys export --tag`: what `apply --prune` may revoke
 *     keys:
 *       - id: key_LjFY2Cfhe9AiOHc4SLKZ # optional: without it, the key is found by name (or created)
 *         name: web-1
 *         tags: [frontend]
 *         scopes: [orders:read]
 *         apis: [orders]               # the gateway's APIs it may be used on (left out: every API)
 *         leakAction: quarantine       # its own action on leak reports and anomalies (left out: its tags', else the default)
 *         allowedCidrs: [10.0.0.0/8]
 *         certFingerprint: 5f1c…       # 64 hex digits
 *         rateLimit: 100/s burst 200
 *         quota: 10000/day
 *         expiresAt: 2026-06-30T00:00:00.000Z
 *         metadata: { team: web }
 *
 * A setting left out means none (no tags, the gateway's default rate, no expiry…): the file is
 * the whole truth about the keys it names.
 */

/** One key as the file declares it: its settings, and the id when the file names one. */
export interface DeclaredKey {
  id: string | null;
  settings: KeySettings;
  /** Where in the file, for messages: `keys[3] (web-1)`. */
  where: string;
}

export interface KeysFile {
  /** Only keys with this tag are the file's business (`keys export --tag`). */
  selector: { tag: string } | null;
  keys: DeclaredKey[];
}

const KEY_FIELDS = new Set(['id', 'name', 'tags', 'scopes', 'apis', 'allowedCidrs', 'certFingerprint', 'rateLimit', 'quota', 'expiresAt', 'metadata', 'leakAction']);
const ID_PATTERN = /^[a-z][a-z0-9]{0,15}_[A-Za-z0-9]{1,64}$/;
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Reads one entry's settings; every problem names the entry and the field. */
class EntryReader {
  readonly problems: string[] = [];
  readonly #entry: Record<string, unknown>;
  readonly #where: string;

  constructor(entry: Record<string, unknown>, where: string, extraFields: readonly string[]) {
    this.#entry = entry;
    this.#where = where;
    for (const field of Object.keys(entry)) {
      if (!KEY_FIELDS.has(field) && !extraFields.includes(field)) this.#problem(field, `no such setting (the settings are ${[...KEY_FIELDS, ...extraFields].join(', ')})`);
    }
  }

  #problem(field: string, text: string): void {
    this.problems.push(`${this.#where}.${field}: ${text}`);
  }

  text(field: string, check: (value: string) => string | null, required = false): string | null {
    const value = this.#entry[field];
    if (value === undefined || value === null) {
      if (required) this.#problem(field, 'required');
      return null;
    }
    if (typeof value !== 'string') {
      this.#problem(field, `expected text, found ${JSON.stringify(value)?.slice(0, 60)}`);
      return null;
    }
    const problem = check(value);
    if (problem !== null) this.#problem(field, `${problem}, found ${JSON.stringify(value.slice(0, 60))}`);
    return value;
  }

  list(field: string, check: (value: string) => string | null): string[] {
    const value = this.#entry[field];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
      this.#problem(field, 'expected a list of text');
      return [];
    }
    for (const item of value as string[]) {
      const problem = check(item);
      if (problem !== null) this.#problem(field, `${problem}, found ${JSON.stringify(item.slice(0, 60))}`);
    }
    return [...new Set(value as string[])];
  }

  canonical(field: string, check: (value: string) => SettingCheck<string>): string | null {
    let canonical: string | null = null;
    this.text(field, (value) => {
      const result = check(value);
      if (result.ok) canonical = result.value;
      return result.ok ? null : result.problem;
    });
    return canonical;
  }

  time(field: string): number | null {
    const value = this.#entry[field];
    if (value === undefined || value === null) return null;
    // YAML reads an unquoted ISO timestamp as a date.
    const time = value instanceof Date ? value.getTime() : typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(time)) this.#problem(field, `expected a time such as 2026-06-30T00:00:00Z, found ${JSON.stringify(value)}`);
    return Number.isNaN(time) ? null : time;
  }

  object(field: string): Record<string, unknown> {
    const value = this.#entry[field];
    if (value === undefined || value === null) return {};
    if (!isPlainObject(value)) this.#problem(field, 'expected a mapping');
    return isPlainObject(value) ? (JSON.parse(JSON.stringify(value)) as Record<string, unknown>) : {};
  }
}

const checkName = (name: string) => (name.trim() === '' || name.length > 128 || CONTROL_CHARACTERS.test(name) ? 'expected 1 to 128 characters without control characters' : null);
const checkTag = (tag: string) => (TAG_PATTERN.test(tag) ? null : 'expected letters, digits and _ . : - (up to 64, starting with a letter or digit)');
/** A shared setting check (src/routes/key-setting-checks.ts) as a problem or null. */
const problemOf = (check: (value: string) => SettingCheck<string>) => (value: string) => {
  const result = check(value);
  return result.ok ? null : result.problem;
};
function checkCidr(cidr: string): string | null {
  try {
    parseCidr(cidr);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * A key's settings from a mapping in the keys file's terms (also one line of `keys import`);
 * `extraFields` are other fields the caller reads itself. Problems name `where` and the field.
 */
export function readDeclaredKey(entry: Record<string, unknown>, where: string, extraFields: readonly string[] = []): { key: DeclaredKey | null; problems: string[] } {
  const reader = new EntryReader(entry, where, extraFields);
  const id = reader.text('id', (value) => (ID_PATTERN.test(value) ? null : 'expected a key id such as key_LjFY2Cfhe9AiOHc4SLKZ'));
  const settings: KeySettings = {
    name: (reader.text('name', checkName, true) ?? '').trim(),
    tags: reader.list('tags', checkTag),
    scopes: reader.list('scopes', problemOf(checkScope)),
    apis: reader.list('apis', problemOf(checkApiName)),
    allowedCidrs: reader.list('allowedCidrs', checkCidr),
    certFingerprint: reader.canonical('certFingerprint', checkCertFingerprint),
    rateLimit: reader.canonical('rateLimit', checkRate),
    quota: reader.canonical('quota', checkQuota),
    expiresAt: reader.time('expiresAt'),
    metadata: reader.object('metadata'),
    leakAction: reader.text('leakAction', (value) => (LEAK_ACTIONS.includes(value as LeakAction) ? null : `expected one of ${LEAK_ACTIONS.join(', ')}`)) as LeakAction | null,
  };
  return { key: reader.problems.length > 0 ? null : { id, settings, where }, problems: reader.problems };
}

function readEntry(entry: unknown, index: number): { key: DeclaredKey | null; problems: string[] } {
  const label = isPlainObject(entry) && typeof entry.name === 'string' ? `keys[${index}] (${entry.name.slice(0, 40)})` : `keys[${index}]`;
  if (!isPlainObject(entry)) return { key: null, problems: [`${label}: expected a mapping of settings`] };
  return readDeclaredKey(entry, label);
}

/** Every problem of the document at once, and the keys when there is none. */
function readDocument(document: Record<string, unknown>, file: string): KeysFile {
  const problems: string[] = [];
  for (const field of Object.keys(document)) if (!['schemaVersion', 'selector', 'keys'].includes(field)) problems.push(`${field}: no such field (expected schemaVersion, selector, keys)`);
  if (document.schemaVersion !== JSON_SCHEMA_VERSION) problems.push(`schemaVersion: expected ${JSON_SCHEMA_VERSION} (this Portcullis reads version ${JSON_SCHEMA_VERSION} keys files), found ${JSON.stringify(document.schemaVersion)}`);
  let selector: KeysFile['selector'] = null;
  if (document.selector !== undefined && document.selector !== null) {
    const tag = isPlainObject(document.selector) ? document.selector.tag : undefined;
    if (typeof tag !== 'string' || !TAG_PATTERN.test(tag) || Object.keys(document.selector as object).length !== 1) problems.push('selector: expected { tag: TAG }');
    else selector = { tag };
  }
  if (!Array.isArray(document.keys)) problems.push('keys: expected a list of keys (an empty list [] declares none)');
  const keys: DeclaredKey[] = [];
  (Array.isArray(document.keys) ? document.keys : []).forEach((entry: unknown, index) => {
    const read = readEntry(entry, index);
    problems.push(...read.problems);
    if (read.key === null) return;
    if (selector !== null && !read.key.settings.tags.includes(selector.tag)) problems.push(`${read.key.where}.tags: the file selects keys tagged ${selector.tag}; this key lacks the tag, so a later export would not list it`);
    keys.push(read.key);
  });
  const seenIds = new Map<string, string>();
  for (const key of keys) {
    if (key.id === null) continue;
    const first = seenIds.get(key.id);
    if (first !== undefined) problems.push(`${key.where}.id: ${key.id} is declared twice (also by ${first})`);
    seenIds.set(key.id, key.where);
  }
  if (problems.length > 0) throw new UsageError(`${file}: not a valid keys file:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  return { selector, keys };
}

/** Parses and checks a keys file's text; a UsageError (exit 2) lists every problem. */
export function parseKeysFile(text: string, file: string): KeysFile {
  let document: Record<string, unknown>;
  try {
    document = readYamlSource(file, text).value;
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`${file}: not a valid keys file:\n${error.problems.map((problem) => `  - ${problem.replace(/^config file /, '')}`).join('\n')}`);
    throw error;
  }
  return readDocument(document, file);
}

/** A key's declared settings, as the file writes them: only what is set. */
function declaredEntry(record: KeyRecord): Record<string, unknown> {
  const entry: Record<string, unknown> = { id: record.id, name: record.name };
  if (record.tags.length > 0) entry.tags = record.tags;
  if (record.scopes.length > 0) entry.scopes = record.scopes;
  if (record.apis.length > 0) entry.apis = record.apis;
  if (record.leakAction !== null) entry.leakAction = record.leakAction;
  if (record.allowedCidrs.length > 0) entry.allowedCidrs = record.allowedCidrs;
  if (record.certFingerprint !== null) entry.certFingerprint = record.certFingerprint;
  if (record.rateLimit !== null) entry.rateLimit = record.rateLimit;
  if (record.quota !== null) entry.quota = record.quota;
  if (record.expiresAt !== null) entry.expiresAt = new Date(record.expiresAt).toISOString();
  if (Object.keys(record.metadata).length > 0) entry.metadata = record.metadata;
  return entry;
}

/** The keys file document of `records` (what `keys export --json` prints). */
export function keysFileDocument(records: readonly KeyRecord[], tag: string | undefined): Record<string, unknown> {
  return { schemaVersion: JSON_SCHEMA_VERSION, ...(tag === undefined ? {} : { selector: { tag } }), keys: records.map(declaredEntry) };
}

/** The keys file as YAML, with a header that says what it is and how to apply it. */
export function keysFileYaml(document: Record<string, unknown>, store: string, now: number): string {
  const { stringify } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const header = [
    `# Portcullis keys, exported from ${store} at ${new Date(now).toISOString()}.`,
    '# Settings only: no key in this file is a secret. Review changes, then: portcullis apply -f FILE',
    '# A setting left out means none; a key without an id is found by its name, or created.',
  ];
  return `${header.join('\n')}\n${stringify(document, { lineWidth: 0, flowCollectionPadding: false, collectionStyle: 'any' })}`;
}
