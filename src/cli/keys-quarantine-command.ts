import type { Command } from 'commander';
import type { KeyRecord } from '../keys/key-record.ts';
import { CLI_ACTOR } from '../store/audit-log.ts';
import { printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';
import { publicKeyView } from './key-output.ts';
import { parseReason } from './key-settings-flags.ts';

/** What both commands print: the key as it is now, and whether this command changed it. */
function report(record: KeyRecord, changed: boolean, location: string, json: boolean | undefined, message: string): void {
  if (json === true) printJsonObject({ store: location, changed, key: publicKeyView(record) });
  else process.stdout.write(`${message}\n`);
}

/** `portcullis keys quarantine ID --reason R`: refuse a key (403 key_quarantined) on every gateway until released. */
export function keysQuarantineCommand(keys: Command): Command {
  return storeOptions(keys.command('quarantine').description('refuse a key (403 key_quarantined) on every gateway within a poll interval, until released or revoked'))
    .argument('<id>', 'key id')
    .requiredOption('--reason <text>', 'why (recorded with the quarantine), such as where the key was found')
    .option('--json', 'print one JSON object with the key and whether it changed')
    .action(async (id: string, options: StoreFlags & { reason: string; json?: boolean }) => {
      const reason = parseReason(options.reason);
      if (reason === null) throw new UsageError('--reason: say why the key is quarantined');
      await withStore(options, async (store, _prefix, _config, opened) => {
        const before = await store.getKeyById(id);
        const record = before === null ? null : await store.quarantineKey(id, reason, Date.now(), CLI_ACTOR);
        if (before === null || record === null) throw new Error(`No key with id ${JSON.stringify(id)}.`);
        // The store changes nothing for a revoked key or one already quarantined (the first reason stands).
        const changed = before.quarantinedAt === null && record.quarantinedAt !== null;
        const message = changed
          ? `Quarantined ${record.id} ("${record.name}"): refused with 403 key_quarantined until \`portcullis keys release ${record.id}\`.`
          : record.revokedAt !== null
            ? `${record.id} ("${record.name}") is revoked; nothing to quarantine.`
            : `${record.id} ("${record.name}") was already quarantined (${record.quarantinedReason ?? 'no reason'}); nothing changed.`;
        report(record, changed, opened.location, options.json, message);
      }, { lookingFor: `No key with id ${JSON.stringify(id)}`, jsonNamesStore: true });
    });
}

/** `portcullis keys release ID [--reason R]`: lift a quarantine. */
export function keysReleaseCommand(keys: Command): Command {
  return storeOptions(keys.command('release').description('lift a key\'s quarantine: it works again on every gateway within a poll interval'))
    .argument('<id>', 'key id')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--json', 'print one JSON object with the key and whether it changed')
    .action(async (id: string, options: StoreFlags & { reason?: string; json?: boolean }) => {
      const reason = parseReason(options.reason);
      await withStore(options, async (store, _prefix, _config, opened) => {
        const before = await store.getKeyById(id);
        if (before === null) throw new Error(`No key with id ${JSON.stringify(id)}.`);
        const record = await store.releaseKey(id, reason, Date.now(), CLI_ACTOR);
        if (record === null) throw new Error(`No key with id ${JSON.stringify(id)}.`);
        const changed = before.quarantinedAt !== null && record.quarantinedAt === null;
        const message = changed
          ? `Released ${record.id} ("${record.name}")${record.revokedAt === null ? '' : ', but it stays revoked'}.`
          : `${record.id} ("${record.name}") is not quarantined; nothing changed.`;
        report(record, changed, opened.location, options.json, message);
      }, { lookingFor: `No key with id ${JSON.stringify(id)}`, jsonNamesStore: true });
    });
}
