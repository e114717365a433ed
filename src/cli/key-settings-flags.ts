import { parseDuration } from '../http/units.ts';
import { UsageError } from './cli-support.ts';
import { createCidrMatcher, InvalidCidrError } from '../http/cidr.ts';
import { checkApiName, checkCertFingerprint, checkQuota, checkRate, checkScope } from '../routes/key-setting-checks.ts';
import { LEAK_ACTIONS, TAG_PATTERN, type LeakAction } from '../keys/key-record.ts';

/**
 * Validation of what a person types for key settings; each message names the flag. The checks
 * themselves are shared with the admin API (src/routes/key-setting-checks.ts).
 */

const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

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

/** `--allow-ip` values, each a valid CIDR (checked by the same compiler the gateway uses). */
export function parseAllowedCidrs(values: readonly string[] | undefined): string[] {
  const cidrs = [...new Set(values ?? [])];
  try {
    createCidrMatcher(cidrs, '--allow-ip');
  } catch (error) {
    if (error instanceof InvalidCidrError) throw new UsageError(error.message);
    throw error;
  }
  return cidrs;
}

/** `--cert-fingerprint`: a SHA-256 fingerprint, hex with or without colons. */
export function parseCertFingerprint(value: string | undefined): string | null {
  if (value === undefined) return null;
  const fingerprint = checkCertFingerprint(value);
  if (!fingerprint.ok) throw new UsageError(`--cert-fingerprint: ${fingerprint.problem}, found ${JSON.stringify(value.slice(0, 100))}`);
  return fingerprint.value;
}

/** `--rate 100/s burst 200` → the canonical policy text stored with the key, or null when absent. */
export function parseRateFlag(value: string | undefined): string | null {
  if (value === undefined) return null;
  const rate = checkRate(value);
  if (!rate.ok) throw new UsageError(`--rate: ${rate.problem}, found ${JSON.stringify(value.slice(0, 40))}`);
  return rate.value;
}

/** `--quota 10000/day` → the canonical policy text stored with the key, or null when absent. */
export function parseQuotaFlag(value: string | undefined): string | null {
  if (value === undefined) return null;
  const quota = checkQuota(value);
  if (!quota.ok) throw new UsageError(`--quota: ${quota.problem}, found ${JSON.stringify(value.slice(0, 40))}`);
  return quota.value;
}

/** `--scope S` (repeatable): what the key may do; `orders:*` and `*` are wildcards (docs: README, Scopes). */
export function parseScopes(values: readonly string[] | undefined): string[] {
  const scopes = [...new Set(values ?? [])];
  for (const scope of scopes) {
    const checked = checkScope(scope);
    if (!checked.ok) throw new UsageError(`--scope: ${checked.problem}, found ${JSON.stringify(scope.slice(0, 40))}`);
  }
  return scopes;
}

/**
 * `--api NAME` (repeatable): the APIs of the gateway the key may be used on; none: every API.
 * When the config lists its APIs (`apis`), a name it does not list is refused: such a key
 * would work nowhere. Without `apis` the names cannot be checked here.
 */
export function parseApis(values: readonly string[] | undefined, configured: readonly string[] | null): string[] {
  const apis = [...new Set(values ?? [])];
  for (const api of apis) {
    const checked = checkApiName(api);
    if (!checked.ok) throw new UsageError(`--api: ${checked.problem}, found ${JSON.stringify(api.slice(0, 40))}`);
    if (configured !== null && !configured.includes(api)) throw new UsageError(`--api: expected one of the APIs of the config (${configured.join(', ')}), found ${JSON.stringify(api)}`);
  }
  return apis;
}

/**
 * `--leak-action notify|quarantine|revoke|inherit`: the key's own action on a leak report or an
 * anomaly finding, over its tags' and the global default; `inherit` (or no flag) clears it.
 */
export function parseLeakAction(value: string | undefined, flag = '--leak-action'): LeakAction | null {
  if (value === undefined || value === 'inherit') return null;
  if (!(LEAK_ACTIONS as readonly string[]).includes(value)) throw new UsageError(`${flag}: expected one of ${LEAK_ACTIONS.join(', ')} or inherit, found ${JSON.stringify(value.slice(0, 40))}`);
  return value as LeakAction;
}
