/** How times, sizes and settings read on the dashboard. */

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });

export function formatTime(iso: string | null | undefined): string {
  return iso ? absolute.format(new Date(iso)) : '—';
}

/** "3 minutes ago", "in 29 days". */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [['day', 86_400], ['hour', 3_600], ['minute', 60], ['second', 1]];
  for (const [unit, size] of units) if (Math.abs(seconds) >= size || unit === 'second') return relative.format(Math.round(seconds / size), unit);
  return '—';
}

/** A usage minute: "21:10" today, "27 Nov, 21:10" before. */
export function formatMinute(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const time = date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  return date.toDateString() === now.toDateString() ? time : `${date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })}, ${time}`;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatNumber(value: number): string {
  return new Intl.NumberFormat('en').format(value);
}

/** `allowedCidrs` → "Allowed CIDRs": settings added by later layers get a readable label too. */
export function labelFor(field: string): string {
  const words = field.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/Cidrs\b/i, 'CIDRs').replace(/\bAt$/, '');
  return words.charAt(0).toUpperCase() + words.slice(1).toLowerCase().replace(/cidrs/, 'CIDRs');
}

/** Any setting value as text: times, lists, objects and absent values. */
export function formatSetting(field: string, value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (field.endsWith('At') && typeof value === 'string') return `${formatTime(value)} (${formatRelative(value)})`;
  if (Array.isArray(value)) return value.length === 0 ? '—' : value.join(', ');
  if (typeof value === 'object') return Object.keys(value).length === 0 ? '—' : JSON.stringify(value, null, 2);
  return String(value);
}

/** The periods every usage view offers. */
export const WINDOWS = [
  { value: '1h', label: 'Last hour' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '7d', label: 'Last 7 days' },
];

export const ACTION_LABELS: Record<string, string> = {
  'key.created': 'Key created',
  'key.revoked': 'Key revoked',
  'key.rotated': 'Key rotated',
  'key.quarantined': 'Key quarantined',
  'key.released': 'Key released',
  'key.anomaly': 'Anomaly found',
  'key.updated': 'Key changed',
  'admin_token.created': 'Admin token created',
  'admin_token.revoked': 'Admin token revoked',
  'token.revoked': 'Delegated token revoked',
};
