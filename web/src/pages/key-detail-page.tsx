import { useEffect, useState } from 'preact/hooks';
import { api, query, type AuditPage, type IssuedKey, type Key, type KeyUsage, type Session } from '../api.ts';
import { useLoad } from '../use-load.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { errorText, Notice } from '../components/notice.tsx';
import { SecretReveal } from '../components/secret-reveal.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { requestLayers, StackedBars } from '../components/stacked-bars.tsx';
import { ChoiceSelect } from '../components/choice-select.tsx';
import { CopyButton } from '../components/copy-button.tsx';
import { ACTION_LABELS, formatBytes, formatMinute, formatNumber, formatRelative, formatSetting, formatTime, labelFor, WINDOWS } from '../format.ts';
import { useLive } from '../live.ts';
const GRACE_CHOICES = [
  { value: '0s', label: 'None: the old key stops now' },
  { value: '15m', label: '15 minutes' },
  { value: '1h', label: '1 hour' },
  { value: '24h', label: '24 hours' },
  { value: '7d', label: '7 days' },
];
/** Shown in the page's header or elsewhere; every other field is listed under Settings. */
const NOT_SETTINGS = new Set(['id', 'name', 'status']);
/** Settings read as code: addresses, fingerprints, policies. */
const MONO_FIELDS = new Set(['allowedCidrs', 'certFingerprint', 'rateLimit', 'quota', 'scopes', 'apis', 'rotatedTo', 'lastUsedAddress']);

