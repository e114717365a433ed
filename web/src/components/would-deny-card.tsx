import { useState } from 'preact/hooks';
import { api, query } from '../api.ts';
import { useLoad } from '../use-load.ts';
import { formatNumber } from '../format.ts';

interface WouldDenyRow {
  code: string;
  api: string;
  route: string;
  keyId: string | null;
  keyName: string | null;
  requests: number;
}

interface WouldDenies {
  total: number;
  rows: WouldDenyRow[];
}

/** Rows shown on the overview; `portcullis report --json` has every one. */
const SHOWN = 10;

/**
 * What the policies in report mode would have refused over the period (`portcullis report`):
 * shown only when there is something, so a gateway that enforces everything shows nothing.
 */
export function WouldDenyCard({ window, label, refresh }: { window: string; label: string; refresh: unknown }) {
  const [found, setFound] = useState<WouldDenies | null>(null);
  // The overview shows its own error when the admin API cannot be reached; this card just waits.
  useLoad(() => api<WouldDenies>('GET', `/api/would-denies${query({ window })}`), setFound, () => {}, [window, refresh]);
  if (found === null || found.total === 0) return null;
  const apis = new Set(found.rows.map((row) => row.api));
  return (
    <section class="card" aria-labelledby="would-deny-title">
      <div class="card-head">
        <h2 id="would-deny-title">Report-only: would have refused</h2>
      </div>
      <p>
        {formatNumber(found.total)} request(s) {label} went on to the upstream that enforcing would have refused. Fix the clients or the description, then enforce;{' '}
        <code>portcullis report</code> lists every code, route and key.
      </p>
      <table class="table compact">
        <thead>
          <tr>
            <th scope="col">Code</th>
            <th scope="col">Route</th>
            <th scope="col">Key</th>
            <th scope="col" class="number">
              Requests
            </th>
          </tr>
        </thead>
        <tbody>
          {found.rows.slice(0, SHOWN).map((row) => (
            <tr key={`${row.code} ${row.api} ${row.route} ${row.keyId ?? ''}`}>
              <td>{row.code}</td>
              <td>
                {apis.size > 1 && <span class="muted">{row.api} · </span>}
                {row.route}
              </td>
              <td>{row.keyId === null ? <span class="muted">no key</span> : <a href={`#/keys/${row.keyId}`}>{row.keyName ?? row.keyId}</a>}</td>
              <td class="number">{formatNumber(row.requests)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
