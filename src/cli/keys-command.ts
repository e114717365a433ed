import { Command } from 'commander';
import { mintKey } from '../keys/mint-key.ts';
import { CLI_ACTOR } from '../store/audit-log.ts';
import { collect, printJson, printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';
import { formatKeyDetail, formatKeyTable, publicKeyView } from './key-output.ts';
import { parseAllowedCidrs, parseCertFingerprint, parseExpiresIn, parseGrace, parseKeyName, parseQuotaFlag, parseRateFlag, parseReason, parseScopes, parseTag, parseTags, parseApis, parseLeakAction } from './key-settings-flags.ts';
import { readCertificateFingerprint, readSigningKeyFile } from './certificate-file.ts';
import { describeLimits } from './key-limits-output.ts';
import { keysExportCommand } from './keys-export-command.ts';
import { keysImportCommand } from './keys-import-command.ts';
import { keysQuarantineCommand, keysReleaseCommand } from './keys-quarantine-command.ts';
import { keysLeakActionCommand } from './keys-leak-action-command.ts';

const SHOWN_ONCE = 'Store it now: the key is shown only this once and cannot be recovered.';

/** `portcullis keys create|list|show|revoke|quarantine|release|leak-action|rotate|export|import`, in that order in the help. */
export function keysCommand(): Command {
  const keys = new Command('keys');
  keysCreateCommand(keys);
  keysListCommand(keys);
  keysShowCommand(keys);
  keysRevokeCommand(keys);
  keysQuarantineCommand(keys);
  keysReleaseCommand(keys);
  keysLeakActionCommand(keys);
  keysRotateCommand(keys);
  keysExportCommand(keys);
  keysImportCommand(keys);
  return keys;
}

function keysCreateCommand(keys: Command): Command {
  return storeOptions(keys.command('create').description('create a key for one client instance'))
    .requiredOption('--name <name>', 'the client instance the key belongs to, such as web-1')
    .option('--tag <tag>', 'a tag for grouping (repeatable); revoke --tag bans every key with it', collect)
    .option('--scope <scope>', 'what the key may do (repeatable), such as orders:read; orders:* and * are wildcards', collect)
    .option('--expires-in <duration>', 'expire after this long, such as 30d')
    .option('--allow-ip <cidr>', 'the key works only from this client range (repeatable), such as 10.0.0.0/8', collect)
    .option('--cert-fingerprint <sha256>', 'bind the key to a client certificate: it works only on a TLS connection presenting it')
    .option('--cert <file>', 'bind the key to this PEM client certificate (its SHA-256 fingerprint is stored)')
    .option('--signing-key <file>', 'bind the key to this PEM public key (Ed25519, ECDSA P-256 or RSA): every request must then be signed with it (RFC 9421)')
    .option('--rate <rate>', 'rate limit for this key instead of limits.keyRate, such as 100/s or "100/s burst 200"')
    .option('--quota <quota>', 'request quota for this key instead of limits.keyQuota, such as 10000/day or 300000/month')
    .option('--api <name>', 'an API of the gateway (apis[].name) the key may be used on (repeatable); default: every API', collect)
    .option('--leak-action <action>', 'this key\'s own action on a leak report or anomaly finding (notify, quarantine or revoke), over its tags\' and the default; default: inherit')
    .option('--json', 'print one JSON object with id and key')
    .action(async (options: StoreFlags & { name: string; tag?: string[]; scope?: string[]; api?: string[]; expiresIn?: string; allowIp?: string[]; certFingerprint?: string; cert?: string; signingKey?: string; rate?: string; quota?: string; leakAction?: string; json?: boolean }) => {
      const now = Date.now();
      if (options.cert !== undefined && options.certFingerprint !== undefined) throw new UsageError('keys create: give --cert FILE or --cert-fingerprint SHA256, not both');
      const certFingerprint = options.cert !== undefined ? await readCertificateFingerprint(options.cert, '--cert') : parseCertFingerprint(options.certFingerprint);
      const settings = {
        name: parseKeyName(options.name),
        tags: parseTags(options.tag),
        expiresAt: parseExpiresIn(options.expiresIn, now),
        scopes: parseScopes(options.scope),
        allowedCidrs: parseAllowedCidrs(options.allowIp),
        certFingerprint,
        signingKey: readSigningKeyFile(options.signingKey, '--signing-key'),
        rateLimit: parseRateFlag(options.rate),
        quota: parseQuotaFlag(options.quota),
        apis: parseApis(options.api, null),
        leakAction: parseLeakAction(options.leakAction),
      };
      // The one key command that may create the store: the first key of a new deployment.
      await withStore(
        options,
        async (store, prefix, config, opened) => {
          // Checked against the config's APIs here, where the config is loaded.
          parseApis(settings.apis, config.apis.length > 0 ? config.apis.map((api) => api.name) : null);
          const minted = mintKey(prefix);
          const record = await store.createKey(
            { id: minted.id, digest: minted.digest, displayPrefix: minted.displayPrefix, ...settings, metadata: {} },
            now,
            CLI_ACTOR,
          );
          if (options.json) printJsonObject({ store: opened.location, ...publicKeyView(record, now), key: minted.key });
          else process.stdout.write(`Created key ${record.id} for "${record.name}":\n\n  ${minted.key}\n\n${SHOWN_ONCE}\n`);
        },
        { create: true, jsonNamesStore: true },
      );
    });
}

function keysListCommand(keys: Command): Command {
  return storeOptions(keys.command('list').description('list keys'))
    .option('--tag <tag>', 'only keys with this tag')
    .option('--limit <n>', 'at most this many (default 100, up to 1000)')
    .option('--after <id>', 'page: keys whose id sorts after this one')
    .option('--json', 'print a JSON array')
    .action(async (options: StoreFlags & { tag?: string; limit?: string; after?: string; json?: boolean }) => {
      const limit = options.limit === undefined ? undefined : Number(options.limit);
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 1000)) throw new UsageError(`--limit: expected a whole number from 1 to 1000, found ${JSON.stringify(options.limit)}`);
      await withStore(options, async (store) => {
        const records = await store.listKeys({ tag: options.tag === undefined ? undefined : parseTag(options.tag), limit, after: options.after });
        if (options.json) printJson(records.map((record) => publicKeyView(record)));
        else process.stdout.write(records.length === 0 ? 'No keys. Create one with: portcullis keys create --name NAME\n' : `${formatKeyTable(records)}\n`);
      });
    });
}

