import { ConfigError } from '../../config/config-error.ts';
import type { ConfigFragment } from '../../config/config-fragment.ts';
import { RATE_FORMATS } from '../../limits/rate-formats.ts';
import { compileRateText, type CompiledRate } from '../../limits/rate-policy.ts';
import { readTagActions, tagActionsOption } from '../../keys/tag-actions.ts';
import type { Policy } from '../policy.ts';
import { PRESENTATION_ACTIONS, PresentedKeyCheck, type PresentationAction } from './presented-key-check.ts';

interface PresentedKeySettings {
  leaks: { presentation: { enabled: boolean; path: string; action: PresentationAction; tagActions: ReadonlyMap<string, PresentationAction>; rate: CompiledRate } };
}

interface RawPresentation {
  leaks: { presentation: { enabled: boolean; path: string; action: PresentationAction; tagActions: string[]; rate: string }; alerts?: { enabled?: boolean; path?: string } };
}

const presentedKeysConfig: ConfigFragment<PresentedKeySettings> = {
  formats: RATE_FORMATS,
  options: {
    'leaks.presentation.enabled': { type: 'boolean', default: false, description: 'Let anyone who found a key report it with a `POST` of `{"key", "url"}` to `leaks.presentation.path` on the public listener; the key is then quarantined (or revoked, `leaks.presentation.action`). The answer is the same whether or not the key exists. See [leaks.md](leaks.md#revoke-by-presenting).' },
    'leaks.presentation.path': {
      type: 'string',
      pattern: '^/[A-Za-z0-9._~/-]*$',
      default: '/.well-known/portcullis/revoke-key',
      description: 'The path keys are reported on (matched exactly, after canonicalisation). It is answered before routes and key auth, so it needs no route and no key; it must differ from `leaks.alerts.path`.',
    },
    'leaks.presentation.action': { type: 'string', enum: ['quarantine', 'revoke'], default: 'quarantine', description: 'What a reported key of this store gets: `quarantine` (403 `key_quarantined` until an operator releases or revokes it) or `revoke`. Quarantine by default: the report is anonymous, so revoking on it lets anyone who holds a key take its owner\'s access away for good.' },
    'leaks.presentation.tagActions': tagActionsOption(PRESENTATION_ACTIONS, 'Actions by key tag, over `leaks.presentation.action`, as `TAG=ACTION` (`publishable=quarantine`, `internal=revoke`); a key with several such tags gets the strongest (revoke over quarantine).'),
    'leaks.presentation.rate': { type: 'string', format: 'rate-policy', default: '10/h burst 5', description: 'Reports per client address (a budget of its own, shared through Redis when `redis.url` is set); over it, 429 `rate_limited` before the body is read. Limits how fast one address can try keys against the endpoint.' },
  },
  read(document) {
    const { presentation, alerts } = (document as unknown as RawPresentation).leaks;
    const rate = compileRateText(presentation.rate) as CompiledRate;
    if (presentation.enabled && alerts?.enabled === true && alerts.path === presentation.path) {
      throw new ConfigError([`leaks.presentation.path: expected a path other than leaks.alerts.path, found ${presentation.path} for both`]);
    }
    const tagActions = readTagActions<PresentationAction>('leaks.presentation.tagActions', presentation.tagActions);
    return { leaks: { presentation: { enabled: presentation.enabled, path: presentation.path, action: presentation.action, tagActions, rate } } };
  },
};

/** Stage 5: leaked keys reported by whoever found them, answered on their own path before routes and keys. Off unless `leaks.presentation.enabled`. */
export const presentedKeys: Policy<PresentedKeySettings> = {
  name: 'presented-keys',
  stage: 5,
  config: presentedKeysConfig,
  create(config, { store, logger, limiter, repeatedErrors }) {
    const { enabled, path, action, tagActions, rate } = config.leaks.presentation;
    if (!enabled) return null;
    return new PresentedKeyCheck({ path, action, tagActions, rate, limiter, store, logger, onStoreError: repeatedErrors('presented key: key store failed') });
  },
};
