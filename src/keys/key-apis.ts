/**
 * The APIs a key belongs to (`keys create --api orders`): names of the gateway's APIs
 * (`apis[].name` in the config, or `default` without `apis`). An empty list means every API,
 * which is what a key made without `--api` gets, so keys made before APIs existed keep working.
 */

/** An API name: lower-case letters, digits, `-` and `_`, starting with a letter or digit; at most 63 characters. */
export const API_NAME_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';

const API_NAME = new RegExp(API_NAME_PATTERN);

/** What an API name looks like, for messages. */
export const API_NAME_SYNTAX = 'lower-case letters, digits, - and _, starting with a letter or digit, at most 63 characters';

/**
 * Whether `value` is a valid API name.
 *
 * @example isApiName('orders-v2') // true
 * @example isApiName('Orders') // false
 */
export function isApiName(value: string): boolean {
  return API_NAME.test(value);
}

/**
 * Whether a key whose record lists `apis` may be used on the API named `api`: every API when
 * the list is empty, otherwise only those listed.
 *
 * @example keyAllowsApi([], 'orders') // true
 * @example keyAllowsApi(['billing'], 'orders') // false
 */
export function keyAllowsApi(apis: readonly string[], api: string): boolean {
  return apis.length === 0 || apis.includes(api);
}
