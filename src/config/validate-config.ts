import type { ErrorObject } from 'ajv';
import { ConfigError, describeFound } from './config-error.ts';
import type { ConfigFormat } from './config-fragment.ts';
import { didYouMean } from './closest-names.ts';
import { compileSchema, loadPrecompiledValidator } from './precompiled-validator.ts';
import { FLOW_MAPPING_HINT } from './yaml-source.ts';

/** Dotted field name for an ajv error, e.g. `upstream.headersTimeout`. */
function fieldOf(error: ErrorObject): string {
  const base = error.instancePath.split('/').slice(1).join('.');
  if (error.keyword === 'additionalProperties') {
    const extra = (error.params as { additionalProperty: string }).additionalProperty;
    return base ? `${base}.${extra}` : extra;
  }
  return base || '(root)';
}

/** The options a misspelt `field` may have meant: its siblings first, then any option. */
function suggestionFor(field: string, fields: readonly string[]): string {
  const parent = field.includes('.') ? field.slice(0, field.lastIndexOf('.') + 1) : '';
  const name = field.slice(parent.length);
  const siblings = fields.filter((candidate) => candidate.startsWith(parent)).map((candidate) => candidate.slice(parent.length).split('.')[0] as string);
  const nearby = didYouMean(name, siblings);
  if (nearby !== '') return nearby.replace(/did you mean (.*)\?$/, (_match, names: string) => `did you mean ${names.split(/, | or /).map((sibling) => parent + sibling).join(' or ')}?`);
  // An option written in the wrong section (`keyRate` for `limits.keyRate`).
  const elsewhere = fields.filter((candidate) => didYouMean(name, [candidate.slice(candidate.lastIndexOf('.') + 1)]) !== '' || candidate.endsWith(`.${name}`));
  return didYouMean(field, fields) || (elsewhere.length > 0 ? `; did you mean ${elsewhere.slice(0, 3).join(' or ')}?` : '');
}

/**
 * A value YAML read as a mapping of names to nothing (`path: {id}` is `{ id: null }`) where
 * the option wanted something else: the braces were meant as text.
 */
function looksLikeFlowMappingTrap(value: unknown): boolean {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).length > 0 && Object.values(value).every((item) => item === null);
}

function expectationOf(error: ErrorObject, formats: ReadonlyMap<string, ConfigFormat>, fields: readonly string[]): string {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'additionalProperties':
      return `no such option${suggestionFor(fieldOf(error), fields)} (see docs/configuration.md for the options)`;
    case 'format':
      return `expected ${formats.get(params.format as string)?.expected ?? String(params.format)}`;
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

export type DocumentValidator = (
  document: Record<string, unknown>,
  sourceOf: (field: string) => string | undefined,
  /** The file line where a field is written, with a caret (yaml-source.ts); undefined when not from a file. */
  excerptOf?: (field: string) => string | undefined,
) => void;

/**
 * Compiles the configuration schema once. The validator fills defaults in place and throws a
 * ConfigError naming every bad field, what was expected, what was found, and where it came from.
 */
export function compileConfigValidator(schema: object, formats: ReadonlyMap<string, ConfigFormat>, { checkSchema = false, fields = [] as readonly string[] } = {}): DocumentValidator {
  // The schema is ours, so checking it against the meta-schema on every start (which roughly
  // doubles the compile time of a short command) is left to a test: `checkSchema`.
  const compiled = (checkSchema ? null : loadPrecompiledValidator(schema, formats)) ?? compileSchema(schema, formats, checkSchema);
  return function validateConfigDocument(document, sourceOf, excerptOf = () => undefined) {
    if (compiled(document)) return;
    const problems = new Set<string>();
    for (const error of compiled.errors ?? []) {
      // A union type failing produces one error per branch; the format/type error says enough.
      if (error.keyword === 'anyOf' || error.keyword === 'oneOf') continue;
      const field = fieldOf(error);
      // An item of a list (`network.allow.0`) came from wherever the list came from.
      const source = sourceOf(field) ?? sourceOf(field.replace(/\.\d+$/, ''));
      const value = valueAt(document, error.instancePath);
      const found = error.keyword === 'additionalProperties' ? '' : `, found ${describeFound(value)}`;
      const hint = error.keyword === 'type' && looksLikeFlowMappingTrap(value) ? `\n      hint: ${FLOW_MAPPING_HINT}` : '';
      const excerpt = excerptOf(field);
      problems.add(`${field}${source ? ` (from ${source})` : ''}: ${expectationOf(error, formats, fields)}${found}${excerpt === undefined ? '' : `\n${excerpt}`}${hint}`);
    }
    throw new ConfigError([...problems]);
  };
}
