import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './config-error.ts';
import { didYouMean } from './closest-names.ts';
import { NON_OPTION_VARIABLES } from './environment-variables.ts';
import { readYamlSource, type YamlSource } from './yaml-source.ts';
import type { ConfigDocument, ConfigFragment, OptionSchema } from './config-fragment.ts';
import { assembleConfigSchema, configFormats, configOptions, environmentVariableFor, typesOf, type ConfigOption } from './config-schema.ts';
import { compileConfigValidator, type DocumentValidator } from './validate-config.ts';

export interface ConfigSources {
  /** Explicit `--config FILE`; otherwise `PORTCULLIS_CONFIG`, otherwise `./portcullis.yaml` when it exists. */
  configFile?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags by dotted field (`upstream.url`), with the flag's name for messages. */
  flags?: ReadonlyArray<{ field: string; value: unknown; flag: string }>;
  cwd?: string;
}

/** What every loaded configuration says besides its fragments' settings. */
export interface LoadedFrom {
  /** The config file read, or null when there was none. */
  configFile: string | null;
}

/**
 * A configuration made of fragments, compiled once: the schema, its validator and the
 * options, ready to load documents from files, environment variables and flags.
 */
export class ConfigLoader<Settings> {
  readonly fragments: readonly ConfigFragment<unknown>[];
  readonly options: readonly ConfigOption[];
  readonly schema: object;
  #validator: DocumentValidator | null = null;

  constructor(fragments: readonly ConfigFragment<unknown>[]) {
    this.fragments = fragments;
    this.options = configOptions(fragments);
    this.schema = assembleConfigSchema(fragments);
  }

  /** Validates a merged document in place (filling defaults); throws ConfigError. */
  validate(document: Record<string, unknown>, sourceOf: (field: string) => string | undefined, excerptOf?: (field: string) => string | undefined): void {
    this.#validator ??= compileConfigValidator(this.schema, configFormats(this.fragments), { fields: this.options.map(({ field }) => field) });
    this.#validator(document, sourceOf, excerptOf);
  }

  /**
   * Refuses `PORTCULLIS_*` variables that name no option and are not one of the few others
   * (environment-variables.ts), with the closest names: a typo must not leave an option unset.
   */
  checkEnvironment(env: NodeJS.ProcessEnv): void {
    const known = new Set([...this.options.map(({ field }) => environmentVariableFor(field)), ...Object.keys(NON_OPTION_VARIABLES)]);
    const problems = Object.keys(env)
      .filter((name) => name.startsWith('PORTCULLIS_') && !known.has(name))
      .sort()
      .map((name) => `${name} (environment): no such option${didYouMean(name, known)} (every PORTCULLIS_* variable names an option of docs/configuration.md)`);
    if (problems.length > 0) throw new ConfigError(problems);
  }

  /**
   * Loads the configuration: defaults, then the YAML file, then `PORTCULLIS_*` variables, then
   * flags (each overriding the one before), validated, then read by every fragment and merged.
   * Throws ConfigError naming every problem.
   */
  load(sources: ConfigSources = {}): Settings & LoadedFrom {
    const env = sources.env ?? process.env;
    const cwd = sources.cwd ?? process.cwd();
    this.checkEnvironment(env);
    const explicitFile = sources.configFile ?? env.PORTCULLIS_CONFIG;
    const defaultFile = resolve(cwd, 'portcullis.yaml');
    const configFile = explicitFile ? resolve(cwd, explicitFile) : existsSync(defaultFile) ? defaultFile : null;

    const file = configFile ? readConfigFile(configFile) : null;
    const document: Record<string, unknown> = file?.value ?? {};
    const sourceByField = configFile ? collectFileSources(document, configFile) : new Map<string, string>();
    for (const { field, schema } of this.options) {
      const name = environmentVariableFor(field);
      const raw = env[name];
      if (raw === undefined) continue;
      setField(document, field, coerceText(raw, schema, true));
      sourceByField.set(field, name);
    }
    const schemaOf = new Map(this.options.map(({ field, schema }) => [field, schema]));
    for (const { field, value, flag } of sources.flags ?? []) {
      if (value === undefined) continue;
      const schema = schemaOf.get(field);
      setField(document, field, typeof value === 'string' && schema !== undefined ? coerceText(value, schema, false) : value);
      sourceByField.set(field, flag);
    }

    const sourceOf = (field: string) => sourceByField.get(field);
    // A line of the file is shown only for a value that still comes from it.
    const excerptOf = (field: string): string | undefined => {
      for (let part = field; file !== null && part !== ''; part = part.slice(0, Math.max(0, part.lastIndexOf('.')))) {
        const source = sourceOf(part);
        if (source !== undefined) return source === configFile ? file.excerpt(field) : undefined;
      }
      return undefined;
    };
    this.validate(document, sourceOf, excerptOf);
    return { ...this.read(document, { cwd, sourceOf }), configFile };
  }

  /** Every fragment's settings from a validated document, merged into one tree. */
  read(document: ConfigDocument, context: { cwd: string; sourceOf: (field: string) => string | undefined }): Settings {
    const problems: string[] = [];
    let settings: Record<string, unknown> = {};
    for (const fragment of this.fragments) {
      try {
        settings = mergeSettings(settings, fragment.read(document, context) as Record<string, unknown>);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(...error.problems);
      }
    }
    if (problems.length > 0) throw new ConfigError(problems);
    return settings as Settings;
  }
}

/** Turns text from the environment or a flag into the value the schema expects (environment lists are comma-separated). */
function coerceText(raw: string, schema: OptionSchema, fromEnvironment: boolean): unknown {
  const types = typesOf(schema);
  if (fromEnvironment && types.includes('array')) return raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
  if (fromEnvironment && raw === '' && types.includes('null')) return null;
  if (types.includes('integer') && /^-?\d+$/.test(raw.trim())) return Number(raw.trim());
  if (types.includes('number') && /^-?(?:\d+(?:\.\d*)?|\.\d+)$/.test(raw.trim())) return Number(raw.trim());
  if (types.includes('boolean') && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

/** Plain objects merge key by key; anything else (lists, URLs, null) is a value of its own. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;
}

function mergeSettings(into: Record<string, unknown>, from: Record<string, unknown>): Record<string, unknown> {
  const merged = { ...into };
  for (const [name, value] of Object.entries(from)) {
    const known = merged[name];
    merged[name] = isPlainObject(known) && isPlainObject(value) ? mergeSettings(known, value) : value;
  }
  return merged;
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

function readConfigFile(path: string): YamlSource {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`config file ${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`]);
  }
  return readYamlSource(path, text);
}

function collectFileSources(document: Record<string, unknown>, label: string, prefix = '', into = new Map<string, string>()): Map<string, string> {
  for (const [name, value] of Object.entries(document)) {
    const field = prefix ? `${prefix}.${name}` : name;
    into.set(field, label);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) collectFileSources(value as Record<string, unknown>, label, field, into);
  }
  return into;
}
