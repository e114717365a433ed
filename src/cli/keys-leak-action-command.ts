import type { Command } from 'commander';
import { CLI_ACTOR } from '../store/audit-log.ts';
import { printJsonObject, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';
import { publicKeyView } from './key-output.ts';
import { parseLeakAction } from './key-settings-flags.ts';

/**
 * `portcullis keys leak-action ID notify|quarantine|revoke|inherit`: set (or clear) the key's
 * own action on a leak report or an anomaly finding. An audited `key.updated` change, carried
 * to every node by the change feed like any other edit.
 */
export function keysLeakActionCommand(keys: Command): Command {
  return storeOptions(keys.command('leak-action').description('set a key\'s own action on leak reports and anomaly findings (over its tags\' and the default), or inherit them again'))
    .argument('<id>', 'key id')
    .argument('<action>', 'notify, quarantine, revoke, or inherit (clear the key\'s own action)')
    .option('--json', 'print one JSON object with the key and whether it changed')
    .action(async (id: string, given: string, options: StoreFlags & { json?: boolean }) => {
      const leakAction = parseLeakAction(given, 'action');
      await withStore(options, async (store, _prefix, _config, opened) => {
        const before = await store.getKeyById(id);
        const record = before === null ? null : await store.updateKey(id, { leakAction }, Date.now(), CLI_ACTOR);
        if (before === null || record === null) throw new Error(`No key with id ${JSON.stringify(id)}.`);
        const changed = before.leakAction !== record.leakAction;
        if (options.json === true) printJsonObject({ store: opened.location, changed, key: publicKeyView(record) });
        else {
          const now = record.leakAction === null ? 'inherits its tags\' action, else the default' : `gets ${record.leakAction} on a leak report or anomaly finding`;
          process.stdout.write(`${changed ? 'Set' : 'Unchanged'}: ${record.id} ("${record.name}") ${now}.\n`);
        }
      }, { lookingFor: `No key with id ${JSON.stringify(id)}`, jsonNamesStore: true });
    });
}
