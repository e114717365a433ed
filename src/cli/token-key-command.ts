import type { Command } from 'commander';
import { CLI_ACTOR } from '../store/audit-log.ts';
import { TokenKeyRing } from '../verify/dpop/token-key-ring.ts';
import type { StoreFlags } from './cli-support.ts';
import { storeOptions, withStore } from './command-store.ts';

/**
 * `store rotate-token-key`: a new key pair signs delegated browser tokens from now on; the one
 * it replaces keeps verifying for `dpop.maxTokenLifetime` plus a minute, so tokens already out
 * work until they expire. Every gateway reads the new key within 30 s (at once for a token
 * that names it). Audited as `token_signing_key.rotated`.
 */
export function addTokenKeyCommand(store: Command): void {
  storeOptions(store.command('rotate-token-key').description('sign delegated browser tokens with a new key pair; the old one verifies until its tokens expire'))
    .action(async (flags: StoreFlags) => {
      await withStore(flags, async (opened, _prefix, config) => {
        const overlapMs = (config.dpop.maxTokenLifetime + 60) * 1000;
        const retired = await new TokenKeyRing(opened, { overlapMs }).rotate(CLI_ACTOR);
        const [current] = await opened.listTokenSigningKeys(Date.now());
        process.stdout.write(
          retired === null
            ? `Made the first token signing key, ${current?.kid ?? '?'}.\n`
            : `Token signing key ${current?.kid ?? '?'} signs from now on; ${retired} verifies tokens it signed for ${overlapMs / 1000} s more.\n`,
        );
      });
    });
}
