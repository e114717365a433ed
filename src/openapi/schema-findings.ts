import type { Ajv } from 'ajv';
import { OpenApiError } from './document-set.ts';
import { patternMode } from './ecma-pattern.ts';

/**
 * What the request schemas ask for that the gateway checks differently or not at all, found
 * once at start and reported once each: patterns valid only without the Unicode flag (compiled
 * so), formats ajv has no check for and keywords neither JSON Schema nor OpenAPI defines (both
 * ignored, as OpenAPI allows; with `openapi.strict`, refused). A pattern valid in neither
 * ECMA-262 grammar is an error, since nothing can check it.
 */

/** Keywords that annotate rather than validate (JSON Schema's, and those OpenAPI adds), which ajv need not know. */
const ANNOTATIONS = new Set([
  'title', 'description', 'default', 'examples', 'readOnly', 'writeOnly', 'deprecated', '$comment', 'contentEncoding', 'contentMediaType', 'contentSchema',
  'discriminator', 'xml', 'externalDocs', 'example', 'nullable',
]);

interface Finding {
  readonly where: string;
  count: number;
}

export class SchemaFindings {
  readonly #ajv: Ajv;
  readonly #strict: boolean;
  readonly #legacyPatterns = new Map<string, Finding>();
  readonly #unknownFormats = new Map<string, Finding>();
  readonly #unknownKeywords = new Map<string, Finding>();

  /** `ajv`: the validator of the description's dialect, with the gateway's formats. */
  constructor(ajv: Ajv, strict: boolean) {
    this.#ajv = ajv;
    this.#strict = strict;
  }

  /** Looks at one schema object's own keywords (not its subschemas). `where(keyword)` names a place in it. */
  inspect(schema: Record<string, unknown>, where: (...tokens: string[]) => string): void {
    if (typeof schema.pattern === 'string') this.#pattern(schema.pattern, () => where('pattern'));
    const patternProperties = schema.patternProperties;
    if (patternProperties !== null && typeof patternProperties === 'object') {
      for (const pattern of Object.keys(patternProperties)) this.#pattern(pattern, () => where('patternProperties', pattern));
    }
    if (typeof schema.format === 'string' && this.#ajv.formats[schema.format] === undefined) {
      this.#note(this.#unknownFormats, schema.format, () => where('format'), 'format');
    }
    for (const keyword of Object.keys(schema)) {
      if (keyword.startsWith('x-') || ANNOTATIONS.has(keyword) || this.#ajv.getKeyword(keyword) !== false) continue;
      this.#note(this.#unknownKeywords, keyword, () => where(keyword), 'keyword');
    }
  }

  #pattern(pattern: string, where: () => string): void {
    const mode = patternMode(pattern);
    if (mode === 'unicode') return;
    if (mode === null) throw new OpenApiError(where(), `${JSON.stringify(pattern).slice(0, 80)} is not a valid ECMA-262 regular expression`);
    const seen = this.#legacyPatterns.get(pattern);
    if (seen !== undefined) seen.count++;
    else this.#legacyPatterns.set(pattern, { where: where(), count: 1 });
  }

  #note(findings: Map<string, Finding>, name: string, where: () => string, what: 'format' | 'keyword'): void {
    const seen = findings.get(name);
    if (seen !== undefined) {
      seen.count++;
      return;
    }
    const place = where();
    if (this.#strict) throw new OpenApiError(place, `the ${what} ${JSON.stringify(name).slice(0, 60)} is not one the gateway can check (openapi.strict refuses it)`);
    findings.set(name, { where: place, count: 1 });
  }

  /** One line per pattern, format and keyword, for the start-up log. */
  warnings(): string[] {
    const places = (finding: Finding) => (finding.count > 1 ? `${finding.where} and ${finding.count - 1} more` : finding.where);
    return [
      ...[...this.#legacyPatterns].map(([pattern, finding]) => `pattern ${JSON.stringify(pattern).slice(0, 80)} (${places(finding)}) is valid ECMA-262 only without the Unicode flag: compiled without it`),
      ...[...this.#unknownFormats].map(([format, finding]) => `format ${JSON.stringify(format).slice(0, 60)} (${places(finding)}) has no check: ignored`),
      ...[...this.#unknownKeywords].map(([keyword, finding]) => `keyword ${JSON.stringify(keyword).slice(0, 60)} (${places(finding)}) is not JSON Schema's or OpenAPI's: ignored`),
    ];
  }
}
