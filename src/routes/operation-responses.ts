/**
 * What an operation's description documents about its responses, compiled at start
 * (src/openapi/response-shapes.ts) for response checks (`openapi.responseChecks`): the status
 * codes it names and, for each, what its JSON body may hold. Plain data and direct references;
 * recursive schemas make a graph with cycles.
 */

/** JSON types as bits, so a place's documented types are one number. */
export const JSON_TYPE_BITS = {
  object: 1,
  array: 2,
  string: 4,
  number: 8,
  integer: 16,
  boolean: 32,
  null: 64,
} as const;

/** What one place of a response body (the root, a property, array items) may hold. */
export interface ResponseShape {
  /** The JSON types documented here (JSON_TYPE_BITS); 0: any, or not known for sure (a contradiction, an anchor). */
  readonly types: number;
  /** Declared properties and what each may hold. */
  readonly properties: ReadonlyMap<string, ResponseShape>;
  /** `patternProperties`: members whose name matches are documented. */
  readonly patterns: ReadonlyArray<{ readonly pattern: RegExp; readonly shape: ResponseShape }>;
  /**
   * Members that are neither declared nor matched: `open` (documented as anything: the schema
   * allows them, or declares no members at all), `closed` (undocumented), or the shape their
   * values have (`additionalProperties: {schema}`, a map).
   */
  readonly additional: ResponseShape | 'open' | 'closed';
  /** Array items; null: not documented (anything). */
  readonly items: ResponseShape | null;
}

/** The shape of a place the description says nothing about: anything goes, nothing is walked. */
export const ANY_SHAPE: ResponseShape = Object.freeze({ types: 0, properties: new Map(), patterns: [], additional: 'open', items: null });

/** The plain form of a ResponseShape as it crosses from the description's child process: shapes by index (0 is ANY_SHAPE). */
export interface PreparedResponseShape {
  readonly types: number;
  readonly properties: ReadonlyArray<readonly [string, number]>;
  readonly patterns: ReadonlyArray<readonly [string, number]>;
  readonly additional: number | 'open' | 'closed';
  readonly items: number | null;
}

export interface OperationResponses {
  /**
   * Documented status keys as the description writes them (`200`, `2XX`, `default`), each
   * with its JSON body's shape, or null when it documents no JSON body.
   */
  readonly byStatus: ReadonlyMap<string, ResponseShape | null>;
}

/**
 * What the description says about a response with `status`: the exact code, else its range
 * (`2XX`), else `default`. Undefined: the status is not documented. Null: documented, without
 * a JSON body.
 */
export function documentedResponse(responses: OperationResponses, status: number): ResponseShape | null | undefined {
  const byStatus = responses.byStatus;
  const exact = byStatus.get(String(status));
  if (exact !== undefined) return exact;
  const range = byStatus.get(`${Math.floor(status / 100)}XX`);
  if (range !== undefined) return range;
  return byStatus.get('default');
}
