import { useState } from 'preact/hooks';
import { api, type Incident, type Key, type Session } from '../api.ts';
import { useLoad } from '../use-load.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { errorText, Notice } from '../components/notice.tsx';
import { formatRelative, formatTime } from '../format.ts';
import { useLive } from '../live.ts';

const KIND_LABELS: Record<Incident['kind'], string> = {
  alert: 'Secret-scanning alert',
  presentation: 'Presented by its finder',
  anomaly: 'Anomaly',
  quarantine: 'Quarantined by an operator',
};

type Decision = { incident: Incident; action: 'release' | 'revoke' };

/**
 * Leak incidents (`GET /api/incidents`): each finding, its key, the evidence, the action taken
 * and the key's status now, with release and revoke for write tokens.
 */
export function IncidentsPage({ session }: { session: Session }) {
  const live = useLive();
  const [incidents, setIncidents] = useState<Incident[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [deciding, setDeciding] = useState<Decision | null>(null);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [reload, setReload] = useState(0);

  useLoad(() => api<Incident[]>('GET', '/api/incidents?limit=200'), setIncidents, (failure) => setError(errorText(failure)), [reload, live.version]);

  const decide = () => {
    if (deciding === null) return;
    setBusy(true);
    const { incident, action } = deciding;
    api<Key>('POST', `/api/keys/${incident.keyId}/${action}`, { reason: reason.trim() || undefined }).then(
      () => {
        setDeciding(null);
        setReason('');
        setBusy(false);
        setReload((count) => count + 1);
      },
      (failure: unknown) => {
        setError(errorText(failure));
        setDeciding(null);
        setBusy(false);
      },
    );
  };

  return (
    <section aria-labelledby="incidents-title">
      <h1 id="incidents-title" tabIndex={-1}>
        Incidents
      </h1>
      <p class="muted">Keys reported as leaked (by secret scanning or by whoever found them), anomaly findings and quarantines, newest first. A quarantined key is refused until you release or revoke it.</p>
      {error !== null && <Notice kind="error">{error}</Notice>}
      {incidents === null ? (
        <p class="loading">Loading incidents…</p>
      ) : incidents.length === 0 ? (
        <p class="muted">No incidents.</p>
      ) : (
        <table class="table responsive">
          <caption class="visually-hidden">Leak incidents, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Finding</th>
              <th scope="col">Key</th>
              <th scope="col">Evidence</th>
              <th scope="col">Action taken</th>
              <th scope="col">Now</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {incidents.map((incident) => (
              <tr key={incident.seq} data-incident={incident.seq}>
                <td data-label="When" title={formatTime(incident.at)}>
                  {formatRelative(incident.at)}
                </td>
                <td data-label="Finding">
                  {KIND_LABELS[incident.kind]}
                  {incident.reason !== null && <div class="muted small">{incident.reason}</div>}
                </td>
                <td data-label="Key">
                  <a href={`#/keys/${incident.keyId}`}>{incident.keyName ?? incident.keyId}</a>
                  <div class="muted mono small">{incident.keyId}</div>
                </td>
                <td data-label="Evidence">
                  {/* The URL comes from whoever reported the key: shown as text, never a link. */}
                  {incident.url !== null && <div class="mono small">{incident.url}</div>}
                  {incident.source !== null && <div class="muted small">{incident.source}</div>}
                  {incident.address !== null && <div class="muted small mono">from {incident.address}</div>}
                </td>
                <td data-label="Action taken">{incident.action}</td>
                <td data-label="Now">
                  {incident.keyStatus === null ? <span class="muted">deleted</span> : <span class={`badge badge-${incident.keyStatus}`}>{incident.keyStatus}</span>}
                </td>
                <td data-label="Actions">
                  {session.role === 'write' && incident.keyStatus === 'quarantined' && (
                    <button type="button" class="button" onClick={() => setDeciding({ incident, action: 'release' })} aria-label={`Release ${incident.keyName ?? incident.keyId}`}>
                      Release
                    </button>
                  )}{' '}
                  {session.role === 'write' && incident.keyStatus !== null && incident.keyStatus !== 'revoked' && (
                    <button type="button" class="button button-danger" onClick={() => setDeciding({ incident, action: 'revoke' })} aria-label={`Revoke ${incident.keyName ?? incident.keyId}`}>
                      Revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <ConfirmDialog
        open={deciding !== null}
        title={deciding?.action === 'revoke' ? `Revoke “${deciding.incident.keyName ?? deciding.incident.keyId}”?` : `Release “${deciding?.incident.keyName ?? deciding?.incident.keyId ?? ''}”?`}
        confirmLabel={deciding?.action === 'revoke' ? 'Revoke key' : 'Release key'}
        danger={deciding?.action === 'revoke'}
        busy={busy}
        onClose={() => setDeciding(null)}
        onConfirm={decide}
      >
        <p>{deciding?.action === 'revoke' ? 'The key stops working on every gateway within a poll interval. This cannot be undone.' : 'The key works again on every gateway within a poll interval.'}</p>
        <label for="incident-reason">Reason (recorded in the audit log)</label>
        <textarea id="incident-reason" rows={3} maxLength={500} value={reason} onInput={(event) => setReason(event.currentTarget.value)} placeholder={deciding?.action === 'revoke' ? 'Confirmed leak' : 'False alarm'} />
      </ConfirmDialog>
    </section>
  );
}
