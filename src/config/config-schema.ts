import type { ConfigFormat, ConfigFragment, OptionSchema } from './config-fragment.ts';
import { COMMON_FORMATS } from './formats.ts';

/** One option of the assembled configuration. */
export interface ConfigOption {
  /** Dotted name: `upstream.headersTimeout`. */
  readonly field: string;
  readonly schema: OptionSchema;
}

/** A JSON Schema object node being assembled. */
interface SectionSchema {
  type: 'object';
  additionalProperties: false;
  default: Record<string, never>;
  properties: Record<string, SectionSchema | OptionSchema>;
}

function section(): SectionSchema {
  return { type: 'object', additionalProperties: false, default: {}, properties: {} };
}

/**
 * Every option the fragments declare, in their order; two fragments may share a section
 * (`network.allow`, `network.trustProxy`) but never an option.
 */
export function configOptions(fragments: readonly ConfigFragment<unknown>[]): ConfigOption[] {
  const seen = new Set<string>();
  const options: ConfigOption[] = [];
  for (const fragment of fragments) {
    for (const [field, schema] of Object.entries(fragment.options)) {
      if (seen.has(field)) throw new Error(`config option ${field} is declared by two fragments`);
      seen.add(field);
      options.push({ field, schema });
    }
  }
  return options;
}

/** The one JSON Schema of the configuration document: sections are objects without unknown keys, defaulting to `{}`. */
export function assembleConfigSchema(fragments: readonly ConfigFragment<unknown>[]): object {
  const root = section();
  for (const { field, schema } of configOptions(fragments)) {
    const parts = field.split('.');
    let node = root;
    for (const part of parts.slice(0, -1)) {
      const child = (node.properties[part] ??= section());
      if (!('properties' in child)) throw new Error(`config option ${field}: ${part} is an option, not a section`);
      node = child as SectionSchema;
    }
    node.properties[parts[parts.length - 1] as string] = schema;
  }
  // The root is the document itself: it has no default of its own.
  return { type: root.type, additionalProperties: root.additionalProperties, properties: root.properties };
}

/** The common formats and every fragment's own; one name means one format. */
export function configFormats(fragments: readonly ConfigFragment<unknown>[]): Map<string, ConfigFormat> {
  const formats = new Map(Object.entries(COMMON_FORMATS));
  for (const fragment of fragments) {
    for (const [name, format] of Object.entries(fragment.formats ?? {})) {
      const known = formats.get(name);
      if (known !== undefined && known !== format) throw new Error(`config format ${name} is defined twice`);
      formats.set(name, format);
    }
  }
  return formats;
}

/** `upstream.headersTimeout` → `PORTCULLIS_UPSTREAM_HEADERS_TIMEOUT`. */
export function environmentVariableFor(field: string): string {
  return `PORTCULLIS_${field.split('.').map((part) => part.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}

/** The JSON types an option accepts. */
export function typesOf(schema: OptionSchema): readonly string[] {
  if (schema.type === undefined) return [];
  return typeof schema.type === 'string' ? [schema.type] : schema.type;
}
