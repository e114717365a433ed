import { Command, Option } from 'commander';
import type { ConfigOption } from '../config/config-schema.ts';
import { typesOf } from '../config/config-schema.ts';
import type { ConfigFormat } from '../config/config-fragment.ts';
import { collect } from './cli-support.ts';

/**
 * The `serve` flags, made from the config options that name one (`x-flag` in a fragment), so
 * a flag, its option, its environment variable and its documentation are declared once.
 */

/** One flag: the option it sets, and commander's name for its value (`allowIp`). */
export interface ServeFlag {
  readonly flag: string;
  readonly field: string;
  readonly attribute: string;
}

/** `--allow-ip` → `allowIp`, as commander names it. */
function attributeOf(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/** The first sentence of a description: the flag's help. */
function summaryOf(description: string): string {
  const end = description.search(/\.(\s|$)/);
  return (end === -1 ? description : description.slice(0, end)).replace(/`/g, '');
}

function placeholderOf(option: ConfigOption, formats: ReadonlyMap<string, ConfigFormat>): string {
  const schema = typesOf(option.schema).includes('array') ? (option.schema.items as ConfigOption['schema']) : option.schema;
  if (schema.format !== undefined) return formats.get(schema.format)?.placeholder ?? schema.format;
  if (typesOf(schema).includes('integer')) return 'n';
  return 'value';
}

function defaultOf(value: unknown): string {
  if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) return '';
  return ` (default ${Array.isArray(value) ? value.join(',') : String(value)})`;
}

/** Adds a flag for every option that names one; returns how each maps back to its option. */
export function addServeFlags(command: Command, options: readonly ConfigOption[], formats: ReadonlyMap<string, ConfigFormat>): ServeFlag[] {
  const flags: ServeFlag[] = [];
  for (const option of options) {
    const flag = option.schema['x-flag'];
    if (flag === undefined) continue;
    const repeatable = typesOf(option.schema).includes('array');
    const help = `${summaryOf(option.schema.description ?? '')}${repeatable ? ' (repeatable)' : ''}${defaultOf(option.schema.default)}`;
    const commanderOption = new Option(`${flag} <${placeholderOf(option, formats)}>`, help);
    if (repeatable) commanderOption.argParser(collect);
    command.addOption(commanderOption);
    flags.push({ flag, field: option.field, attribute: attributeOf(flag) });
  }
  return flags;
}

/** The flags given on the command line, as config sources (`{ field, value, flag }`). */
export function givenServeFlags(flags: readonly ServeFlag[], values: Record<string, unknown>): Array<{ field: string; value: unknown; flag: string }> {
  return flags.map(({ flag, field, attribute }) => ({ field, value: values[attribute], flag }));
}
