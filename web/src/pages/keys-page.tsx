import { useEffect, useState } from 'preact/hooks';
import { api, query, type Key, type KeyPage, type Session } from '../api.ts';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { errorText, Notice } from '../components/notice.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { formatRelative, formatTime } from '../format.ts';
import { useLive } from '../live.ts';
import { navigate } from '../router.ts';

const PAGE_SIZE = 50;

/** Keys, filtered by search text, tag and status, which live in the URL so a view can be bookmarked. */
export function KeysPage({ params, session }: { params: URLSearchParams; session: Session }) {
  const q = params.get('q') ?? '';
  const tag = params.get('tag') ?? '';
  const status = params.get('status') ?? '';
  const live = useLive();
  const [keys, setKeys] = useState<Key[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [search, setSearch] = useState(q);
  const [tagInput, setTagInput] = useState(tag);
  const [revokeTag, setRevokeTag] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    setSearch(q);
    setTagInput(tag);
  }, [q, tag]);

  useEffect(() => {
    let cancelled = false;
    api<KeyPage>('GET', `/api/keys${query({ q, tag, status, limit: PAGE_SIZE })}`).then(
      (page) => {
        if (cancelled) return;
        setKeys(page.items);
        setNext(page.next);
        setError(null);
      },
      (failure: unknown) => !cancelled && setError(errorText(failure)),
    );
    return () => {
      cancelled = true;
    };
  }, [q, tag, status, live.version]);

  const apply = (changes: Record<string, string>) => navigate(`/keys${query({ q: search.trim(), tag: tagInput.trim(), status, ...changes })}`);

  const loadMore = () => {
    if (next === null) return;
    api<KeyPage>('GET', `/api/keys${query({ q, tag, status, limit: PAGE_SIZE, after: next })}`).then(
      (page) => {
        setKeys((previous) => [...(previous ?? []), ...page.items]);
        setNext(page.next);
      },
      (failure: unknown) => setError(errorText(failure)),
    );
  };

  return (
    <section aria-labelledby="keys-title">
      <div class="page-head">
        <h1 id="keys-title" tabIndex={-1}>
          Keys
        </h1>
        {session.role === 'write' && (
          <a class="button button-primary" href="#/keys/new">
            Create key
          </a>
        )}
      </div>

      <form
        class="filters"
        role="search"
        onSubmit={(event) => {
          event.preventDefault();
          apply({});
        }}
      >
        <div class="field">
          <label for="search">Search</label>
          <input id="search" type="search" placeholder="Name or id" value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="tag-filter">Tag</label>
          <input id="tag-filter" type="text" placeholder="Any tag" value={tagInput} onInput={(event) => setTagInput(event.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="status-filter">Status</label>
          <select id="status-filter" value={status} onChange={(event) => apply({ status: event.currentTarget.value })}>
            <option value="">Any status</option>
            <option value="active">Active</option>
            <option value="revoked">Revoked</option>
            <option value="expired">Expired</option>
          </select>
        </div>
        <div class="field field-actions">
          <button type="submit" class="button">
            Filter
          </button>
          {(q !== '' || tag !== '' || status !== '') && (
            <a class="button button-quiet" href="#/keys">
              Clear
            </a>
          )}
        </div>
      </form>

      {tag !== '' && session.role === 'write' && (
        <div class="tag-bar">
          <span>
            Showing keys tagged <strong>{tag}</strong>.
          </span>
          <button type="button" class="button button-danger" onClick={() => setRevokeTag(true)}>
            Revoke all keys tagged “{tag}”
          </button>
        </div>
      )}
      {message !== null && <Notice kind="success">{message}</Notice>}
      {error !== null && <Notice kind="error">{error}</Notice>}

      {keys === null ? (
        <p class="loading">Loading keys…</p>
      ) : keys.length === 0 ? (
        <div class="empty card">
          <p>No keys match.</p>
          {session.role === 'write' && <a href="#/keys/new">Create a key</a>}
        </div>
      ) : (
        <table class="table responsive">
          <caption class="visually-hidden">Keys{tag !== '' ? ` tagged ${tag}` : ''}</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Prefix</th>
              <th scope="col">Tags</th>
              <th scope="col">Last used</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((key) => (
              <tr key={key.id}>
                <td data-label="Name">
                  <a href={`#/keys/${key.id}`} class="key-name">
                    {key.name}
                  </a>
                  <div class="muted mono small">{key.id}</div>
                </td>
                <td data-label="Status">
                  <StatusBadge status={key.status} />
                </td>
                <td data-label="Prefix" class="mono">
                  {key.displayPrefix}…
                </td>
                <td data-label="Tags">
                  {key.tags.length === 0 ? (
                    <span class="muted">—</span>
                  ) : (
                    key.tags.map((name) => (
                      <a key={name} class="tag" href={`#/keys${query({ tag: name })}`}>
                        {name}
                      </a>
                    ))
                  )}
                </td>
                <td data-label="Last used" title={formatTime(key.lastUsedAt)}>
                  {key.lastUsedAt === null ? <span class="muted">never</span> : `${formatRelative(key.lastUsedAt)} · ${key.lastUsedAddress ?? ''}`}
                </td>
                <td data-label="Created" title={formatTime(key.createdAt)}>
                  {formatRelative(key.createdAt)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next !== null && (
        <button type="button" class="button load-more" onClick={loadMore}>
          Load more
        </button>
      )}

      <ConfirmDialog
        open={revokeTag}
        title={`Revoke every key tagged “${tag}”?`}
        confirmLabel="Revoke all"
        danger
        busy={busy}
        onClose={() => setRevokeTag(false)}
        onConfirm={() => {
          setBusy(true);
          api<Key[]>('POST', '/api/keys/revoke', { tag, reason: reason.trim() || undefined }).then(
            (revoked) => {
              setMessage(`Revoked ${revoked.length} key${revoked.length === 1 ? '' : 's'} tagged “${tag}”. Every gateway refuses them within a poll interval.`);
              setRevokeTag(false);
              setReason('');
              setBusy(false);
            },
            (failure: unknown) => {
              setError(errorText(failure));
              setRevokeTag(false);
              setBusy(false);
            },
          );
        }}
      >
        <p>Every unrevoked key carrying this tag stops working on every gateway within a poll interval. This cannot be undone.</p>
        <label for="tag-reason">Reason (recorded in the audit log)</label>
        <textarea id="tag-reason" rows={3} maxLength={500} value={reason} onInput={(event) => setReason(event.currentTarget.value)} />
      </ConfirmDialog>
    </section>
  );
}
