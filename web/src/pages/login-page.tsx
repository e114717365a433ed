import { useState } from 'preact/hooks';
import { api, type Session } from '../api.ts';
import { errorText, Notice } from '../components/notice.tsx';

export function LoginPage({ onLogin }: { onLogin: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  return (
    <main class="login" id="main">
      <form
        class="card login-card"
        onSubmit={(event) => {
          event.preventDefault();
          setBusy(true);
          setError(null);
          api<Session>('POST', '/api/session', { token: token.trim() }).then(
            (session) => {
              setToken('');
              onLogin(session);
            },
            (failure: unknown) => {
              setError(errorText(failure));
              setBusy(false);
            },
          );
        }}
      >
        <h1 tabIndex={-1}>
          <span class="brand-mark" aria-hidden="true">▥</span> Portcullis
        </h1>
        <p class="muted">Log in with an admin token. Create one on the gateway host with:</p>
        <pre class="command">portcullis admin token create --role write</pre>
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} required value={token} onInput={(event) => setToken(event.currentTarget.value)} placeholder="pcladmin_…" />
        {error !== null && <Notice kind="error">{error}</Notice>}
        <button type="submit" class="button button-primary button-wide" disabled={busy || token.trim() === ''}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </main>
  );
}
