import type { Key } from '../api.ts';

const LABELS: Record<Key['status'], string> = { active: 'Active', revoked: 'Revoked', expired: 'Expired' };

export function StatusBadge({ status }: { status: Key['status'] }) {
  return <span class={`badge badge-${status}`}>{LABELS[status] ?? status}</span>;
}
