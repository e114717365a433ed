import type { ValidateFunction } from 'ajv';

/**
 * What the gateway checks about one operation's input, compiled from the OpenAPI document at
 * start (src/openapi/). Plain data plus ajv functions: a request never touches the document.
 */

/** How a parameter's text becomes the value its schema is checked against. */
export type ValueType = 'string' | 'number' | 'integer' | 'boolean' | 'json' | 'unchecked';

export interface ParameterSpec {
  /** The name as declared (the key in the validated object and in error pointers). */
  readonly name: string;
  /** The name as looked up: lower case for headers. */
  readonly key: string;
  readonly required: boolean;
  /** An array parameter: repeated (`delimiter` null) or one value split on `delimiter`. */
  readonly array: boolean;
  readonly delimiter: string | null;
  /** Conversion of each value (each item, for arrays). `unchecked`: only presence is checked. */
  readonly valueType: ValueType;
  /** For path parameters: the index of the value among the route table's captures. */
  readonly captureIndex: number;
}

export interface BodyMediaType {
  /** Lower case, as declared: `application/json`, `application/*`, `*\/*`. */
  readonly mediaType: string;
  /** A JSON media type: the body is read (up to the JSON limit), parsed strictly and validated. */
  readonly json: boolean;
  /** Validates the parsed body; null when the media type has no schema. */
  readonly validate: ValidateFunction | null;
}

interface BodySpec {
  readonly required: boolean;
  readonly mediaTypes: readonly BodyMediaType[];
  /** `mediaTypes[i].mediaType`, for matching without allocating. */
  readonly names: readonly string[];
  /** For the 415 detail: the declared media types. */
  readonly accepted: string;
}

export interface OperationValidation {
  readonly path: readonly ParameterSpec[];
  readonly query: readonly ParameterSpec[];
  readonly headers: readonly ParameterSpec[];
  /** Whether query parameters the document does not declare are refused. */
  readonly refuseUnknownQuery: boolean;
  /** The declared request body; null when the operation takes none. */
  readonly body: BodySpec | null;
  /** Validates `{ path, query, headers }` (only the parts that have parameters); null when there are none. */
  readonly validateParameters: ValidateFunction | null;
}
