import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../../config/config-error.ts';
import type { ConfigFragment } from '../../config/config-fragment.ts';
import { optionalFile } from '../../config/option-schemas.ts';
import { readTagActions, tagActionsOption } from '../../keys/tag-actions.ts';
import type { Policy } from '../policy.ts';
import { AlertPublicKeysError, parseAlertPublicKeys, type AlertPublicKeys } from './alert-public-keys.ts';
import { LEAK_ALERT_ACTIONS, LeakAlertCheck, type LeakAlertAction } from './leak-alert-check.ts';

interface LeakAlertSettings {
  leaks: { alerts: { enabled: boolean; path: string; publicKeys: AlertPublicKeys | null; action: LeakAlertAction; tagActions: ReadonlyMap<string, LeakAlertAction> } };
}

interface RawLeakAlerts {
  leaks: { alerts: { enabled: boolean; path: string; publicKeysFile: string | null; action: LeakAlertAction; tagActions: string[] } };
}

const leakAlertsConfig: ConfigFragment<LeakAlertSettings> = {
  options: {
    'leaks.alerts.enabled': { type: 'boolean', default: false, description: 'Answer secret-scanning alerts (GitHub\'s secret scanning partner programme) on `leaks.alerts.path` of the public listener; needs `leaks.alerts.publicKeysFile`. See [leaks.md](leaks.md#secret-scanning-alerts).' },
    'leaks.alerts.path': {
      type: 'string',
      pattern: '^/[A-Za-z0-9._~/-]*$',
      default: '/.well-known/portcullis/secret-scanning',
      description: 'The path alerts are posted to (matched exactly, after canonicalisation). It is answered before routes and key auth, so it needs no route and no key.',
    },
    'leaks.alerts.publicKeysFile': optionalFile('The public keys that sign alerts, as JSON in the format GitHub publishes at `https://api.github.com/meta/public_keys/secret_scanning` (`{"public_keys": [{"key_identifier", "key", "is_current"}]}`); ECDSA P-256 keys in PEM. Read at start.'),
    'leaks.alerts.action': { type: 'string', enum: ['quarantine', 'revoke'], default: 'quarantine', description: 'What a reported key of this store gets: `quarantine` (403 `key_quarantined` until an operator releases or revokes it) or `revoke`. Quarantine by default: anyone can publish a key they hold, so revoking on a report lets a client\'s own leak, or a malicious push, take its access away for good.' },
    'leaks.alerts.tagActions': tagActionsOption(LEAK_ALERT_ACTIONS, 'Actions by key tag, over `leaks.alerts.action`, as `TAG=ACTION` (`publishable=quarantine`, `internal=revoke`); a key with several such tags gets the strongest (revoke over quarantine).'),
  },
  read(document, { cwd }) {
    const raw = (document as unknown as RawLeakAlerts).leaks.alerts;
    const tagActions = readTagActions<LeakAlertAction>('leaks.alerts.tagActions', raw.tagActions);
    if (!raw.enabled) return { leaks: { alerts: { enabled: false, path: raw.path, publicKeys: null, action: raw.action, tagActions } } };
    if (raw.publicKeysFile === null) throw new ConfigError(['leaks.alerts.publicKeysFile: expected the file of public keys that sign alerts (leaks.alerts.enabled is true), found nothing']);
    return { leaks: { alerts: { enabled: true, path: raw.path, publicKeys: readPublicKeys(resolve(cwd, raw.publicKeysFile)), action: raw.action, tagActions } } };
  },
};

/** The public key list, compiled at start: a missing file or a bad key stops the start (exit 2). */
function readPublicKeys(file: string): AlertPublicKeys {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`leaks.alerts.publicKeysFile: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`]);
  }
  try {
    return parseAlertPublicKeys(text);
  } catch (error) {
    if (error instanceof AlertPublicKeysError) throw new ConfigError([`leaks.alerts.publicKeysFile: ${file}: ${error.message}`]);
    throw error;
  }
}

/** Stage 5: secret-scanning alerts answered on their own path, before CORS, routes and keys. Off unless `leaks.alerts.enabled`. */
export const leakAlerts: Policy<LeakAlertSettings> = {
  name: 'leak-alerts',
  stage: 5,
  config: leakAlertsConfig,
  create(config, { store, logger, repeatedErrors }) {
    const { enabled, path, publicKeys, action, tagActions } = config.leaks.alerts;
    if (!enabled || publicKeys === null) return null;
    return new LeakAlertCheck({ path, publicKeys, action, tagActions, store, logger, onStoreError: repeatedErrors('secret-scanning alert: key store failed') });
  },
};
