import { useState } from 'preact/hooks';
import { api, query, type ApiUsage } from '../api.ts';
import { useLoad } from '../use-load.ts';
import { formatNumber } from '../format.ts';

/** Refusal codes shown per API; the admin API's `outcomes` has every one. */
const CODES_SHOWN = 3;

/** An API's refusal codes, most first, as `code count` text. */
function topCodes(outcomes: Record<string, number>): string {
  return Object.entries(outcomes)
    .filter(([outcome]) => outcome !== 'forwarded' && outcome !== 'aborted')
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, CODES_SHOWN)
    .map(([code, count]) => `${code} ${formatNumber(count)}`)
    .join(', ');
}

/**
 * Requests, forwarded and refused per API over the period (`GET /api/usage/apis`): every
 * request matched to an API, with or without a key. Shown once there is traffic.
 */
export function ApiUsageCard({ window, label, refresh }: { window: string; label: string; refresh: unknown }) {
  const [usage, setUsage] = useState<ApiUsage | null>(null);
  // The overview shows its own error when the admin API cannot be reached; this card just waits.
  useLoad(() => api<ApiUsage>('GET', `/api/usage/apis${query({ window })}`), setUsage, () => {}, [window, refresh]);
  if (usage === null || usage.apis.length === 0) return null;
  return (
    <section class="card" aria-labelledby="api-usage-title">
      <div class="card-head">
        <h2 id="api-usage-title">By API</h2>
      </div>
      <table class="table compact">
        <caption class="visually-hidden">Requests per API {label}: forwarded to the upstream, refused by the gateway, and the most frequent refusal codes.</caption>
        <thead>
          <tr>
            <th scope="col">API</th>
            <th scope="col" class="number">
              Requests
            </th>
            <th scope="col" class="number">
              Forwarded
            </th>
            <th scope="col" class="number">
              Refused
            </th>
            <th scope="col">Top refusals</th>
          </tr>
        </thead>
        <tbody>
          {usage.apis.map((row) => (
            <tr key={row.api}>
              <th scope="row">{row.api}</th>
              <td class="number">{formatNumber(row.requests)}</td>
              <td class="number">{formatNumber(row.forwarded)}</td>
              <td class={`number${row.denied > 0 ? ' text-danger' : ''}`}>{formatNumber(row.denied)}</td>
              <td>{row.denied === 0 ? <span class="muted">none</span> : topCodes(row.outcomes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
