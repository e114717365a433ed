import { useState } from 'preact/hooks';
import { api, fieldErrors, type AdminToken, type Session } from '../api.ts';
import { useLoad } from '../use-load.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { CopyButton } from '../components/copy-button.tsx';
import { errorText, Notice } from '../components/notice.tsx';
import { SecretReveal } from '../components/secret-reveal.tsx';
import { formatRelative, formatTime } from '../format.ts';
import { useLive } from '../live.ts';

/** Admin tokens (write tokens only): who can use this API and the dashboard, when each was last used, and revocation. */
export function TokensPage({ session }: { session: Session }) {
  const live = useLive();
  const [tokens, setTokens] = useState<AdminToken[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<'read' | 'write'>('read');
  const [nameError, setNameError] = useState<string | null>(null);
  const [created, setCreated] = useState<(AdminToken & { token: string }) | null>(null);
  const [revoking, setRevoking] = useState<AdminToken | null>(null);
  const [busy, setBusy] = useState(false);
  const [reload, setReload] = useState(0);

  useLoad(
    // A read-only token may not list admin tokens: nothing to load (the page says so).
    () => (session.role === 'write' ? api<AdminToken[]>('GET', '/api/admin-tokens') : Promise.resolve(null)),
    setTokens,
    (failure) => setError(errorText(failure)),
    [reload, live.version, session.role],
  );

  if (session.role !== 'write') {
    return (
      <section>
        <h1 tabIndex={-1}>Admin tokens</h1>
        <Notice kind="info">Your admin token is read-only: managing admin tokens needs a write token.</Notice>
      </section>
    );
  }

  return (
    <section aria-labelledby="tokens-title">
      <h1 id="tokens-title" tabIndex={-1}>
        Admin tokens
      </h1>
      <p class="muted">Tokens open the admin API and this dashboard. Give people read tokens unless they must change keys; revoke a token as soon as it may have leaked: its sessions end within a second.</p>
      {error !== null && <Notice kind="error">{error}</Notice>}

      {created !== null ? (
        <div class="card">
          <h2>Token created for “{created.name}”</h2>
          <SecretReveal secret={created.token} label={`Admin token for ${created.name}`} />
          <button
            type="button"
            class="button button-primary"
            onClick={() => {
              setCreated(null);
              setReload((count) => count + 1);
            }}
          >
            I have stored it
          </button>
        </div>
      ) : (
        <form
          class="card token-form"
          onSubmit={(event) => {
            event.preventDefault();
            setBusy(true);
            setNameError(null);
            api<AdminToken & { token: string }>('POST', '/api/admin-tokens', { name: name.trim(), role }).then(
              (token) => {
                setCreated(token);
                setName('');
                setBusy(false);
                setReload((count) => count + 1);
              },
              (failure: unknown) => {
                const fields = fieldErrors(failure);
                setNameError(fields.name ?? fields[''] ?? errorText(failure));
                setBusy(false);
              },
            );
          }}
        >
          <h2>New token</h2>
          <div class="field-row">
            <div class={`field${nameError === null ? '' : ' field-invalid'}`}>
              <label for="token-name">Who or what it is for</label>
              <input id="token-name" required maxLength={128} value={name} onInput={(event) => setName(event.currentTarget.value)} placeholder="ops-laptop" aria-invalid={nameError === null ? undefined : 'true'} aria-describedby={nameError === null ? undefined : 'token-name-error'} />
              {nameError !== null && (
                <p id="token-name-error" class="field-error">
                  {nameError}
                </p>
              )}
            </div>
            <div class="field">
              <label for="token-role">Role</label>
              <select id="token-role" value={role} onChange={(event) => setRole(event.currentTarget.value as 'read' | 'write')}>
                <option value="read">read: look only</option>
                <option value="write">write: also change keys and tokens</option>
              </select>
            </div>
            <div class="field field-actions">
              <button type="submit" class="button button-primary" disabled={busy || name.trim() === ''}>
                {busy ? 'Creating…' : 'Create token'}
              </button>
            </div>
          </div>
        </form>
      )}

      {tokens === null ? (
        <p class="loading">Loading tokens…</p>
      ) : (
        <table class="table responsive">
          <caption class="visually-hidden">Admin tokens, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Created</th>
              <th scope="col">Last used (this node)</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((token) => (
              <tr key={token.id}>
                <td data-label="Name">
                  <strong>{token.name}</strong>
                  {token.current && <span class="muted small"> (you)</span>}
                  <div class="id-line">
                    <span class="muted mono small">
                      {token.id} · {token.displayPrefix}…
                    </span>
                    <CopyButton value={token.id} label={`id of ${token.name}`} />
                  </div>
                </td>
                <td data-label="Role">
                  <span class={`badge badge-role-${token.role}`}>{token.role}</span>
                </td>
                <td data-label="Status">
                  <span class={`badge badge-${token.status}`}>{token.status === 'active' ? 'Active' : 'Revoked'}</span>
                  {token.revokedAt !== null && <div class="muted small">{formatRelative(token.revokedAt)}</div>}
                </td>
                <td data-label="Created" title={formatTime(token.createdAt)}>
                  {formatRelative(token.createdAt)}
                </td>
                <td data-label="Last used" title={formatTime(token.lastUsedAt)}>
                  {token.lastUsedAt === null ? <span class="muted">not since this node started</span> : formatRelative(token.lastUsedAt)}
                  {token.lastUsedAddress !== null && <div class="muted small mono">{token.lastUsedAddress}</div>}
                </td>
                <td data-label="Actions">
                  {token.status === 'active' && (
                    <button type="button" class="button button-danger" onClick={() => setRevoking(token)} aria-label={`Revoke ${token.name}`}>
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
        open={revoking !== null}
        title={`Revoke the token “${revoking?.name ?? ''}”?`}
        confirmLabel="Revoke token"
        danger
        busy={busy}
        onClose={() => setRevoking(null)}
        onConfirm={() => {
          if (revoking === null) return;
          setBusy(true);
          api<AdminToken>('POST', `/api/admin-tokens/${revoking.id}/revoke`).then(
            () => {
              setRevoking(null);
              setBusy(false);
              setReload((count) => count + 1);
            },
            (failure: unknown) => {
              setError(errorText(failure));
              setRevoking(null);
              setBusy(false);
            },
          );
        }}
      >
        <p>Every call and dashboard session using it is refused from now on. This cannot be undone.</p>
        {revoking?.current === true && <Notice kind="error">This is the token you are logged in with: you will be logged out.</Notice>}
      </ConfirmDialog>
    </section>
  );
}
