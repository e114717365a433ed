import { isDeepStrictEqual } from 'node:util';
import type { KeyRecord, KeySettings } from '../keys/key-record.ts';
import type { DeclaredKey, KeysFile } from './keys-file.ts';

/**
 * What `portcullis apply` would do to make a store match a keys file, worked out before
 * anything is written (and all that `--dry-run` does). Pure: the store's keys in, a plan out.
 *
 * Which stored key a declared key is: the one with its `id`; without an id, the one live key
 * with its `name` (live: neither revoked nor rotated away). A declared key that matches none
 * is created (keeping a declared id, so that applying the same file again finds it). Live keys
 * the file does not name (within its selector) are revoked only with `--prune`.
 */

/** The settings `apply` compares and sets, in the order a diff lists them. */
const DECLARED_SETTINGS = ['name', 'tags', 'scopes', 'apis', 'allowedCidrs', 'certFingerprint', 'rateLimit', 'quota', 'expiresAt', 'metadata', 'leakAction'] as const satisfies readonly (keyof KeySettings)[];

export interface SettingChange {
  setting: (typeof DECLARED_SETTINGS)[number];
  from: unknown;
  to: unknown;
}

export interface KeyPlan {
  create: DeclaredKey[];
  update: Array<{ record: KeyRecord; declared: DeclaredKey; changes: SettingChange[] }>;
  /** Live keys the file does not name: revoked with --prune, otherwise kept (and listed). */
  unnamed: KeyRecord[];
  unchanged: KeyRecord[];
}

/** A declared key that cannot be applied as written; nothing is changed when there is one. */
class PlanConflict extends Error {
  override name = 'PlanConflict';
}

function isLive(record: KeyRecord): boolean {
  return record.revokedAt === null && record.rotatedTo === null;
}

function settingChanges(record: KeyRecord, settings: KeySettings): SettingChange[] {
  return DECLARED_SETTINGS.filter((setting) => !isDeepStrictEqual(record[setting], settings[setting])).map((setting) => ({ setting, from: record[setting], to: settings[setting] }));
}

/** The stored key a declared key names, or null to create it; throws PlanConflict when it cannot be told. */
function matchOf(declared: DeclaredKey, byId: ReadonlyMap<string, KeyRecord>, liveByName: ReadonlyMap<string, KeyRecord[]>, claimed: ReadonlySet<string>): KeyRecord | null {
  if (declared.id !== null) {
    const record = byId.get(declared.id);
    if (record === undefined) return null;
    if (record.revokedAt !== null) throw new PlanConflict(`${declared.where}: ${record.id} is revoked, and a revocation cannot be undone: remove its id to issue a new key, or remove the entry`);
    if (record.rotatedTo !== null) throw new PlanConflict(`${declared.where}: ${record.id} was rotated to ${record.rotatedTo}: declare ${record.rotatedTo} instead`);
    return record;
  }
  const candidates = (liveByName.get(declared.settings.name) ?? []).filter((record) => !claimed.has(record.id));
  if (candidates.length > 1) throw new PlanConflict(`${declared.where}: ${candidates.length} live keys are named ${JSON.stringify(declared.settings.name)} (${candidates.map((record) => record.id).join(', ')}): give the entry the id of the one it declares`);
  return candidates[0] ?? null;
}

/**
 * The plan that makes `stored` (every key of the store) match `file`. Declared ids are
 * matched first, so a name can never take a key another entry names by id.
 */
export function planKeys(file: KeysFile, stored: readonly KeyRecord[]): KeyPlan {
  const byId = new Map(stored.map((record) => [record.id, record]));
  const inScope = (record: KeyRecord) => file.selector === null || record.tags.includes(file.selector.tag);
  const liveByName = new Map<string, KeyRecord[]>();
  for (const record of stored) if (isLive(record) && inScope(record)) liveByName.set(record.name, [...(liveByName.get(record.name) ?? []), record]);
  const unnamedIds = new Map<string, string>();
  for (const declared of file.keys.filter((key) => key.id === null)) {
    const first = unnamedIds.get(declared.settings.name);
    if (first !== undefined) throw new PlanConflict(`${declared.where}: ${first} has the same name and no id either, so a later apply could not tell them apart: give them ids or different names`);
    unnamedIds.set(declared.settings.name, declared.where);
  }
  const claimed = new Set(file.keys.flatMap((declared) => (declared.id === null ? [] : [declared.id])));
  const plan: KeyPlan = { create: [], update: [], unnamed: [], unchanged: [] };
  const named = new Set<string>();
  for (const declared of [...file.keys.filter((key) => key.id !== null), ...file.keys.filter((key) => key.id === null)]) {
    const record = matchOf(declared, byId, liveByName, new Set([...claimed, ...named]));
    if (record === null) {
      plan.create.push(declared);
      continue;
    }
    named.add(record.id);
    const changes = settingChanges(record, declared.settings);
    if (changes.length === 0) plan.unchanged.push(record);
    else plan.update.push({ record, declared, changes });
  }
  plan.unnamed = stored.filter((record) => isLive(record) && inScope(record) && !named.has(record.id));
  return plan;
}

/** Whether applying the plan (with or without --prune) changes anything. */
export function planChangesNothing(plan: KeyPlan, prune: boolean): boolean {
  return plan.create.length === 0 && plan.update.length === 0 && (!prune || plan.unnamed.length === 0);
}