function keysShowCommand(keys: Command): Command {
  return storeOptions(keys.command('show').description('show one key (never its secret)'))
    .argument('<id>', 'key id, such as key_…')
    .option('--json', 'print a JSON object')
    .action(async (id: string, options: StoreFlags & { json?: boolean }) => {
      await withStore(
        options,
        async (store, _prefix, config, opened) => {
          const record = await store.getKeyById(id);
          if (record === null) throw new Error(`No key with id ${JSON.stringify(id)}.`);
          const limits = describeLimits(record, config, await store.getQuotaUsage(record.id), Date.now());
          if (options.json) printJsonObject({ store: opened.location, ...publicKeyView(record), limits: limits.json });
          else process.stdout.write(`${formatKeyDetail(record)}\n${limits.text}\n`);
        },
        { lookingFor: `No key with id ${JSON.stringify(id)}`, jsonNamesStore: true },
      );
    });
}

function keysRevokeCommand(keys: Command): Command {
  return storeOptions(keys.command('revoke').description('revoke a key, or every key with a tag; effective on every gateway within a poll interval'))
    .argument('[id]', 'key id')
    .option('--tag <tag>', 'revoke every key carrying this tag')
    .option('--reason <text>', 'why (recorded with the revocation)')
    .option('--json', 'print the revoked keys as a JSON array')
    .action(async (id: string | undefined, options: StoreFlags & { tag?: string; reason?: string; json?: boolean }) => {
      if ((id === undefined) === (options.tag === undefined)) throw new UsageError('revoke: give exactly one of a key id or --tag TAG');
      const reason = parseReason(options.reason);
      const lookingFor = id === undefined ? undefined : `No key with id ${JSON.stringify(id)}`;
      await withStore(options, async (store) => {
        const now = Date.now();
        let revoked;
        if (id !== undefined) {
          const record = await store.revokeKey(id, reason, now, CLI_ACTOR);
          if (record === null) throw new Error(`No key with id ${JSON.stringify(id)}.`);
          revoked = [record];
        } else revoked = await store.revokeKeysByTag(parseTag(options.tag as string), reason, now, CLI_ACTOR);
        if (options.json) printJson(revoked.map((record) => publicKeyView(record, now)));
        else if (revoked.length === 0) process.stdout.write(`No unrevoked keys carry the tag ${JSON.stringify(options.tag)}.\n`);
        else process.stdout.write(revoked.map((record) => `Revoked ${record.id} ("${record.name}")`).join('\n') + '\n');
      }, { lookingFor });
    });
}

function keysRotateCommand(keys: Command): Command {
  return storeOptions(keys.command('rotate').description('issue a replacement key with the same settings; the old one works until the grace period ends'))
    .argument('<id>', 'key id')
    .option('--grace <duration>', 'how long the old key keeps working (default 1h; 0s ends it now)')
    .option('--json', 'print one JSON object with the new id and key')
    .action(async (id: string, options: StoreFlags & { grace?: string; json?: boolean }) => {
      const grace = parseGrace(options.grace);
      await withStore(options, async (store, prefix, _config, opened) => {
        const now = Date.now();
        const minted = mintKey(prefix);
        const result = await store.rotateKey(id, { id: minted.id, digest: minted.digest, displayPrefix: minted.displayPrefix }, now + grace, now, CLI_ACTOR);
        if (result === null) throw new Error(`No key with id ${JSON.stringify(id)}.`);
        if (options.json) {
          printJsonObject({ store: opened.location, ...publicKeyView(result.newKey, now), key: minted.key, replaces: result.oldKey.id, oldKeyExpiresAt: new Date(result.oldKey.expiresAt as number).toISOString() });
        }
        else
          process.stdout.write(
            `Rotated ${result.oldKey.id}: the new key is ${result.newKey.id}:\n\n  ${minted.key}\n\n${SHOWN_ONCE}\nThe old key stops working at ${new Date(result.oldKey.expiresAt as number).toISOString()}.\n`,
          );
      }, { lookingFor: `No key with id ${JSON.stringify(id)}`, jsonNamesStore: true });
    });
}
