/**
 * A part of the configuration, owned by the code that uses it (a policy, the engine's
 * listener, the admin listener), as a Kong plugin owns its `schema.lua`: the options it
 * declares, with their schema, default and description, and how their validated values become
 * typed settings. `src/app/config.ts` puts the fragments together; the config file, the
 * `PORTCULLIS_*` variables, the `serve` flags and docs/configuration.md all come from them.
 */

/** A JSON Schema node of one option, as the config machinery and the docs generator read it. */
export interface OptionSchema {
  readonly type?: string | readonly string[];
  readonly format?: string;
  readonly enum?: readonly unknown[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly minItems?: number;
  readonly uniqueItems?: boolean;
  readonly pattern?: string;
  readonly items?: OptionSchema | { readonly [keyword: string]: unknown };
  readonly default?: unknown;
  readonly description?: string;
  /** The `serve` flag that sets this option (`--allow-ip`); its help is the description's first sentence. */
  readonly 'x-flag'?: string;
  readonly [keyword: string]: unknown;
}

/** A string format that options may name (`format: 'cidr'`). */
export interface ConfigFormat {
  /** Completes "expected …" in a validation message. */
  readonly expected: string;
  /** What the format accepts, in full, for docs/configuration.md. */
  readonly documentation: string;
  readonly validate: RegExp | ((value: string) => boolean);
  /** The value placeholder of a flag in `--help` (`--allow-ip <cidr>`); the format's name when absent. */
  readonly placeholder?: string;
}

/** The merged, validated configuration document (defaults filled in), before any fragment reads it. */
export type ConfigDocument = Readonly<Record<string, unknown>>;

interface ReadContext {
  /** Relative file paths are resolved against this folder (the working directory, not the config file's). */
  readonly cwd: string;
  /** Where a field's value came from (the config file, `PORTCULLIS_…`, `--flag`), for messages; undefined for a default. */
  sourceOf(field: string): string | undefined;
}

export interface ConfigFragment<Settings> {
  /** The options, by dotted name (`network.allow`, `admin.tls.cert`), in the order the docs list them. */
  readonly options: Readonly<Record<string, OptionSchema>>;
  /** Formats only these options use; the common ones (formats.ts) are always known. */
  readonly formats?: Readonly<Record<string, ConfigFormat>>;
  /**
   * The typed settings from the validated document, as part of the config tree
   * (`{ network: { allow, deny } }`), merged with every other fragment's. May read options other
   * fragments own; throws ConfigError for what the schema cannot say (options that belong together).
   */
  read(document: ConfigDocument, context: ReadContext): Settings;
}

/** The settings type of a fragment. */
export type SettingsOf<Fragment> = Fragment extends ConfigFragment<infer Settings> ? Settings : never;

/**
 * The settings of several fragments together: `A | B` becomes `A & B` (a function parameter
 * of a union type infers the intersection), so the merged tree has every fragment's part.
 */
export type MergedSettings<Union> = (Union extends unknown ? (settings: Union) => void : never) extends (settings: infer All) => void ? All : never;
