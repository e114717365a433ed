import { Command } from 'commander';
import { mintAdminToken } from '../keys/mint-key.ts';
import type { AdminRole, AdminTokenRecord } from '../store/admin-token-store.ts';
import { CLI_ACTOR } from '../store/audit-log.ts';
import { formatTime, printJson, printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';
import { parseKeyName } from './key-settings-flags.ts';

function tokenView(record: AdminTokenRecord) {
  return {
    id: record.id,
    name: record.name,
    role: record.role,
    displayPrefix: record.displayPrefix,
    createdAt: new Date(record.createdAt).toISOString(),
    revokedAt: record.revokedAt === null ? null : new Date(record.revokedAt).toISOString(),
  };
}

function parseRole(value: string): AdminRole {
  if (value !== 'read' && value !== 'write') throw new UsageError(`--role: expected read or write, found ${JSON.stringify(value.slice(0, 20))}`);
  return value;
}

export function adminCommand(): Command {
  const admin = new Command('admin');
  const token = admin.command('token').description('create, list and revoke admin tokens');

  storeOptions(token.command('create').description('create an admin token and print it once'))
    .requiredOption('--role <role>', 'read (look) or write (also create, change, revoke and rotate keys)')
    .option('--name <name>', 'who or what the token is for, such as ops-laptop', 'admin')
    .option('--json', 'print one JSON object with id and token')
    .action(async (options: StoreFlags & { role: string; name: string; json?: boolean }) => {
      const role = parseRole(options.role);
      const name = parseKeyName(options.name);
      await withStore(options, async (store, _prefix, _config, opened) => {
        const minted = mintAdminToken();
        const plaintext = minted.key;
        const record = await store.createAdminToken({ id: minted.id, name, role, digest: minted.digest, displayPrefix: minted.displayPrefix }, Date.now(), CLI_ACTOR);
        if (options.json) printJsonObject({ store: opened.location, ...tokenView(record), token: plaintext });
        else
          process.stdout.write(
            `Created ${role} admin token ${record.id} ("${record.name}"):\n\n  ${plaintext}\n\n` +
              'Store it now: it is shown only this once. Use it as "Authorization: Bearer <token>" on the admin API, or to log in to the dashboard.\n',
          );
      }, { jsonNamesStore: true });
    });

  storeOptions(token.command('list').description('list admin tokens (never their secrets)'))
    .option('--json', 'print a JSON array')
    .action(async (options: StoreFlags & { json?: boolean }) => {
      await withStore(options, async (store) => {
        const tokens = await store.listAdminTokens();
        if (options.json) printJson(tokens.map(tokenView));
        else if (tokens.length === 0) process.stdout.write('No admin tokens. Create one with: portcullis admin token create --role write\n');
        else {
          const rows = tokens.map((record) => `${record.id}  ${record.role.padEnd(5)}  ${(record.revokedAt === null ? 'active' : 'revoked').padEnd(7)}  ${formatTime(record.createdAt)}  ${record.name}`);
          process.stdout.write(`${rows.join('\n')}\n`);
        }
      });
    });

  storeOptions(token.command('revoke').description('revoke an admin token; its dashboard sessions end at their next request'))
    .argument('<id>', 'admin token id, such as adm_…')
    .option('--json', 'print the revoked token as one JSON object')
    .action(async (id: string, options: StoreFlags & { json?: boolean }) => {
      await withStore(options, async (store, _prefix, _config, opened) => {
        const record = await store.revokeAdminToken(id, Date.now(), CLI_ACTOR);
        if (record === null) throw new Error(`No admin token with id ${JSON.stringify(id)}.`);
        if (options.json) printJsonObject({ store: opened.location, ...tokenView(record) });
        else process.stdout.write(`Revoked admin token ${record.id} ("${record.name}")\n`);
      }, { lookingFor: `No admin token with id ${JSON.stringify(id)}`, jsonNamesStore: true });
    });

  return admin;
}