function Usage({ id }: { id: string }) {
  const live = useLive();
  const [window, setWindow] = useState('1h');
  const [usage, setUsage] = useState<KeyUsage | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Usage is written in batches; refresh now and then so the chart follows traffic.
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => setTick((count) => count + 1), 10_000);
    return () => clearInterval(timer);
  }, [id, window]);
  useLoad(
    () => api<KeyUsage>('GET', `/api/keys/${id}/usage${query({ window })}`),
    (found) => {
      setUsage(found);
      setError(null);
    },
    (failure) => setError(errorText(failure)),
    [id, window, live.version, tick],
  );

  const label = WINDOWS.find((choice) => choice.value === window)?.label.toLowerCase() ?? window;
  return (
    <section class="card" aria-labelledby="usage-title">
      <div class="card-head">
        <h2 id="usage-title">Usage</h2>
        <div class="field inline">
          <ChoiceSelect id="usage-window" label="Period" value={window} choices={WINDOWS} onChange={setWindow} />
        </div>
      </div>
      {error !== null && <Notice kind="error">{error}</Notice>}
      {usage === null ? (
        <p class="loading">Loading usage…</p>
      ) : (
        <>
          <dl class="stats">
            <div>
              <dt>Requests</dt>
              <dd>{formatNumber(usage.totals.requests)}</dd>
            </div>
            <div>
              <dt>Refused</dt>
              <dd class={usage.totals.denied > 0 ? 'text-danger' : ''}>{formatNumber(usage.totals.denied)}</dd>
            </div>
            <div>
              <dt>Data in / out</dt>
              <dd>
                {formatBytes(usage.totals.bytesIn)} / {formatBytes(usage.totals.bytesOut)}
              </dd>
            </div>
            <div>
              <dt>Client addresses</dt>
              <dd>{formatNumber(usage.totals.distinctAddresses)}</dd>
            </div>
            {usage.websockets !== undefined && usage.websockets.opened + usage.websockets.peak > 0 && (
              <div>
                <dt>WebSockets opened / most open at once</dt>
                <dd>
                  {formatNumber(usage.websockets.opened)} / {formatNumber(usage.websockets.peak)}
                </dd>
              </div>
            )}
          </dl>
          <StackedBars
            times={usage.points.map((point) => Date.parse(point.t))}
            layers={requestLayers(usage.points)}
            caption={`${formatNumber(usage.totals.requests)} requests, ${formatNumber(usage.totals.denied)} refused, ${label}.`}
            label={`Requests per ${usage.step / 60} minute${usage.step === 60 ? '' : 's'}, ${label}`}
          />
          <div class="columns">
            <div>
              <h3>Refusals by reason</h3>
              {Object.keys(usage.denials).length === 0 ? (
                <p class="muted">None {label}.</p>
              ) : (
                <table class="table compact">
                  <thead>
                    <tr>
                      <th scope="col">Code</th>
                      <th scope="col" class="number">Count</th>
                    </tr>
                  </thead>
                  <tbody>
                    {Object.entries(usage.denials)
                      .sort((a, b) => b[1] - a[1])
                      .map(([code, count]) => (
                        <tr key={code}>
                          <td class="mono">{code}</td>
                          <td class="number">{formatNumber(count)}</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              )}
            </div>
            <div>
              <h3>Recent client addresses</h3>
              {usage.addresses.length === 0 ? (
                <p class="muted">None {label}.</p>
              ) : (
                <table class="table compact">
                  <thead>
                    <tr>
                      <th scope="col">Address</th>
                      <th scope="col">Last seen</th>
                    </tr>
                  </thead>
                  <tbody>
                    {usage.addresses.map((row) => (
                      <tr key={row.address}>
                        <td class="mono">{row.address}</td>
                        <td title={`${row.minutes} minute${row.minutes === 1 ? '' : 's'} with traffic`}>{formatMinute(row.lastSeen)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          </div>
        </>
      )}
    </section>
  );
}

function Actor({ id, name }: { id: string; name: string | null }) {
  return name === null ? <span class="mono">{id}</span> : <span title={id}>{name}</span>;
}

/** What an entry's details add: the successor or predecessor of a rotation, the settings a change touched. */
function HistoryDetails({ details }: { details: Record<string, unknown> }) {
  if (typeof details.replacedBy === 'string') {
    return (
      <div class="small">
        Replaced by <a href={`#/keys/${details.replacedBy}`}>{details.replacedBy}</a>
      </div>
    );
  }
  if (typeof details.rotatedFrom === 'string') {
    return (
      <div class="small">
        Replaces <a href={`#/keys/${details.rotatedFrom}`}>{details.rotatedFrom}</a>
      </div>
    );
  }
  const changes = details.changes as Record<string, unknown> | undefined;
  if (changes !== undefined) return <div class="small muted">Changed: {Object.keys(changes).map(labelFor).join(', ').toLowerCase()}</div>;
  if (typeof details.changeSet === 'string') return <div class="small muted">Change set {details.changeSet}</div>;
  return null;
}

/** The key's audit entries; `version` changes whenever the key does. */
function History({ id, version }: { id: string; version: string }) {
  const live = useLive();
  const [entries, setEntries] = useState<AuditPage['items'] | null>(null);
  useLoad(
    () => api<AuditPage>('GET', `/api/audit${query({ target: id, limit: 20 })}`),
    (page) => setEntries(page.items),
    () => setEntries([]),
    [id, version, live.version],
  );
  return (
    <section class="card" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {entries === null ? (
        <p class="loading">Loading…</p>
      ) : (
        <ol class="timeline">
          {entries.map((entry) => (
            <li key={entry.seq}>
              <strong>{ACTION_LABELS[entry.action] ?? entry.action}</strong> by <Actor id={entry.actor} name={entry.actorName} />
              {entry.address !== null && <span class="muted"> from {entry.address}</span>}
              <span class="muted" title={formatTime(entry.at)}>
                {' '}
                · {formatRelative(entry.at)}
              </span>
              {entry.reason !== null && <div class="reason">“{entry.reason}”</div>}
              <HistoryDetails details={entry.details} />
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

export function KeyDetailPage({ id, session }: { id: string; session: Session }) {
  const live = useLive();
  const [loaded, setKey] = useState<Key | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dialog, setDialog] = useState<'revoke' | 'rotate' | null>(null);
  const [reason, setReason] = useState('');
  const [grace, setGrace] = useState('1h');
  const [busy, setBusy] = useState(false);
  const [rotated, setRotated] = useState<IssuedKey | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  useLoad(
    () => api<Key>('GET', `/api/keys/${id}`),
    (found) => {
      setKey(found);
      setError(null);
    },
    (failure) => setError(errorText(failure)),
    [id, live.last?.keyId === id ? live.version : 0],
  );
  // What was shown or failed for the key before is not this key's.
  useEffect(() => {
    setRotated(null);
    setError(null);
  }, [id]);
  // Until this key's own record arrives, the one of the key shown before is not this page's.
  const key = loaded?.id === id ? loaded : null;

  if (error !== null && key === null) {
    return (
      <section>
        <h1 tabIndex={-1}>Key</h1>
        <Notice kind="error">{error}</Notice>
      </section>
    );
  }
  if (key === null) return <p class="loading">Loading key…</p>;

  const canChange = session.role === 'write';
  const run = <T,>(work: Promise<T>, done: (result: T) => void) => {
    setBusy(true);
    work.then(
      (result) => {
        done(result);
        setDialog(null);
        setBusy(false);
      },
      (failure: unknown) => {
        setError(errorText(failure));
        setDialog(null);
        setBusy(false);
      },
    );
  };

  return (
    <section aria-labelledby="key-title" class="detail">
      <p class="breadcrumb">
        <a href="#/keys">Keys</a> <span aria-hidden="true">›</span> <span class="mono">{key.id}</span> <CopyButton value={key.id} label="key id" />
      </p>
      <div class="page-head">
        <h1 id="key-title" tabIndex={-1}>
          {key.name} <StatusBadge status={key.status} />
        </h1>
        {canChange && (
          <div class="actions">
            <a class="button" href={`#/keys/${key.id}/edit`}>
              Edit
            </a>
            {key.status === 'active' && (
              <button type="button" class="button" onClick={() => setDialog('rotate')}>
                Rotate
              </button>
            )}
            {key.status !== 'revoked' && (
              <button type="button" class="button button-danger" onClick={() => setDialog('revoke')}>
                Revoke
              </button>
            )}
          </div>
        )}
      </div>

      {error !== null && <Notice kind="error">{error}</Notice>}
      {message !== null && <Notice kind="success">{message}</Notice>}
      {key.status === 'revoked' && (
        <Notice kind="error">
          Revoked {formatRelative(key.revokedAt)}
          {key.revokedReason ? `: “${key.revokedReason}”` : ''}. Every gateway refuses this key.
        </Notice>
      )}
      {key.status === 'rotating' && key.rotatedTo !== null && (
        <Notice kind="info">
          Rotating: replaced by <a href={`#/keys/${key.rotatedTo}`}>{key.rotatedTo}</a>. This key keeps working until {formatTime(key.expiresAt)} ({formatRelative(key.expiresAt)}).
        </Notice>
      )}
      {key.status !== 'rotating' && key.rotatedTo !== null && key.status !== 'revoked' && (
        <Notice kind="info">
          Rotated: replaced by <a href={`#/keys/${key.rotatedTo}`}>{key.rotatedTo}</a>.
        </Notice>
      )}
      {rotated !== null && (
        <div class="card">
          <h2>Replacement key</h2>
          <SecretReveal secret={rotated.key} label={`New API key for ${rotated.name}`} />
          <p>
            The old key works until {formatTime(rotated.oldKeyExpiresAt)}. <a href={`#/keys/${rotated.id}`}>Open the new key ({rotated.id})</a>
          </p>
        </div>
      )}

      <div class="grid">
        <div class="column">
          <Usage id={key.id} />
          <History id={key.id} version={`${key.updatedAt}|${key.revokedAt ?? ''}`} />
        </div>
        <section class="card" aria-labelledby="settings-title">
          <h2 id="settings-title">Settings</h2>
          <dl class="settings">
            {Object.entries(key)
              .filter(([field]) => !NOT_SETTINGS.has(field))
              .map(([field, value]) => (
                <div key={field}>
                  <dt>{labelFor(field)}</dt>
                  <dd class={typeof value === 'object' && value !== null && !Array.isArray(value) ? 'pre' : MONO_FIELDS.has(field) && value !== null && !(Array.isArray(value) && value.length === 0) ? 'mono' : ''}>
                    {field === 'rotatedTo' && typeof value === 'string' ? <a href={`#/keys/${value}`}>{value}</a> : field === 'displayPrefix' ? <span class="mono">{String(value)}…</span> : formatSetting(field, value)}
                  </dd>
                </div>
              ))}
          </dl>
        </section>
      </div>

      <ConfirmDialog
        open={dialog === 'revoke'}
        title={`Revoke “${key.name}”?`}
        confirmLabel="Revoke key"
        danger
        busy={busy}
        onClose={() => setDialog(null)}
        onConfirm={() =>
          run(api<Key>('POST', `/api/keys/${key.id}/revoke`, { reason: reason.trim() || undefined }), (revoked) => {
            setKey(revoked);
            setReason('');
            setMessage(null);
          })
        }
      >
        <p>The key stops working on every gateway within a poll interval. This cannot be undone.</p>
        <label for="revoke-reason">Reason (recorded in the audit log)</label>
        <textarea id="revoke-reason" rows={3} maxLength={500} value={reason} onInput={(event) => setReason(event.currentTarget.value)} placeholder="Leaked in a support ticket" />
      </ConfirmDialog>

      <ConfirmDialog
        open={dialog === 'rotate'}
        title={`Rotate “${key.name}”?`}
        confirmLabel="Rotate key"
        busy={busy}
        onClose={() => setDialog(null)}
        onConfirm={() =>
          run(api<IssuedKey>('POST', `/api/keys/${key.id}/rotate`, { grace }), (issued) => {
            setRotated(issued);
            setMessage(null);
            api<Key>('GET', `/api/keys/${key.id}`).then(setKey, () => {});
          })
        }
      >
        <p>A new key with the same settings is issued and shown once. The old key keeps working for the grace period, so the client can switch without downtime.</p>
        <ChoiceSelect id="rotate-grace" label="Grace period" value={grace} choices={GRACE_CHOICES} onChange={setGrace} />
      </ConfirmDialog>

    </section>
  );
}
