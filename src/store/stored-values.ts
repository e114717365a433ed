import type { NewAdminToken } from './admin-token-store.ts';
import { LEAK_ACTIONS, type LeakAction } from '../keys/key-record.ts';
import type { AuditActor, NewAuditEntry } from './audit-log.ts';
import type { KeySettingsUpdate, KeyUsage, NewKey, QuotaUsageDelta } from './key-store.ts';
import type { ApiUsageMinute, UsageMinute, WouldDenyMinute } from './usage-store.ts';

/** A value a store refuses to write (the same on SQLite and PostgreSQL); thrown before anything is written. */
export class StoredValueError extends RangeError {
  override name = 'StoredValueError';
}

/**
 * What every store does to a value before it writes it, so that SQLite and PostgreSQL keep
 * the same thing and a caller's slip cannot make one of them refuse a whole batch.
 *
 * - **Times** are BIGINT milliseconds in both dialects. The request clock
 *   (`src/http/wall-clock.ts`) reads `performance.now()`, so request times carry fractions of
 *   a millisecond: PostgreSQL refuses `1700000000000.25` for a BIGINT, and SQLite would keep it
 *   as a REAL (and hash it into the audit chain as such). A time is floored to its millisecond
 *   here, at the boundary, whoever the caller is.
 * - **Counts** must already be whole, non-negative and exact in a double: a fraction or an
 *   overflowed count is a bug upstream, and is refused rather than rounded into the totals.
 * - **Text** may not hold U+0000, which PostgreSQL cannot store (TEXT or JSONB) and SQLite can,
 *   nor a lone surrogate, which JSONB refuses and both drivers would write as U+FFFD. Both are
 *   refused in both stores, so a key one store accepts is never one the other refuses (and
 *   `store migrate` never meets a row it cannot copy), and text reads back as it was written.
 *
 * Refusals are `RangeError`s (see `store-errors.ts`: the writer must not retry them).
 */

/** A time (ms since the epoch) as stored: floored to a whole millisecond. */
export function storedTime(value: number, field: string): number {
  const whole = Math.floor(value);
  if (!Number.isSafeInteger(whole)) throw new StoredValueError(`${field} must be a time in milliseconds, got ${value}`);
  return whole;
}

/**
 * A time that bounds a query of an integer column (`minute >= from`, `minute < to`): rounded
 * up, which keeps the comparison exactly as it was for every whole value (PostgreSQL refuses a
 * fractional BIGINT parameter; SQLite would compare it as given).
 */
export function storedBound(value: number, field: string): number {
  return storedTime(Math.ceil(value), field);
}

/** A length of time that divides a query's window (`usageSteps`): a whole number of milliseconds, at least 1. */
export function storedStep(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new StoredValueError(`${field} must be a whole number of milliseconds, at least 1, got ${value}`);
  return value;
}

/** `storedTime`, keeping null. */
function storedOptionalTime(value: number | null, field: string): number | null {
  return value === null ? null : storedTime(value, field);
}

/**
 * An integer read back as a BigInt (SQLite's `safeIntegers`), as a number: a sum that grew past
 * 2^53 − 1 is refused rather than rounded, as the PostgreSQL store's BIGINT parser does.
 */
function exactNumber(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new StoredValueError(`BIGINT ${value} does not fit a JavaScript number`);
  return Number(value);
}

/** A row read with `safeIntegers`, its integers as numbers (see exactNumber). */
export function exactRow<R>(row: Record<string, unknown>): R {
  const converted: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(row)) converted[name] = typeof value === 'bigint' ? exactNumber(value) : value;
  return converted as R;
}

/** A counter or byte count as stored: a whole number from 0 to 2^53 − 1. */
function storedCount(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new StoredValueError(`${field} must be a whole number from 0 to 2^53 - 1, got ${value}`);
  return value;
}

/** Text as stored: well-formed Unicode without U+0000. */
export function storedText<T extends string | null>(value: T, field: string): T {
  if (value === null) return value;
  if (value.includes('\u0000')) throw new StoredValueError(`${field} may not contain U+0000 (PostgreSQL cannot store it)`);
  // A lone surrogate: both drivers write it as U+FFFD (so it would not read back as written), and JSONB refuses it.
  if (!value.isWellFormed()) throw new StoredValueError(`${field} must be well-formed Unicode (it has a lone surrogate)`);
  return value;
}

/** SQLite's `json_valid` refuses JSON nested deeper than this (SQLITE_JSON_MAX_DEPTH). */
const MAX_JSON_DEPTH = 1000;

/** Checks every string and property name in a JSON value; returns it unchanged. */
function storedJson<T>(value: T, field: string): T {
  checkJsonText(value, field, 0);
  return value;
}

