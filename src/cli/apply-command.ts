import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import type { KeyRecord } from '../keys/key-record.ts';
import { generateTokenId } from '../keys/key-format.ts';
import { mintKey } from '../keys/mint-key.ts';
import type { AuditActor } from '../store/audit-log.ts';
import type { Store } from '../store/store.ts';
import { printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';
import { parseReason } from './key-settings-flags.ts';
import { parseKeysFile } from './keys-file.ts';
import { planChangesNothing, planKeys, type KeyPlan, type SettingChange } from './key-plan.ts';

/**
 * `portcullis apply -f keys.yaml [--dry-run] [--prune]`: keys as code, as Kong's decK does it
 * for Kong. Prints the plan, then makes the store match the file: creates the keys it lacks
 * (printing each new key once), updates settings, and with --prune revokes the live keys the
 * file no longer names. Every change of one run carries one change-set id in the audit log.
 * Applying the same file again changes nothing.
 */

interface ApplyFlags extends StoreFlags {
  file: string;
  dryRun?: boolean;
  prune?: boolean;
  reason?: string;
  json?: boolean;
}

interface CreatedKey {
  id: string;
  name: string;
  key: string;
}

/** Every key in the store, a page at a time. */
export async function allKeys(store: Store, tag?: string): Promise<KeyRecord[]> {
  const records: KeyRecord[] = [];
  for (let after: string | undefined; ; ) {
    const page = await store.listKeys({ limit: 1000, after, tag });
    records.push(...page);
    if (page.length < 1000) return records;
    after = page.at(-1)?.id;
  }
}

function shown(value: unknown): string {
  if (value === null || (Array.isArray(value) && value.length === 0)) return '-';
  if (Array.isArray(value)) return `[${value.join(', ')}]`;
  if (typeof value === 'object') return Object.keys(value as object).length === 0 ? '-' : JSON.stringify(value);
  return String(value);
}

function shownChange(change: SettingChange): string {
  const time = (value: unknown) => (change.setting === 'expiresAt' && typeof value === 'number' ? new Date(value).toISOString() : value);
  return `      ${change.setting}: ${shown(time(change.from))} → ${shown(time(change.to))}`;
}

/** The plan for a person, one line per change. */
function describePlan(plan: KeyPlan, file: string, prune: boolean): string {
  const lines = [`Plan for ${file}:`];
  for (const declared of plan.create) lines.push(`  + create  ${declared.id ?? '(new id)'}  ${JSON.stringify(declared.settings.name)}`);
  for (const { record, changes } of plan.update) lines.push(`  ~ update  ${record.id}  ${JSON.stringify(record.name)}`, ...changes.map(shownChange));
  for (const record of plan.unnamed) lines.push(prune ? `  - revoke  ${record.id}  ${JSON.stringify(record.name)}: not in the file` : `  ! keep    ${record.id}  ${JSON.stringify(record.name)}: not in the file (--prune revokes it)`);
  const revoking = prune ? plan.unnamed.length : 0;
  lines.push(`Plan: ${plan.create.length} to create, ${plan.update.length} to update, ${revoking} to revoke, ${plan.unchanged.length} unchanged.`);
  return `${lines.join('\n')}\n`;
}

function planJson(plan: KeyPlan, prune: boolean) {
  const named = (record: KeyRecord) => ({ id: record.id, name: record.name });
  return {
    create: plan.create.map((declared) => ({ id: declared.id, name: declared.settings.name })),
    update: plan.update.map(({ record, changes }) => ({ ...named(record), changes })),
    revoke: prune ? plan.unnamed.map(named) : [],
    keep: prune ? [] : plan.unnamed.map(named),
    unchanged: plan.unchanged.length,
  };
}

/** Carries out the plan, creations first; each change is its own transaction, all in one change set. */
async function applyPlan(store: Store, plan: KeyPlan, options: { prefix: string; prune: boolean; reason: string; by: AuditActor }): Promise<CreatedKey[]> {
  const now = Date.now();
  const created: CreatedKey[] = [];
  try {
    await carryOut(store, plan, options, now, created);
  } catch (error) {
    // The keys made before the failure are stored: show them now, or nobody ever sees them.
    for (const key of created) process.stdout.write(`\nCreated ${key.id} for ${JSON.stringify(key.name)} before the failure:\n\n  ${key.key}\n`);
    throw error;
  }
  return created;
}

async function carryOut(store: Store, plan: KeyPlan, options: { prefix: string; prune: boolean; reason: string; by: AuditActor }, now: number, created: CreatedKey[]): Promise<void> {
  for (const declared of plan.create) {
    const minted = mintKey(options.prefix);
    const id = declared.id ?? minted.id;
    await store.createKey({ id, digest: minted.digest, displayPrefix: minted.displayPrefix, ...declared.settings }, now, options.by);
    created.push({ id, name: declared.settings.name, key: minted.key });
  }
  for (const { record, declared } of plan.update) await store.updateKey(record.id, declared.settings, now, options.by);
  if (options.prune) for (const record of plan.unnamed) await store.revokeKey(record.id, options.reason, now, options.by);
}

function readInput(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(`-f: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

export function applyCommand(): Command {
  return storeOptions(new Command('apply'))
    .requiredOption('-f, --file <file>', 'the keys file (YAML or JSON, as keys export writes it; - reads stdin)')
    .option('--dry-run', 'print the plan and change nothing')
    .option('--prune', 'also revoke the live keys the file does not name (within its selector)')
    .option('--reason <text>', 'recorded with each revocation --prune makes (default: "not in FILE")')
    .option('--json', 'print the plan (and the keys created) as one JSON object')
    .action(async (flags: ApplyFlags) => {
      const declared = parseKeysFile(readInput(flags.file), flags.file);
      const reason = parseReason(flags.reason) ?? `not in ${flags.file}`;
      const prune = flags.prune === true;
      await withStore(
        flags,
        async (store, prefix, _config, opened) => {
          const plan = planKeys(declared, await allKeys(store));
          const nothing = planChangesNothing(plan, prune);
          const apply = !nothing && flags.dryRun !== true;
          const by: AuditActor = { actor: 'cli', address: null, changeSet: generateTokenId('apply') };
          if (!flags.json) process.stdout.write(nothing ? `No changes: the store matches ${flags.file} (${declared.keys.length} keys).\n` : describePlan(plan, flags.file, prune));
          const created = apply ? await applyPlan(store, plan, { prefix, prune, reason, by }) : [];
          if (flags.json) printJsonObject({ store: opened.location, file: flags.file, dryRun: flags.dryRun === true, prune, applied: apply, changeSet: apply ? by.changeSet : null, plan: planJson(plan, prune), created });
          else if (apply) {
            for (const key of created) process.stdout.write(`\nCreated ${key.id} for ${JSON.stringify(key.name)}:\n\n  ${key.key}\n`);
            process.stdout.write(`${created.length > 0 ? '\nStore the keys above now: each is shown only this once and cannot be recovered.\n' : ''}Applied (change set ${by.changeSet}).\n`);
          } else if (!nothing) process.stdout.write('Dry run: nothing was changed.\n');
        },
        { jsonNamesStore: true },
      );
    });
}
