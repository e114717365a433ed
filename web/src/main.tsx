import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setSession, whenUnauthorised, type Session } from './api.ts';
import { LiveContext, useKeyEvents } from './live.ts';
import { navigate, useRoute } from './router.ts';
import { LoginPage } from './pages/login-page.tsx';
import { KeysPage } from './pages/keys-page.tsx';
import { CreateKeyPage } from './pages/create-key-page.tsx';
import { KeyDetailPage } from './pages/key-detail-page.tsx';
import { AuditPage } from './pages/audit-page.tsx';
import './styles.css';

function Page({ path, params, session }: { path: string; params: URLSearchParams; session: Session }) {
  if (path === '/keys/new') return <CreateKeyPage session={session} />;
  const detail = /^\/keys\/([A-Za-z0-9_]+)$/.exec(path);
  if (detail) return <KeyDetailPage id={detail[1] as string} session={session} />;
  if (path === '/audit') return <AuditPage />;
  return <KeysPage params={params} session={session} />;
}

const NAV = [
  { path: '/keys', label: 'Keys' },
  { path: '/keys/new', label: 'Create key', role: 'write' },
  { path: '/audit', label: 'Audit log' },
];

function App() {
  const [session, setSessionState] = useState<Session | null | undefined>(undefined);
  const route = useRoute();
  const live = useKeyEvents(session !== null && session !== undefined);

  useEffect(() => {
    whenUnauthorised(() => {
      setSession(null);
      setSessionState(null);
    });
    api<Session>('GET', '/api/session').then(
      (found) => {
        setSession(found);
        setSessionState(found);
      },
      () => setSessionState(null),
    );
  }, []);

  // Move focus to the new page's heading, so keyboard and screen-reader users land on it.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [route.path]);

  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session === null) {
    return (
      <LoginPage
        onLogin={(opened) => {
          setSession(opened);
          setSessionState(opened);
          if (route.path === '/' || route.path === '') navigate('/keys', true);
        }}
      />
    );
  }

  const logout = () => {
    api('DELETE', '/api/session').finally(() => {
      setSession(null);
      setSessionState(null);
    });
  };
  const current = route.path === '/keys/new' ? '/keys/new' : route.path.startsWith('/audit') ? '/audit' : '/keys';

  return (
    <LiveContext.Provider value={live}>
      <a class="skip-link" href="#main" onClick={(event) => {
        event.preventDefault();
        document.getElementById('main')?.focus();
      }}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/keys">
          <span class="brand-mark" aria-hidden="true">▥</span> Portcullis
        </a>
        <nav aria-label="Main">
          <ul>
            {NAV.filter((item) => item.role === undefined || item.role === session.role).map((item) => (
              <li key={item.path}>
                <a href={`#${item.path}`} aria-current={current === item.path ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="whoami">
          <span class={`live ${live.connected ? 'live-on' : 'live-off'}`} title={live.connected ? 'Live: changes made anywhere appear here' : 'Reconnecting to live updates…'}>
            <span aria-hidden="true">●</span> {live.connected ? 'Live' : 'Offline'}
          </span>
          <span class="who">
            {session.tokenName} <span class="role">{session.role}</span>
          </span>
          <button type="button" class="button button-small" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page path={route.path} params={route.params} session={session} />
      </main>
    </LiveContext.Provider>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
