import { parseDuration } from '../config/units.ts';
import { UsageError } from './cli-support.ts';

/** Validation of what a person types for key settings; each message names the flag. */

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;
export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function parseKeyName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError('--name: expected the name of the client instance the key is for, such as web-1');
  const name = value.trim();
  if (name.length > 128 || CONTROL_CHARACTERS.test(name)) throw new UsageError(`--name: expected at most 128 characters without control characters, found ${JSON.stringify(name.slice(0, 40))}`);
  return name;
}

export function parseTags(values: readonly string[] | undefined): string[] {
  const tags = [...new Set(values ?? [])];
  for (const tag of tags) {
    if (!TAG_PATTERN.test(tag)) throw new UsageError(`--tag: expected letters, digits and _ . : - (up to 64, starting with a letter or digit), found ${JSON.stringify(tag.slice(0, 40))}`);
  }
  return tags;
}

export function parseTag(value: string): string {
  return parseTags([value])[0] as string;
}

/** `--expires-in 30d` → absolute expiry time, or null when the flag is absent. */
export function parseExpiresIn(value: string | undefined, now: number): number | null {
  if (value === undefined) return null;
  const duration = parseDuration(value);
  if (duration === null || duration === 0) throw new UsageError(`--expires-in: expected a duration such as 12h, 30d or 90d, found ${JSON.stringify(value)}`);
  return now + duration;
}

export function parseGrace(value: string | undefined): number {
  if (value === undefined) return 3_600_000;
  const duration = parseDuration(value);
  if (duration === null) throw new UsageError(`--grace: expected a duration such as 0s, 15m or 1h, found ${JSON.stringify(value)}`);
  return duration;
}

export function parseReason(value: string | undefined): string | null {
  if (value === undefined) return null;
  const reason = value.trim();
  if (reason.length > 500 || CONTROL_CHARACTERS.test(reason)) throw new UsageError('--reason: expected at most 500 characters without control characters');
  return reason === '' ? null : reason;
}
