import type { Config } from '../app/config.ts';
import type { KeyRecord } from '../keys/key-record.ts';
import { compileQuotaText, compileRateText, quotaPeriodAt } from '../limits/rate-policy.ts';
import type { QuotaUsage } from '../store/key-store.ts';
import { formatTime } from './cli-support.ts';

/**
 * A key's effective rate and quota as `keys show` prints them, with the quota left in the
 * current period. The count comes from the store, where every gateway adds its counts once
 * per `usage.flushInterval`: it is behind by at most that interval.
 */
export function describeLimits(record: KeyRecord, config: Config, usage: QuotaUsage | null, now: number) {
  const rate = record.rateLimit === null ? config.limits.keyRate : compileRateText(record.rateLimit);
  const quota = record.quota === null ? config.limits.keyQuota : compileQuotaText(record.quota);
  const rateSource = record.rateLimit === null ? 'default (limits.keyRate)' : 'this key';
  const quotaSource = record.quota === null ? 'default (limits.keyQuota)' : 'this key';
  const flushSeconds = config.usage.flushInterval / 1000;

  const lines: Array<[string, string]> = [
    ['rate', rate === null ? (record.rateLimit === null ? 'not limited' : `invalid policy ${JSON.stringify(record.rateLimit)}`) : `${rate.text} (${rateSource})`],
  ];
  let quotaJson = null;
  if (quota === null) lines.push(['quota', record.quota === null ? 'none' : `invalid policy ${JSON.stringify(record.quota)}`]);
  else {
    const period = quotaPeriodAt(quota.period, now);
    const used = usage !== null && usage.periodStart === period.start ? usage.used : 0;
    const remaining = Math.max(0, quota.limit - used);
    quotaJson = {
      policy: quota.text,
      source: record.quota === null ? 'default' : 'key',
      periodStart: new Date(period.start).toISOString(),
      resetsAt: new Date(period.end).toISOString(),
      used,
      remaining,
    };
    lines.push(
      ['quota', `${quota.text} (${quotaSource})`],
      ['quota left', `${remaining} of ${quota.limit} this ${quota.period} (${used} used); refilled at ${formatTime(period.end)}`],
      ['', `(gateways write their counts every ${flushSeconds}s, so this can be up to ${flushSeconds}s behind)`],
    );
  }
  return {
    json: { rate: rate === null ? null : rate.text, rateSource: record.rateLimit === null ? 'default' : 'key', quota: quotaJson },
    text: lines.map(([label, value]) => `${label.padEnd(11)} ${value}`.trimEnd()).join('\n'),
  };
}
