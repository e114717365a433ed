import { Command } from 'commander';
import { CLI_ACTOR } from '../store/audit-log.ts';
import { isTokenId, revokeDelegatedToken } from '../verify/dpop/revoked-tokens.ts';
import { printJsonObject, UsageError, type StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';
import { parseReason } from './key-settings-flags.ts';

/**
 * `portcullis tokens revoke TOKEN_ID --reason R [--key KEY_ID] [--json]`: one delegated DPoP
 * token refused (401 dpop_token_revoked) on every gateway within a poll interval, while the
 * other tokens of its parent key keep working. The id is the issuing endpoint's `token_id` (the
 * upstream's `X-Portcullis-Token-Id`). The revocation is kept for the longest a token may live
 * (24 h and 5 minutes), then purged. Audited as `token.revoked`.
 */
export function tokensCommand(): Command {
  const tokens = new Command('tokens').description('delegated DPoP tokens (issued to a frontend server\'s key for a browser)');
  storeOptions(tokens.command('revoke').description('refuse one delegated token (401 dpop_token_revoked) on every gateway within a poll interval; its parent key and other tokens keep working'))
    .argument('<token-id>', 'the token\'s id: token_id from the issuing endpoint, X-Portcullis-Token-Id upstream')
    .requiredOption('--reason <text>', 'why (recorded in the audit log)')
    .option('--key <id>', 'the parent key the token was issued to (recorded with the revocation; must exist)')
    .option('--json', 'print one JSON object with the revocation and whether it changed anything')
    .action(async (tokenId: string, options: StoreFlags & { reason: string; key?: string; json?: boolean }) => {
      if (!isTokenId(tokenId)) throw new UsageError('<token-id>: expected 1 to 128 letters, digits, "-" or "_" (the token_id the token was issued with)');
      const reason = parseReason(options.reason);
      if (reason === null) throw new UsageError('--reason: say why the token is revoked');
      await withStore(options, async (store, _prefix, _config, opened) => {
        if (options.key !== undefined && (await store.getKeyById(options.key)) === null) throw new Error(`No key with id ${JSON.stringify(options.key)}.`);
        const result = await revokeDelegatedToken(store, { tokenId, keyId: options.key ?? null, reason }, Date.now(), CLI_ACTOR);
        if (options.json === true) {
          printJsonObject({ store: opened.location, changed: result.revoked, tokenId, keyId: result.keyId === '' ? null : result.keyId, reason, heldUntil: new Date(result.expiresAt).toISOString() });
        } else {
          process.stdout.write(result.revoked ? `Revoked token ${tokenId}: refused with 401 dpop_token_revoked on every gateway within a poll interval.\n` : `Token ${tokenId} was already revoked; nothing changed.\n`);
        }
      }, { jsonNamesStore: true });
    });
  return tokens;
}
