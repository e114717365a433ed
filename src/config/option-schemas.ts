import type { OptionSchema } from './config-fragment.ts';

/** Schemas that many options share. */

/** A duration (`30s`, `5m`, or milliseconds) with its default. */
export function duration(description: string, defaultValue: string): OptionSchema {
  return { type: ['string', 'integer'], format: 'duration', default: defaultValue, description };
}

/** A list of CIDRs, empty by default, set by a repeatable flag. */
export function cidrList(flag: string, description: string): OptionSchema {
  return { type: 'array', items: { type: 'string', format: 'cidr' }, default: [], 'x-flag': flag, description };
}

/** A file that is unset by default. */
export function optionalFile(description: string, flag?: string): OptionSchema {
  return { type: ['string', 'null'], format: 'file-path', default: null, ...(flag === undefined ? {} : { 'x-flag': flag }), description };
}
