import type { ErrorObject } from 'ajv';
import { denial, type Denial, type ProblemError } from '../../http/error-catalogue.ts';
import { escapeToken as escapePointerToken } from '../../openapi/json-pointer.ts';

/**
 * Turning what was wrong into a bounded problem `errors` list. Pointers and messages may hold
 * client input (a property name the schema does not allow); each is cut to a fixed length and
 * the list to a fixed count, so a response never echoes large input.
 */

const MAX_TEXT = 160;
const MAX_ERRORS = 10;
const DETAIL = 'The request does not match the API description; see errors.';

function bounded(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
}

function invalidRequest(errors: readonly ProblemError[]): Denial {
  return denial('request_invalid', DETAIL, undefined, errors.slice(0, MAX_ERRORS).map(({ pointer, message }) => ({ pointer: bounded(pointer), message: bounded(message) })));
}

/** `prefix` followed by the JSON pointer of `path` (object keys and array indexes, unescaped). */
export function pointerWithin(prefix: string, path: ReadonlyArray<string | number>): string {
  let pointer = prefix;
  for (const token of path) pointer += `/${typeof token === 'number' ? token : escapePointerToken(token)}`;
  return pointer;
}

/** One problem at `pointer` (already escaped). */
export function invalidAt(pointer: string, message: string): Denial {
  return invalidRequest([{ pointer, message }]);
}

/** ajv's errors, with pointers into the request (`prefix` is `/body`, or empty for the parameter object). */
export function fromSchemaErrors(errors: readonly ErrorObject[] | null | undefined, prefix: string): Denial {
  const list: ProblemError[] = [];
  for (const error of errors ?? []) {
    // ajv reports why a property name failed as errors of their own; the `propertyNames` one below says it.
    if ((error as { propertyName?: unknown }).propertyName !== undefined) continue;
    const params = error.params as Record<string, unknown>;
    let pointer = prefix + error.instancePath;
    if (error.keyword === 'required' && typeof params.missingProperty === 'string') pointer += `/${escapePointerToken(params.missingProperty)}`;
    if (error.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') pointer += `/${escapePointerToken(params.additionalProperty)}`;
    if (error.keyword === 'propertyNames' && typeof params.propertyName === 'string') {
      // The only `propertyNames` the gateway adds: a name that differs from a declared one only in case.
      list.push({ pointer: `${pointer}/${escapePointerToken(params.propertyName)}`, message: 'is not an accepted property name (it may differ only in letter case from a declared property)' });
      if (list.length === MAX_ERRORS) break;
      continue;
    }
    list.push({ pointer: pointer === '' ? '/' : pointer, message: error.message ?? `fails ${error.keyword}` });
    if (list.length === MAX_ERRORS) break;
  }
  if (list.length === 0) list.push({ pointer: prefix || '/', message: 'does not match the schema' });
  return invalidRequest(list);
}
