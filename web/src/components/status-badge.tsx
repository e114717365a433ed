import type { KeyStatus } from '../api.ts';

const LABELS: Record<KeyStatus, string> = { active: 'Active', rotating: 'Rotating', quarantined: 'Quarantined', revoked: 'Revoked', expired: 'Expired' };

export function StatusBadge({ status }: { status: KeyStatus }) {
  return <span class={`badge badge-${status}`}>{LABELS[status] ?? status}</span>;
}
