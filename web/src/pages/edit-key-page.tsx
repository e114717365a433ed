import { useEffect, useState } from 'preact/hooks';
import { api, type Key, type Session } from '../api.ts';
import { useLoad } from '../use-load.ts';
import { errorText, Notice } from '../components/notice.tsx';
import { bodyOf, draftOf, errorsByField, KeySettingsForm, type SettingsDraft } from '../components/key-settings-form.tsx';
import { navigate } from '../router.ts';

/** Changes any setting of a key; the audit log records what changed. */
export function EditKeyPage({ id, session }: { id: string; session: Session }) {
  const [key, setKey] = useState<Key | null>(null);
  const [draft, setDraft] = useState<SettingsDraft | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [loadError, setLoadError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useLoad(
    () => api<Key>('GET', `/api/keys/${id}`),
    (found) => {
      setKey(found);
      setDraft(draftOf(found));
      setLoadError(null);
    },
    (failure) => setLoadError(errorText(failure)),
    [id],
  );
  // A load that failed for the key edited before is not this key's.
  useEffect(() => setLoadError(null), [id]);

  if (session.role !== 'write') return <Notice kind="info">Your admin token is read-only: changing keys needs a write token.</Notice>;
  if (loadError !== null) return <Notice kind="error">{loadError}</Notice>;
  if (key === null || key.id !== id || draft === null) return <p class="loading">Loading key…</p>;

  return (
    <section aria-labelledby="edit-title">
      <p class="breadcrumb">
        <a href="#/keys">Keys</a> <span aria-hidden="true">›</span> <a href={`#/keys/${key.id}`}>{key.name}</a> <span aria-hidden="true">›</span> Edit
      </p>
      <h1 id="edit-title" tabIndex={-1}>
        Edit “{key.name}”
      </h1>
      <form
        class="card form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          const made = bodyOf(draft, false);
          if ('errors' in made) {
            setErrors(made.errors);
            return;
          }
          setBusy(true);
          setErrors({});
          api<Key>('PATCH', `/api/keys/${key.id}`, made.body).then(
            () => navigate(`/keys/${key.id}`),
            (failure: unknown) => {
              setErrors(errorsByField(failure));
              setBusy(false);
            },
          );
        }}
      >
        <KeySettingsForm draft={draft} onChange={setDraft} errors={errors} currentExpiry={key.expiresAt}>
          <div class="actions">
            <button type="submit" class="button button-primary" disabled={busy || draft.name.trim() === ''}>
              {busy ? 'Saving…' : 'Save changes'}
            </button>
            <a class="button button-quiet" href={`#/keys/${key.id}`}>
              Cancel
            </a>
          </div>
        </KeySettingsForm>
      </form>
    </section>
  );
}
