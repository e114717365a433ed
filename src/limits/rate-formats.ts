import type { ConfigFormat } from '../config/config-fragment.ts';
import { parseQuotaPolicy, parseRatePolicy } from './rate-policy.ts';

/** The config formats of rates and quotas, for every option that takes one. */
export const RATE_FORMATS: Readonly<Record<string, ConfigFormat>> = {
  'rate-policy': {
    expected: 'a rate such as 100/s, 6000/m or 100/s burst 200',
    documentation: 'A rate: a count, `/`, and `s`, `m`, `h` or `d` (`100/s`, `6000/m`), optionally followed by `burst N`, the requests allowed at once after a quiet spell (`100/s burst 200`; without it, the burst is the count). Enforced with GCRA: smooth, no window edges.',
    validate: (value) => parseRatePolicy(value) !== null,
    placeholder: 'rate',
  },
  'quota-policy': {
    expected: 'a quota such as 10000/day or 300000/month',
    documentation: 'A quota: a count, `/`, and `day` or `month` (`10000/day`, `300000/month`). Periods are calendar days and months in UTC.',
    validate: (value) => parseQuotaPolicy(value) !== null,
    placeholder: 'quota',
  },
};