function checkJsonText(value: unknown, field: string, depth: number): void {
  if (typeof value === 'string') {
    storedText(value, field);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  // The depth bound keeps this walk finite on a cycle (JSON.stringify would throw on it anyway).
  if (depth + 1 > MAX_JSON_DEPTH) throw new StoredValueError(`${field} is nested more than ${MAX_JSON_DEPTH} levels deep`);
  if (Array.isArray(value)) {
    for (const item of value) checkJsonText(item, field, depth + 1);
    return;
  }
  for (const [name, item] of Object.entries(value)) {
    storedText(name, field);
    checkJsonText(item, field, depth + 1);
  }
}

/** A JSON object (the key's `metadata`): PostgreSQL's column checks for one, SQLite's only for JSON. */
function storedObject(value: Record<string, unknown>, field: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new StoredValueError(`${field} must be a JSON object`);
  return storedJson(value, field);
}

/** A list of strings (tags, scopes, CIDRs, APIs). */
function storedList(value: string[], field: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new StoredValueError(`${field} must be a list of strings`);
  return storedJson(value, field);
}

/**
 * The longest tag, in UTF-16 units. Tags are indexed (`key_tags`), and a PostgreSQL B-tree
 * entry cannot exceed 2704 bytes; 256 units are at most 768 bytes of UTF-8 (the CLI and the
 * admin API allow 64).
 */
const MAX_TAG_LENGTH = 256;

function storedTags(tags: string[]): string[] {
  const checked = storedList(tags, 'tags');
  for (const tag of checked) if (tag.length > MAX_TAG_LENGTH) throw new StoredValueError(`a tag may be at most ${MAX_TAG_LENGTH} characters, got ${tag.length}`);
  return checked;
}

/** A key's own leak action, one of `LEAK_ACTIONS` or null (the column's CHECK, said before the write). */
function storedLeakAction(action: LeakAction | null): LeakAction | null {
  if (action !== null && !LEAK_ACTIONS.includes(action)) throw new StoredValueError(`leakAction must be one of ${LEAK_ACTIONS.join(', ')} or null, got ${JSON.stringify(String(action)).slice(0, 40)}`);
  return action;
}

/** A new key's row with every value checked and its expiry floored. */
export function storedNewKey(key: NewKey): NewKey {
  return {
    id: storedText(key.id, 'id'),
    digest: storedText(key.digest, 'digest'),
    displayPrefix: storedText(key.displayPrefix, 'displayPrefix'),
    name: storedText(key.name, 'name'),
    tags: storedTags(key.tags),
    scopes: storedList(key.scopes, 'scopes'),
    allowedCidrs: storedList(key.allowedCidrs, 'allowedCidrs'),
    certFingerprint: storedText(key.certFingerprint, 'certFingerprint'),
    signingKey: storedText(key.signingKey ?? null, 'signingKey'),
    apis: storedList(key.apis ?? [], 'apis'),
    leakAction: storedLeakAction(key.leakAction ?? null),
    rateLimit: storedText(key.rateLimit, 'rateLimit'),
    quota: storedText(key.quota, 'quota'),
    metadata: storedObject(key.metadata, 'metadata'),
    expiresAt: storedOptionalTime(key.expiresAt, 'expiresAt'),
  };
}

/** The replacement row of a rotation: only its own id, digest and prefix are new. */
export function storedReplacement(replacement: Pick<NewKey, 'id' | 'digest' | 'displayPrefix'>): Pick<NewKey, 'id' | 'digest' | 'displayPrefix'> {
  return { id: storedText(replacement.id, 'id'), digest: storedText(replacement.digest, 'digest'), displayPrefix: storedText(replacement.displayPrefix, 'displayPrefix') };
}

/** An update's changes, checked; absent fields stay absent. */
export function storedSettingsUpdate(changes: KeySettingsUpdate): KeySettingsUpdate {
  const checked: KeySettingsUpdate = { ...changes };
  if (changes.name !== undefined) checked.name = storedText(changes.name, 'name');
  if (changes.tags !== undefined) checked.tags = storedTags(changes.tags);
  for (const field of ['scopes', 'allowedCidrs', 'apis'] as const) {
    const list = changes[field];
    if (list !== undefined) checked[field] = storedList(list, field);
  }
  for (const field of ['certFingerprint', 'signingKey', 'rateLimit', 'quota'] as const) {
    const text = changes[field];
    if (text !== undefined) checked[field] = storedText(text, field);
  }
  if (changes.leakAction !== undefined) checked.leakAction = storedLeakAction(changes.leakAction);
  if (changes.metadata !== undefined) checked.metadata = storedObject(changes.metadata, 'metadata');
  if (changes.expiresAt !== undefined) checked.expiresAt = storedOptionalTime(changes.expiresAt, 'expiresAt');
  return checked;
}

/** Who made a change, checked (an admin token id and a client address). */
export function storedActor(by: AuditActor): AuditActor {
  const actor: AuditActor = { actor: storedText(by.actor, 'actor'), address: storedText(by.address, 'actor address') };
  if (by.changeSet !== undefined) actor.changeSet = storedText(by.changeSet, 'change set');
  return actor;
}

/** An audit entry as it is chained and stored: its time floored, its text checked. */
export function storedAuditEntry(entry: NewAuditEntry): NewAuditEntry {
  return {
    at: storedTime(entry.at, 'audit time'),
    actor: storedText(entry.actor, 'actor'),
    address: storedText(entry.address, 'actor address'),
    action: entry.action,
    target: storedText(entry.target, 'audit target'),
    reason: storedText(entry.reason, 'reason'),
    details: storedText(entry.details, 'audit details'),
  };
}

export function storedAdminToken(token: NewAdminToken): NewAdminToken {
  return { id: storedText(token.id, 'id'), name: storedText(token.name, 'name'), role: token.role, digest: storedText(token.digest, 'digest'), displayPrefix: storedText(token.displayPrefix, 'displayPrefix') };
}

/** A batch of last uses, checked; a time is floored like any other. */
export function storedKeyUsage(batch: readonly KeyUsage[]): KeyUsage[] {
  return batch.map((usage) => ({ keyId: storedText(usage.keyId, 'keyId'), lastUsedAt: storedTime(usage.lastUsedAt, 'lastUsedAt'), lastUsedAddress: storedText(usage.lastUsedAddress, 'lastUsedAddress') }));
}

/** A batch of quota counts, checked: the period start floored, the counts whole. */
export function storedQuotaUsage(batch: readonly QuotaUsageDelta[]): QuotaUsageDelta[] {
  return batch.map((delta) => ({ keyId: storedText(delta.keyId, 'keyId'), periodStart: storedTime(delta.periodStart, 'periodStart'), used: storedCount(delta.used, 'quota count') }));
}

const MINUTE = 60_000;

/** The start of the minute a time falls in, as stored (the usage tables' `minute`). */
function storedMinute(value: number): number {
  const time = storedTime(value, 'minute');
  return time - (((time % MINUTE) + MINUTE) % MINUTE);
}

/** A batch of would-denies as stored: '' for no key (the primary key has no NULL). */
export function storedWouldDenyMinutes(batch: readonly WouldDenyMinute[]): Array<Omit<WouldDenyMinute, 'keyId'> & { keyId: string }> {
  return batch.map((row) => ({
    minute: storedMinute(row.minute),
    code: storedText(row.code, 'would-deny code'),
    api: storedText(row.api, 'api'),
    route: storedText(row.route, 'route'),
    keyId: row.keyId === null ? '' : storedText(row.keyId, 'keyId'),
    requests: storedCount(row.requests, 'requests'),
  }));
}

/** A batch of per-minute usage, checked: minutes floored, counts whole, codes and addresses text. */
export function storedUsageMinutes(batch: readonly UsageMinute[]): UsageMinute[] {
  return batch.map((usage) => {
    const denials: Record<string, number> = {};
    for (const [code, count] of Object.entries(usage.denials)) denials[storedText(code, 'denial code')] = storedCount(count, 'denial count');
    return {
      keyId: storedText(usage.keyId, 'keyId'),
      minute: storedMinute(usage.minute),
      requests: storedCount(usage.requests, 'requests'),
      bytesIn: storedCount(usage.bytesIn, 'bytesIn'),
      bytesOut: storedCount(usage.bytesOut, 'bytesOut'),
      denials,
      addresses: usage.addresses.map((address) => storedText(address, 'address')),
      websocketsOpened: storedCount(usage.websocketsOpened ?? 0, 'websocketsOpened'),
      websocketsPeak: storedCount(usage.websocketsPeak ?? 0, 'websocketsPeak'),
    };
  });
}

/** A batch of per-API counts as stored: minutes floored, names and outcomes text, counts whole. */
export function storedApiUsageMinutes(batch: readonly ApiUsageMinute[]): ApiUsageMinute[] {
  return batch.map((row) => ({
    minute: storedMinute(row.minute),
    api: storedText(row.api, 'api'),
    outcome: storedText(row.outcome, 'outcome'),
    requests: storedCount(row.requests, 'requests'),
  }));
}
