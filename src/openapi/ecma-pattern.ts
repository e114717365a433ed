import type { RegExpEngine } from 'ajv/dist/types/index.js';

/**
 * JSON Schema's `pattern` is an ECMA-262 regular expression (JSON Schema 2020-12 §6.3.3), and
 * ECMA-262 has two grammars: with the Unicode flag (`u`) and without. Many descriptions use
 * escapes that only the grammar without it allows (`\-` outside a class, `\:`, `\_`, `\ `),
 * while ajv compiles every pattern with `u`. A pattern is compiled with `u` where that is
 * valid (it then matches by code points, as JSON Schema intends) and otherwise without it,
 * which is still the regular expression its author wrote; never refused for that.
 */

export type PatternMode = 'unicode' | 'legacy';

/** How `pattern` compiles: `unicode` when valid with the `u` flag, `legacy` when only without it, null when neither. */
export function patternMode(pattern: string): PatternMode | null {
  try {
    new RegExp(pattern, 'u');
    return 'unicode';
  } catch {
    try {
      new RegExp(pattern);
      return 'legacy';
    } catch {
      return null;
    }
  }
}

/** ajv's `code.regExp`: the pattern with the flags ajv asks for, or without `u` when only that is valid. */
function compileEcmaPattern(pattern: string, flags: string): RegExp {
  try {
    return new RegExp(pattern, flags);
  } catch (error) {
    if (!flags.includes('u')) throw error;
    return new RegExp(pattern, flags.replace('u', ''));
  }
}

export const ECMA_PATTERN_ENGINE: RegExpEngine = Object.assign(compileEcmaPattern, { code: 'compileEcmaPattern' });
