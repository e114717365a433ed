import { useState } from 'preact/hooks';
import { api, type Key } from '../api.ts';
import { ConfirmDialog } from './confirm-dialog.tsx';
import { errorText } from './notice.tsx';

type BulkAction = 'revoke' | 'addTag' | 'removeTag' | 'expire';

const TITLES: Record<BulkAction, (count: string) => string> = {
  revoke: (count) => `Revoke ${count}?`,
  addTag: (count) => `Add a tag to ${count}`,
  removeTag: (count) => `Remove a tag from ${count}`,
  expire: (count) => `Set the expiry of ${count}`,
};

function count(ids: readonly string[]): string {
  return `${ids.length} key${ids.length === 1 ? '' : 's'}`;
}

/**
 * What can be done to the selected keys at once: revoke, tag, untag, set the expiry. Each is
 * confirmed, and made as one change set (`POST /api/keys/bulk`), whose id the message shows.
 */
export function BulkActions({ ids, names, onDone, onError, onClear }: { ids: string[]; names: string[]; onDone: (message: string) => void; onError: (message: string | null) => void; onClear: () => void }) {
  const [action, setAction] = useState<BulkAction | null>(null);
  const [reason, setReason] = useState('');
  const [tag, setTag] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  const [busy, setBusy] = useState(false);

  const confirm = () => {
    if (action === null) return;
    const body: Record<string, unknown> = { ids, action };
    if (action === 'revoke' && reason.trim() !== '') body.reason = reason.trim();
    if (action === 'addTag' || action === 'removeTag') body.tag = tag.trim();
    if (action === 'expire') body.expiresAt = expiresAt === '' ? null : new Date(expiresAt).toISOString();
    setBusy(true);
    api<{ changeSet: string; keys: Key[] }>('POST', '/api/keys/bulk', body).then(
      (result) => {
        const done = { revoke: 'Revoked', addTag: `Tagged “${tag.trim()}”:`, removeTag: `Removed “${tag.trim()}” from`, expire: 'Set the expiry of' }[action];
        onDone(`${done} ${count(result.keys.map((key) => key.id))} (change set ${result.changeSet}).`);
        setAction(null);
        setBusy(false);
        setReason('');
        setTag('');
      },
      (failure: unknown) => {
        onError(errorText(failure));
        setAction(null);
        setBusy(false);
      },
    );
  };

  return (
    <div class="bulk-bar" role="region" aria-label="Selected keys">
      <span>
        <strong>{count(ids)}</strong> selected
      </span>
      <div class="actions">
        <button type="button" class="button button-danger" onClick={() => setAction('revoke')}>
          Revoke…
        </button>
        <button type="button" class="button" onClick={() => setAction('addTag')}>
          Add tag…
        </button>
        <button type="button" class="button" onClick={() => setAction('removeTag')}>
          Remove tag…
        </button>
        <button type="button" class="button" onClick={() => setAction('expire')}>
          Set expiry…
        </button>
        <button type="button" class="button button-quiet" onClick={onClear}>
          Clear selection
        </button>
      </div>
      <ConfirmDialog
        open={action !== null}
        title={action === null ? 'Change keys' : TITLES[action](count(ids))}
        confirmLabel={action === 'revoke' ? `Revoke ${count(ids)}` : 'Apply'}
        danger={action === 'revoke'}
        busy={busy || ((action === 'addTag' || action === 'removeTag') && tag.trim() === '')}
        onClose={() => setAction(null)}
        onConfirm={confirm}
      >
        <p class="bulk-names">{names.slice(0, 8).join(', ')}{names.length > 8 ? ` and ${names.length - 8} more` : ''}</p>
        {action === 'revoke' && (
          <>
            <p>These keys stop working on every gateway within a poll interval. This cannot be undone.</p>
            <label for="bulk-reason">Reason (recorded in the audit log)</label>
            <textarea id="bulk-reason" rows={3} maxLength={500} value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
          </>
        )}
        {(action === 'addTag' || action === 'removeTag') && (
          <>
            <label for="bulk-tag">Tag</label>
            <input id="bulk-tag" value={tag} onInput={(event) => setTag(event.currentTarget.value)} placeholder="frontend" />
          </>
        )}
        {action === 'expire' && (
          <>
            <label for="bulk-expiry">Expires at (empty: never)</label>
            <input id="bulk-expiry" type="datetime-local" value={expiresAt} onInput={(event) => setExpiresAt(event.currentTarget.value)} />
          </>
        )}
        <p class="muted small">Recorded in the audit log as one change set.</p>
      </ConfirmDialog>
    </div>
  );
}

/** Revokes every unrevoked key carrying a tag, including those not shown. */
export function RevokeTag({ tag, onDone, onError }: { tag: string; onDone: (message: string) => void; onError: (message: string | null) => void }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <div class="tag-bar">
      <span>
        Showing keys tagged <strong>{tag}</strong>.
      </span>
      <button type="button" class="button button-danger" onClick={() => setOpen(true)}>
        Revoke all keys tagged “{tag}”
      </button>
      <ConfirmDialog
        open={open}
        title={`Revoke every key tagged “${tag}”?`}
        confirmLabel="Revoke all"
        danger
        busy={busy}
        onClose={() => setOpen(false)}
        onConfirm={() => {
          setBusy(true);
          api<Key[]>('POST', '/api/keys/revoke', { tag, reason: reason.trim() || undefined }).then(
            (revoked) => {
              onDone(`Revoked ${revoked.length} key${revoked.length === 1 ? '' : 's'} tagged “${tag}”. Every gateway refuses them within a poll interval.`);
              setOpen(false);
              setReason('');
              setBusy(false);
            },
            (failure: unknown) => {
              onError(errorText(failure));
              setOpen(false);
              setBusy(false);
            },
          );
        }}
      >
        <p>Every unrevoked key carrying this tag stops working on every gateway within a poll interval. This cannot be undone.</p>
        <label for="tag-reason">Reason (recorded in the audit log)</label>
        <textarea id="tag-reason" rows={3} maxLength={500} value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
      </ConfirmDialog>
    </div>
  );
}
