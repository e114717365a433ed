import { useState } from 'preact/hooks';
import { api, type IssuedKey, type Session } from '../api.ts';
import { errorText, Notice } from '../components/notice.tsx';
import { SecretReveal } from '../components/secret-reveal.tsx';
import { ChoiceSelect } from '../components/choice-select.tsx';

const EXPIRY_CHOICES = [
  { value: '', label: 'Never' },
  { value: '1d', label: 'In 1 day' },
  { value: '7d', label: 'In 7 days' },
  { value: '30d', label: 'In 30 days' },
  { value: '90d', label: 'In 90 days' },
  { value: '365d', label: 'In 1 year' },
];

export function parseTagList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map((tag) => tag.trim()).filter((tag) => tag !== ''))];
}

/** Issues a key for one client instance and shows it once. */
export function CreateKeyPage({ session }: { session: Session }) {
  const [name, setName] = useState('');
  const [tags, setTags] = useState('');
  const [expiresIn, setExpiresIn] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
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
                setName('');
                setTags('');
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
        onSubmit={(event) => {
          event.preventDefault();
          setBusy(true);
          setError(null);
          api<IssuedKey>('POST', '/api/keys', { name: name.trim(), tags: parseTagList(tags), ...(expiresIn === '' ? {} : { expiresIn }) }).then(
            (key) => {
              setIssued(key);
              setBusy(false);
            },
            (failure: unknown) => {
              setError(errorText(failure));
              setBusy(false);
            },
          );
        }}
      >
        <div class="field">
          <label for="key-name">Client name</label>
          <input id="key-name" required maxLength={128} value={name} onInput={(event) => setName(event.currentTarget.value)} aria-describedby="key-name-help" />
          <p id="key-name-help" class="help">
            The one client instance this key is for, such as <code>web-1</code> or <code>ios-build-42</code>. One key per instance lets you revoke one without the others.
          </p>
        </div>
        <div class="field">
          <label for="key-tags">Tags</label>
          <input id="key-tags" value={tags} onInput={(event) => setTags(event.currentTarget.value)} aria-describedby="key-tags-help" placeholder="frontend, eu" />
          <p id="key-tags-help" class="help">
            Optional, separated by commas. Revoking a tag bans every key that carries it.
          </p>
        </div>
        <div class="field">
          <ChoiceSelect id="key-expiry" label="Expires" value={expiresIn} choices={EXPIRY_CHOICES} onChange={setExpiresIn} />
        </div>
        {error !== null && <Notice kind="error">{error}</Notice>}
        <div class="actions">
          <button type="submit" class="button button-primary" disabled={busy || name.trim() === ''}>
            {busy ? 'Creating…' : 'Create key'}
          </button>
          <a class="button button-quiet" href="#/keys">
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
