import { useState } from 'preact/hooks';
import { api, type IssuedKey, type Session } from '../api.ts';
import { Notice } from '../components/notice.tsx';
import { SecretReveal } from '../components/secret-reveal.tsx';
import { bodyOf, emptyDraft, errorsByField, KeySettingsForm } from '../components/key-settings-form.tsx';

/** Issues a key for one client instance, with every setting the CLI takes, and shows it once. */
export function CreateKeyPage({ session }: { session: Session }) {
  const [draft, setDraft] = useState(emptyDraft);
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [issued, setIssued] = useState<IssuedKey | null>(null);

  if (session.role !== 'write') {
    return (
      <section>
        <h1 tabIndex={-1}>Create key</h1>
        <Notice kind="info">Your admin token is read-only: creating keys needs a write token.</Notice>
      </section>
    );
  }

  if (issued !== null) {
    return (
      <section aria-labelledby="issued-title">
        <h1 id="issued-title" tabIndex={-1}>
          Key created for “{issued.name}”
        </h1>
        <div class="card">
          <SecretReveal secret={issued.key} label={`API key for ${issued.name}`} />
          <p class="muted">
            Give it to the client as <code>Authorization: Bearer &lt;key&gt;</code> or <code>X-API-Key: &lt;key&gt;</code>.
          </p>
          <div class="actions">
            <a class="button button-primary" href={`#/keys/${issued.id}`} onClick={() => setIssued(null)}>
              I have stored it: show the key’s page
            </a>
            <button
              type="button"
              class="button"
              onClick={() => {
                setIssued(null);
                setDraft(emptyDraft());
              }}
            >
              Create another
            </button>
          </div>
        </div>
      </section>
    );
  }

  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title" tabIndex={-1}>
        Create key
      </h1>
      <form
        class="card form"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          const made = bodyOf(draft, true);
          if ('errors' in made) {
            setErrors(made.errors);
            return;
          }
          setBusy(true);
          setErrors({});
          api<IssuedKey>('POST', '/api/keys', made.body).then(
            (key) => {
              setIssued(key);
              setBusy(false);
            },
            (failure: unknown) => {
              setErrors(errorsByField(failure));
              setBusy(false);
            },
          );
        }}
      >
        <KeySettingsForm draft={draft} onChange={setDraft} errors={errors}>
          <div class="actions">
            <button type="submit" class="button button-primary" disabled={busy || draft.name.trim() === ''}>
              {busy ? 'Creating…' : 'Create key'}
            </button>
            <a class="button button-quiet" href="#/keys">
              Cancel
            </a>
          </div>
        </KeySettingsForm>
      </form>
    </section>
  );
}
