import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, setSession, whenUnauthorised, type Session } from './api.ts';
import { LiveContext, useKeyEvents } from './live.ts';
import { navigate, useRoute } from './router.ts';
import { useTheme, type ThemeChoice } from './theme.ts';
import { OfflineNotice } from './components/offline-notice.tsx';
import { LoginPage } from './pages/login-page.tsx';
import { OverviewPage } from './pages/overview-page.tsx';
import { KeysPage } from './pages/keys-page.tsx';
import { CreateKeyPage } from './pages/create-key-page.tsx';
import { EditKeyPage } from './pages/edit-key-page.tsx';
import { KeyDetailPage } from './pages/key-detail-page.tsx';
import { AuditPage } from './pages/audit-page.tsx';
import { TokensPage } from './pages/tokens-page.tsx';
import { IncidentsPage } from './pages/incidents-page.tsx';
import { WebhooksPage } from './pages/webhooks-page.tsx';
import './styles.css';

function Page({ path, params, session }: { path: string; params: URLSearchParams; session: Session }) {
  if (path === '/keys/new') return <CreateKeyPage session={session} />;
  const edit = /^\/keys\/([A-Za-z0-9_]+)\/edit$/.exec(path);
  if (edit) return <EditKeyPage id={edit[1] as string} session={session} />;
  const detail = /^\/keys\/([A-Za-z0-9_]+)$/.exec(path);
  if (detail) return <KeyDetailPage id={detail[1] as string} session={session} />;
  if (path === '/keys') return <KeysPage params={params} session={session} />;
  if (path === '/audit') return <AuditPage params={params} />;
  if (path === '/tokens') return <TokensPage session={session} />;
  if (path === '/incidents') return <IncidentsPage session={session} />;
  if (path === '/webhooks') return <WebhooksPage session={session} />;
  return <OverviewPage params={params} />;
}

const NAV = [
  { path: '/overview', label: 'Overview' },
  { path: '/keys', label: 'Keys' },
  { path: '/keys/new', label: 'Create key', role: 'write' },
  { path: '/incidents', label: 'Incidents' },
  { path: '/webhooks', label: 'Webhooks' },
  { path: '/audit', label: 'Audit log' },
  { path: '/tokens', label: 'Admin tokens', role: 'write' },
];

function currentSection(path: string): string {
  if (path === '/keys/new') return '/keys/new';
  for (const section of ['/keys', '/incidents', '/webhooks', '/audit', '/tokens']) if (path.startsWith(section)) return section;
  return '/overview';
}

const THEME_LABELS: Record<ThemeChoice, string> = { system: '◐ System', light: '☀ Light', dark: '☾ Dark' };

function ThemeSwitch() {
  const { choice, choose } = useTheme();
  return (
    <div class="theme-switch">
      <label for="theme" class="visually-hidden">
        Colour theme
      </label>
      <select id="theme" value={choice} onChange={(event) => choose(event.currentTarget.value as ThemeChoice)} title="Colour theme">
        {(Object.keys(THEME_LABELS) as ThemeChoice[]).map((value) => (
          <option key={value} value={value}>
            {THEME_LABELS[value]}
          </option>
        ))}
      </select>
    </div>
  );
}

function App() {
  const [session, setSessionState] = useState<Session | null | undefined>(undefined);
  const [unreachable, setUnreachable] = useState(false);
  const route = useRoute();
  const live = useKeyEvents(session !== null && session !== undefined);

  const loadSession = () =>
    api<Session>('GET', '/api/session').then(
      (found) => {
        setUnreachable(false);
        setSession(found);
        setSessionState(found);
      },
      (failure: unknown) => {
        // Offline is not logged out: keep waiting for the API instead of asking for a token.
        if (failure instanceof ApiError && failure.problem.code === 'offline') setUnreachable(true);
        else setSessionState(null);
      },
    );

  useEffect(() => {
    whenUnauthorised(() => {
      setSession(null);
      setSessionState(null);
    });
    void loadSession();
  }, []);
  useEffect(() => {
    if (unreachable && live.connection.online) void loadSession();
  }, [unreachable, live.connection.online]);

  // Move focus to the new page's heading, so keyboard and screen-reader users land on it.
  useEffect(() => {
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [route.path]);

  if (session === undefined) {
    return unreachable ? (
      <main id="main" class="login">
        <div class="card login-card">
          <h1 tabIndex={-1}>
            <span class="brand-mark" aria-hidden="true">▥</span> Portcullis
          </h1>
          <OfflineNotice connection={live.connection} />
        </div>
      </main>
    ) : (
      <p class="loading">Loading…</p>
    );
  }
  if (session === null) {
    return (
      <LoginPage
        onLogin={(opened) => {
          setSession(opened);
          setSessionState(opened);
          if (route.path === '/' || route.path === '') navigate('/overview', true);
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
  const current = currentSection(route.path);

  return (
    <LiveContext.Provider value={live}>
      <a class="skip-link" href="#main" onClick={(event) => {
        event.preventDefault();
        document.getElementById('main')?.focus();
      }}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href="#/overview">
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
          <span class={`live ${live.connected && live.connection.online ? 'live-on' : 'live-off'}`} title={live.connected && live.connection.online ? 'Live: changes made anywhere appear here' : 'Reconnecting to live updates…'}>
            <span aria-hidden="true">●</span> {live.connected && live.connection.online ? 'Live' : 'Offline'}
          </span>
          <ThemeSwitch />
          <span class="who">
            {session.tokenName} <span class="role">{session.role}</span>
          </span>
          <button type="button" class="button button-small" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      {!live.connection.online && <OfflineNotice connection={live.connection} />}
      <main id="main" tabIndex={-1}>
        <Page path={route.path} params={route.params} session={session} />
      </main>
    </LiveContext.Provider>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
