import type { ConfigFragment } from '../../config/config-fragment.ts';
import { RATE_FORMATS } from '../../limits/rate-formats.ts';
import { compileQuotaText, compileRateText, type CompiledQuota, type CompiledRate } from '../../limits/rate-policy.ts';
import { operationsOf, type Policy } from '../policy.ts';
import { reportWhere, type ReportOnlySettings } from '../report-only.ts';
import { KeyLimitsCheck } from './key-limits-check.ts';

export interface KeyLimitsSettings {
  limits: { keyRate: CompiledRate | null; keyQuota: CompiledQuota | null };
}

const keyLimitsConfig: ConfigFragment<KeyLimitsSettings> = {
  formats: RATE_FORMATS,
  options: {
    'limits.keyRate': {
      type: ['string', 'null'],
      format: 'rate-policy',
      default: null,
      description: 'Rate limit for every key that has no rate of its own (`keys create --rate`), such as `100/s` or `6000/m burst 200`. `null`: keys without their own rate are not rate limited. Refused requests get 429 `rate_limited`.',
    },
    'limits.keyQuota': {
      type: ['string', 'null'],
      format: 'quota-policy',
      default: null,
      description: 'Quota for every key that has no quota of its own (`keys create --quota`), such as `10000/day` or `300000/month` (calendar periods, UTC). `null`: no quota. Refused requests get 429 `quota_exceeded`.',
    },
  },
  read(document) {
    const { limits } = document as unknown as { limits: { keyRate: string | null; keyQuota: string | null } };
    return { limits: { keyRate: compileRateText(limits.keyRate), keyQuota: compileQuotaText(limits.keyQuota) } };
  },
};

/** Stage 8: the key's rate and quota (and a route's rate per key). Always on: any key may carry limits. */
export const keyLimits: Policy<KeyLimitsSettings, KeyLimitsSettings & ReportOnlySettings> = {
  name: 'key-limits',
  stage: 8,
  config: keyLimitsConfig,
  create(config, parts) {
    const { limiter, quotas, logger, repeatedErrors } = parts;
    const invalidPolicies = new Set<string>();
    return new KeyLimitsCheck({
      backend: limiter,
      ledger: quotas,
      defaultRate: config.limits.keyRate,
      defaultQuota: config.limits.keyQuota,
      reportRates: reportWhere(config, 'rate-limits', operationsOf(parts)),
      reportQuotas: reportWhere(config, 'quotas', operationsOf(parts)),
      onInvalidPolicy: (keyId) => {
        if (invalidPolicies.has(keyId)) return;
        invalidPolicies.add(keyId);
        logger.error({ keyId }, 'key has a rate or quota policy that does not parse; refusing its requests (fail closed)');
      },
      onStoreError: repeatedErrors('quota usage could not be read from the key store'),
    });
  },
};
