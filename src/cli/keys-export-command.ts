import type { Command } from 'commander';
import { note, printJson, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';
import { allKeys } from './apply-command.ts';
import { keysFileDocument, keysFileYaml } from './keys-file.ts';
import { parseTag } from './key-settings-flags.ts';

/**
 * `portcullis keys export [--tag T] > keys.yaml`: every live key's settings (never a secret)
 * as a keys file, ready for review and `portcullis apply -f`. Live: not revoked and not
 * rotated away (a rotated key's settings live on in its replacement).
 */
export function keysExportCommand(keys: Command): Command {
  return storeOptions(keys.command('export').description('write every live key\'s settings (never a secret) as a keys file for apply'))
    .option('--tag <tag>', 'only keys with this tag (the file then selects that tag: apply --prune touches no other key)')
    .option('--json', 'write the keys file as JSON (the same document) instead of YAML')
    .action(async (options: StoreFlags & { tag?: string; json?: boolean }) => {
      const tag = options.tag === undefined ? undefined : parseTag(options.tag);
      await withStore(options, async (store, _prefix, _config, opened) => {
        const live = (await allKeys(store, tag)).filter((record) => record.revokedAt === null && record.rotatedTo === null);
        const document = keysFileDocument(live, tag);
        // The file carries no store: it may be applied to another one.
        if (options.json) printJson(document);
        else process.stdout.write(keysFileYaml(document, opened.location, Date.now()));
        note(`exported ${live.length} key${live.length === 1 ? '' : 's'}${tag === undefined ? '' : ` tagged ${tag}`}`);
      });
    });
}
