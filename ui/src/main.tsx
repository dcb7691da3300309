/**
 * The otwatch web UI: the shell (session, navigation by role, theme) and the page table.
 * Every page is a component of ui/src/pages; what a user sees follows GET /api/v1/me.
 */
import { render, type ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, can, get, post, setUnauthenticatedHandler, type Me, type Role } from './api.js';
import { Link } from './components/common.js';
import { navigate, useRoute, type Route } from './router.js';
import { Login } from './pages/Login.js';
import { Overview } from './pages/Overview.js';
import { Findings } from './pages/Findings.js';
import { Assets, AssetPage } from './pages/Assets.js';
import { CommMap } from './pages/Map.js';
import { Process } from './pages/Process.js';
import { Certificates } from './pages/Certificates.js';
import { BaselinePage } from './pages/Baseline.js';
import { Reports } from './pages/Reports.js';
import { Settings } from './pages/Settings.js';
import './styles.css';

export interface PageProps {
  me: Me;
  route: Route;
  params: string[];
}

interface PageEntry {
  match: RegExp;
  title: string;
  nav?: string;
  need: Role;
  page: ComponentType<PageProps>;
  /** Shown only when the server offers it (the reports API arrives with its own issue). */
  optional?: 'reports';
}

/** Pages by path, in menu order. */
const PAGES: PageEntry[] = [
  { match: /^\/$/, title: 'Overview', nav: '/', need: 'viewer', page: Overview },
  { match: /^\/findings$/, title: 'Findings', nav: '/findings', need: 'viewer', page: Findings },
  { match: /^\/assets$/, title: 'Assets', nav: '/assets', need: 'viewer', page: Assets },
  { match: /^\/assets\/([^/]+)$/, title: 'Asset', need: 'viewer', page: AssetPage },
  { match: /^\/map$/, title: 'Communication map', nav: '/map', need: 'viewer', page: CommMap },
  { match: /^\/process$/, title: 'Process', nav: '/process', need: 'viewer', page: Process },
  { match: /^\/certificates$/, title: 'Certificates', nav: '/certificates', need: 'viewer', page: Certificates },
  { match: /^\/baseline$/, title: 'Baseline', nav: '/baseline', need: 'viewer', page: BaselinePage },
  { match: /^\/reports$/, title: 'Reports', nav: '/reports', need: 'auditor', page: Reports, optional: 'reports' },
  { match: /^\/settings$/, title: 'Settings', nav: '/settings', need: 'admin', page: Settings },
];

type Theme = 'dark' | 'light';
function initialTheme(): Theme {
  const t = localStorage.getItem('otw-theme');
  if (t === 'dark' || t === 'light') return t;
  return matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

function App() {
  const route = useRoute();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [reports, setReports] = useState(false);
  const [theme, setTheme] = useState<Theme>(initialTheme);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('otw-theme', theme);
  }, [theme]);

  const loadMe = () =>
    get<Me>('/me').then(
      (m) => {
        setMe(m);
        // The Reports page appears only when the server answers its list (404: not offered).
        get('/reports?limit=1').then(
          () => setReports(true),
          () => setReports(false),
        );
      },
      () => setMe(null),
    );
  useEffect(() => {
    setUnauthenticatedHandler(() => setMe(null));
    void loadMe();
  }, []);

  const entry = PAGES.find((p) => p.match.test(route.path));
  useEffect(() => {
    document.title = `${me === null ? 'Log in' : (entry?.title ?? 'Not found')} · otwatch`;
  }, [entry, me]);

  if (me === undefined) return <p class="muted boot">Loading…</p>;
  if (me === null) return <Login onLogin={() => void loadMe()} />;

  const visible = (p: PageEntry) => can(me.role, p.need) && (p.optional !== 'reports' || reports);
  const params = entry ? (entry.match.exec(route.path) ?? []).slice(1).map(decodeURIComponent) : [];
  const Page = entry && visible(entry) ? entry.page : null;
  const logout = () => post('/logout', {}).catch((e: ApiFailure) => e).finally(() => setMe(null));

  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">otwatch</span>
        <nav aria-label="Main">
          <ul>
            {PAGES.filter((p) => p.nav && visible(p)).map((p) => (
              <li key={p.nav}>
                <Link href={p.nav!} aria-current={entry === p || (p.nav === '/assets' && route.path.startsWith('/assets/')) ? 'page' : undefined}>
                  {p.title}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          <span title={me.kind}>
            {me.name} <span class="role">({me.role})</span>
          </span>
          <button type="button" class="ghost" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} aria-label={`Switch to the ${theme === 'dark' ? 'light' : 'dark'} theme`}>
            {theme === 'dark' ? 'Light' : 'Dark'} theme
          </button>
          <button type="button" class="ghost" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {Page ? (
          <Page me={me} route={route} params={params} />
        ) : (
          <section class="card">
            <h1>{entry ? 'Not available' : 'Not found'}</h1>
            <p>{entry ? `Your role (${me.role}) cannot open this page.` : `No page at ${route.path}.`}</p>
            <button type="button" onClick={() => navigate('/')}>
              Go to the overview
            </button>
          </section>
        )}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
