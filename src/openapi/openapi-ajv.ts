import { Ajv, type Options } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsPlugin from 'ajv-formats';
import { ECMA_PATTERN_ENGINE, patternMode } from './ecma-pattern.ts';

/** OpenAPI 3.0 descriptions are checked as JSON Schema draft-07 (after schema-preparation.ts), 3.1 as 2020-12. */
export type OpenApiVersion = '3.0' | '3.1';

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/**
 * The ajv of a description's dialect, with the formats OpenAPI adds and ECMA-262 patterns
 * (ecma-pattern.ts): the same one checks schemas at load and compiles them.
 * `strict: false`, because OpenAPI schemas carry keywords JSON Schema does not know (example,
 * xml, discriminator, x-…) and may name any format; schema-findings.ts reports them instead.
 * A component registered with `addSchema` compiles into one function that every validator
 * reaching it calls; only components without references of their own are copied into their
 * callers (ajv's `inlineRefs`), which keeps validation fast for a few MB more (docs/benchmarks.md).
 */
export function createOpenApiAjv(version: OpenApiVersion): Ajv {
  const options: Options = { strict: false, allErrors: false, logger: false, code: { optimize: false, regExp: ECMA_PATTERN_ENGINE } };
  const ajv = version === '3.1' ? (new Ajv2020(options) as unknown as Ajv) : new Ajv(options);
  addFormats(ajv);
  // `format: regex` (which the meta-schema puts on `pattern`): any ECMA-262 pattern, with the Unicode flag or without.
  ajv.addFormat('regex', (pattern: string) => patternMode(pattern) !== null);
  ajv.addFormat('int32', { type: 'number', validate: (value: number) => Number.isInteger(value) && value >= -2147483648 && value <= 2147483647 });
  ajv.addFormat('int64', { type: 'number', validate: (value: number) => Number.isInteger(value) });
  ajv.addFormat('float', { type: 'number', validate: () => true });
  ajv.addFormat('double', { type: 'number', validate: () => true });
  ajv.addFormat('byte', /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/);
  ajv.addFormat('binary', true);
  ajv.addFormat('password', true);
  return ajv;
}
