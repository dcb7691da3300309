/**
 * The web UI end to end: Debian's Chromium (playwright-core) against the real app serving the
 * built UI and a store filled by `otwatch analyze` on real captures (the plant demo learned as the
 * baseline, then MQTT and OPC UA captures of the corpus). Each test saves a screenshot under
 * test-output/ui/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { axe, ensureUiBuilt, filledStore, launch, login, serve, shot, type Served } from './support.js';
import type { Finding } from '../../analyzers/types.js';
import { buildApp } from '../../api/app.js';
import { Store } from '../../store/store.js';
import { freePort } from '../support/net.js';

// The functions passed to page.evaluate/addInitScript run in Chromium; this file is type-checked
// with the Node libraries only, so the few browser globals they use are declared here (module scope).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, localStorage: any, getComputedStyle: any;

interface Summary {
  id: string;
  rule: string;
  severity: string;
  status: string;
  subject: string;
  title: string;
  assets: string[];
}
interface Conn {
  client: string;
  server: string;
  port: number;
  proto: string;
}

let dir = '';
let db = '';
let srv: Served;
let browser: Browser;
const contexts: Record<string, BrowserContext> = {};

async function as(user: string): Promise<Page> {
  if (!contexts[user]) {
    contexts[user] = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    // Short waits: a missing element fails in seconds, not after the 30 s default (the file must stay under ~2 min).
    contexts[user].setDefaultTimeout(8000);
    // Start in the dark theme whatever the headless browser's colour-scheme preference.
    await contexts[user].addInitScript(() => localStorage.getItem('otw-theme') || localStorage.setItem('otw-theme', 'dark'));
    await login(await contexts[user].newPage(), srv.url, user);
  }
  return contexts[user].newPage();
}

/** The API's own answer, through the same logged-in context (cookies). */
async function api<T>(page: Page, path: string): Promise<T> {
  const r = await page.request.get(srv.url + '/api/v1' + path);
  expect(r.status(), path).toBe(200);
  return (await r.json()) as T;
}

async function allPages<T>(page: Page, path: string): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const p: { items: T[]; next: string | null } = await api(page, `${path}${sep}limit=500${cursor ? `&cursor=${cursor}` : ''}`);
    out.push(...p.items);
    cursor = p.next;
  } while (cursor);
  return out;
}

beforeAll(async () => {
  await ensureUiBuilt();
  const s = await filledStore();
  dir = s.dir;
  db = s.db;
  srv = await serve(s.db);
  browser = await launch();
});

afterAll(async () => {
  await browser?.close();
  await srv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('web UI (Chromium, real store)', () => {
  it('serves the SPA: index.html at /, deep links fall back to it, /api/ misses stay JSON 404s', async () => {
    const root = await fetch(srv.url + '/');
    expect(root.status).toBe(200);
    expect(root.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await root.text();
    expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js">/);
    const deep = await fetch(srv.url + '/findings?severity=high');
    expect(await deep.text()).toBe(html);
    const miss = await fetch(srv.url + '/api/v1/no-such-route');
    expect(miss.status).toBe(404);
    expect(((await miss.json()) as { code: string }).code).toBe('OTW_ERR_ROUTE_NOT_FOUND');
    const escape = await fetch(srv.url + '/assets/%2e%2e/%2e%2e/package.json');
    expect(await escape.text()).toBe(html);
  });

  it('logs in, filters findings (in the URL), opens one, acknowledges it, and the change persists after reload', async () => {
    const page = await as('ana');
    const bad = await browser.newPage();
    await bad.goto(srv.url + '/');
    await bad.getByLabel('User').fill('ana');
    await bad.getByLabel('Password').fill('wrong-password-123');
    await bad.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => bad.getByRole('alert').textContent()).toContain('OTW_ERR_LOGIN_FAILED');
    await bad.close();

    await page.goto(srv.url + '/findings');
    await page.locator('tbody tr.row').first().waitFor();
    await page.getByRole('checkbox', { name: 'high' }).check();
    await page.getByLabel('Status').selectOption('open');
    await expect.poll(() => new URL(page.url()).search).toContain('severity=high');
    expect(new URL(page.url()).searchParams.get('status')).toBe('open');
    const want = await allPages<Summary>(page, '/findings?severity=high&status=open');
    expect(want.length).toBeGreaterThan(1);
    await expect.poll(() => page.locator('.listinfo').textContent()).toContain(`${want.length} findings`);
    const sevs = await page.locator('tbody tr.row td.c-sev').allTextContents();
    expect(new Set(sevs)).toEqual(new Set(['high']));
    expect(sevs.length).toBe(want.length);

    await page.locator('tbody tr.row').first().click();
    const id = new URL(page.url()).searchParams.get('sel')!;
    expect(id).toBe(want[0].id);
    const pane = page.locator('aside.detail');
    await expect.poll(() => pane.locator('h2').textContent()).toBe(want[0].title);
    await expect.poll(() => pane.getByTestId('detail-status').textContent()).toBe('open');
    expect(await pane.locator('dd', { hasText: 'IEC 62443-3-3 SR' }).count()).toBeGreaterThan(0);
    await shot(page, 'findings-detail');

    await pane.getByLabel('Comment').fill('seen by the night shift');
    await pane.getByRole('button', { name: 'Acknowledge' }).click();
    await expect.poll(() => pane.getByTestId('detail-status').textContent()).toBe('acknowledged');
    await page.reload();
    await expect.poll(() => page.locator('aside.detail').getByTestId('detail-status').textContent()).toBe('acknowledged');
    expect(await page.locator('aside.detail .history').textContent()).toMatch(/user:ana\s*acknowledge → acknowledged.*seen by the night shift/);
    const stored = await api<{ status: string; history: { actor: string; action: string }[] }>(page, `/findings/${id}`);
    expect(stored.status).toBe('acknowledged');
    expect(stored.history.at(-1)).toMatchObject({ actor: 'user:ana', action: 'acknowledge' });
    // The acknowledged finding left the open-only list after reload.
    expect(await page.locator('tbody tr.row').count()).toBe(want.length - 1);
    await shot(page, 'findings-acknowledged');
    await page.close();
  });

  it('moves through the table with the keyboard and opens the focused row with Enter', async () => {
    const page = await as('ana');
    await page.goto(srv.url + '/findings?sort=severity');
    const rows = page.locator('tbody tr.row');
    await rows.first().waitFor();
    const list = await allPages<Summary>(page, '/findings?sort=severity');
    await rows.first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect.poll(() => new URL(page.url()).searchParams.get('sel')).toBe(list[2].id);
    await page.keyboard.press('End');
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-idx'))).toBe(String(list.length - 1));
    await shot(page, 'findings-keyboard');
    await page.close();
  });

  it('shows findings arriving on the SSE stream without moving the selection', async () => {
    const page = await as('vic');
    await page.goto(srv.url + '/findings');
    const rows = page.locator('tbody tr.row');
    await rows.first().waitFor();
    await rows.nth(1).click();
    const sel = new URL(page.url()).searchParams.get('sel');
    // The analyst has scrolled a little: an arrival above must not move the rows under their eyes.
    await page.locator('.vt').evaluate((el) => (el.scrollTop = 102));
    const topRow = async () =>
      page.locator('.vt').evaluate((el) => {
        const y = el.getBoundingClientRect().top + 40;
        return [...el.querySelectorAll('tr.row')].find((r) => r.getBoundingClientRect().bottom > y)?.getAttribute('data-idx') ?? '';
      });
    const rowAtTop = await page.locator('tbody tr.row').nth(Number(await topRow())).textContent();
    const count = async () => Number(/^(\d+)/.exec((await page.locator('.listinfo').textContent()) ?? '')?.[1]);
    const before = await count();
    // A new finding written by another writer (as `otwatch analyze` would), reusing a real finding's fields.
    const real = srv.store.findings()[0];
    const ts = new Date(Date.now() + 3600_000).toISOString();
    const f: Finding = { ...(real as unknown as Finding), id: 'ui-live-1', subject: 'live subject', title: 'A live finding', firstSeen: ts, lastSeen: ts, evidence: [] };
    const run = srv.store.beginRun('test', []);
    srv.store.flushFindings(run, [f]);
    srv.store.finishRun(run, 'done', { firstTs: null, lastTs: null, packets: 0, events: 0, flows: 0, stats: {} });
    await expect.poll(() => page.locator('tr.fresh').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.locator('tr.fresh').textContent()).toContain('A live finding');
    expect(await count()).toBe(before + 1);
    expect(await page.locator('.listinfo').textContent()).toContain('1 new since you opened');
    expect(new URL(page.url()).searchParams.get('sel')).toBe(sel);
    expect(await page.locator('tr.selected').count()).toBe(1);
    expect(await page.locator('.vt').evaluate((el) => el.scrollTop)).toBe(102 + 34);
    expect(await page.locator(`tbody tr.row[data-idx="${await topRow()}"]`).textContent()).toBe(rowAtTop);
    await shot(page, 'findings-live');
    await page.close();
  });

  it('opens an asset page from the inventory: identity, peers, nodes and findings', async () => {
    const page = await as('vic');
    await page.goto(srv.url + '/assets');
    const assets = await allPages<{ ip: string }>(page, '/assets');
    await expect.poll(() => page.locator('tbody tr.row').count()).toBe(assets.length);
    const matrix = await allPages<Conn>(page, '/matrix');
    const ip = matrix.find((c) => c.client !== c.server)!.server;
    await page.getByRole('link', { name: ip, exact: true }).click();
    await page.getByRole('heading', { name: `Asset ${ip}` }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/assets/${ip}`);
    const peers = matrix.filter((c) => c.client === ip || c.server === ip);
    expect(await page.locator('#a-peers-h').textContent()).toBe(`Peers (${peers.length})`);
    expect(await page.locator('section[aria-labelledby="a-peers-h"] tbody tr').count()).toBe(peers.length);
    const fs = await allPages<Summary>(page, `/assets/${ip}/findings`);
    expect(await page.locator('#a-findings-h').textContent()).toBe(`Findings (${fs.length})`);
    await shot(page, 'asset');
    await page.close();
  });

  it('draws the communication map: one node per asset and one edge per link of /api/v1/matrix, new links highlighted, protocol filter', async () => {
    const page = await as('vic');
    await page.goto(srv.url + '/map');
    await page.locator('svg.graph [data-node]').first().waitFor();
    const matrix = await allPages<Conn>(page, '/matrix');
    const nodes = new Set(matrix.flatMap((c) => [c.client, c.server]));
    const links = new Set(matrix.map((c) => `${c.client}|${c.server}|${c.proto}`));
    expect(await page.locator('svg.graph [data-node]').count()).toBe(nodes.size);
    expect(await page.locator('svg.graph [data-edge]').count()).toBe(links.size);
    const fresh = (await allPages<Summary>(page, '/findings?rule=net.new-connection&status=open')).map((f) => f.subject);
    expect(fresh.length).toBeGreaterThan(0);
    const flagged = await page.locator('svg.graph path.edge.flagged').count();
    expect(flagged).toBeGreaterThan(0);
    expect(flagged).toBeLessThanOrEqual(fresh.length);
    await shot(page, 'map');
    await page.getByRole('checkbox', { name: 'mqtt' }).uncheck();
    const opcua = new Set(matrix.filter((c) => c.proto !== 'mqtt').map((c) => `${c.client}|${c.server}|${c.proto}`));
    await expect.poll(() => page.locator('svg.graph [data-edge]').count()).toBe(opcua.size);
    expect(new URL(page.url()).searchParams.getAll('hide')).toEqual(['mqtt']);
    // Keyboard: a node takes focus and Enter lists its links.
    await page.locator('svg.graph [data-node]').first().focus();
    await page.keyboard.press('Enter');
    await page.locator('aside.map-side h2').waitFor();
    await page.close();
  });

  it('shows PKI actions and Settings to an admin only; a viewer has no triage actions either', async () => {
    const viewer = await as('vic');
    await viewer.goto(srv.url + '/certificates');
    await viewer.getByRole('heading', { name: /Seen on the wire/ }).waitFor();
    const nav = viewer.getByRole('navigation', { name: 'Main' });
    expect(await nav.getByRole('link', { name: 'Settings' }).count()).toBe(0);
    expect(await viewer.getByRole('heading', { name: 'PKI actions' }).count()).toBe(0);
    expect(await viewer.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
    const certs = await allPages<unknown>(viewer, '/certificates');
    expect(await viewer.locator('section[aria-labelledby="c-wire-h"] tbody tr').count()).toBe(certs.length);
    await shot(viewer, 'certificates-viewer');
    await viewer.goto(srv.url + '/settings');
    await viewer.getByRole('heading', { name: 'Not available' }).waitFor();
    await viewer.goto(srv.url + '/findings');
    await viewer.locator('tbody tr.row').first().click();
    await viewer.locator('aside.detail h2').waitFor();
    await viewer.locator('aside.detail .facts').waitFor();
    expect(await viewer.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);
    await viewer.close();

    const admin = await as('ada');
    await admin.goto(srv.url + '/certificates');
    await admin.getByRole('heading', { name: 'PKI actions' }).waitFor();
    expect(await admin.getByRole('button', { name: 'Revoke' }).count()).toBe(1);
    await shot(admin, 'certificates-admin');
    await admin.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
    await admin.getByLabel('Name', { exact: true }).fill('ui-made');
    await admin.getByRole('button', { name: 'Create token' }).click();
    await expect.poll(() => admin.locator('.secret code').textContent()).toMatch(/^otw_/);
    const tokens = await api<{ items: { name: string; createdBy: string }[] }>(admin, '/tokens');
    expect(tokens.items.find((t) => t.name === 'ui-made')?.createdBy).toBe('user:ada');
    await shot(admin, 'settings-admin');
    await admin.close();
  });

  it('shows the Reports page only when the server offers GET /api/v1/reports', async () => {
    const page = await as('ada');
    await page.goto(srv.url + '/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const r = await page.request.get(srv.url + '/api/v1/reports?limit=1');
    const link = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' });
    await expect.poll(() => link.count()).toBe(r.status() === 200 ? 1 : 0);
    if (r.status() === 200) {
      // The reports API is there: create one through the page and download it.
      await link.click();
      await page.getByLabel('Format').selectOption('json');
      await page.getByRole('button', { name: 'Create' }).click();
      const list = page.locator('section[aria-labelledby="r-list-h"] tbody tr');
      await expect.poll(() => list.count(), { timeout: 30_000 }).toBeGreaterThan(0);
      const href = await list.first().getByRole('link', { name: 'JSON' }).getAttribute('href');
      const file = await page.request.get(srv.url + href!);
      expect(file.status()).toBe(200);
      const listed = (await api<{ items: { sha256: string }[] }>(page, '/reports')).items[0];
      expect(createHash('sha256').update(await file.body()).digest('hex')).toBe(listed.sha256);
      await shot(page, 'reports');
    }
    // A viewer may not list reports (auditor): no menu entry.
    const viewer = await as('vic');
    await viewer.goto(srv.url + '/');
    await viewer.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(await viewer.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports' }).count()).toBe(0);
    await viewer.close();
    await page.close();
  });

  it('renders the overview from /api/v1/overview, in both themes and at tablet size', async () => {
    const page = await as('vic');
    await page.goto(srv.url + '/');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const o = await api<{ byCategory: { category: string; n: number }[]; timeline: unknown[] }>(page, '/overview');
    const cat = page.locator('section[aria-labelledby="ov-cat-h"] li');
    expect(await cat.count()).toBe(o.byCategory.length);
    expect(await cat.first().locator('.bl-n').textContent()).toBe(String(o.byCategory[0].n));
    expect(await page.locator('section[aria-labelledby="ov-time-h"] svg g title').count()).toBe(o.timeline.length);
    await shot(page, 'overview-dark');
    await page.getByRole('button', { name: /Switch to the light theme/ }).click();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('light');
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe('rgb(246, 248, 250)');
    await shot(page, 'overview-light');
    await page.setViewportSize({ width: 820, height: 1180 });
    await page.goto(srv.url + '/findings');
    await page.locator('tbody tr.row').first().click();
    await page.locator('aside.detail .facts').waitFor();
    const table = await page.locator('.vt').boundingBox();
    const pane = await page.locator('aside.detail').boundingBox();
    expect(pane!.y).toBeGreaterThan(table!.y + table!.height - 1); // stacked under the table on a tablet
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(820);
    await shot(page, 'findings-tablet-light');
    await page.close();
  });

  it('lets an admin approve a baseline finding and remove a baseline item; a viewer only reads the baseline, in pages, filtered', async () => {
    type Item = { kind: string; key: string; origin: string };
    const viewer = await as('vic');
    await viewer.goto(srv.url + '/baseline');
    const summary = await api<{ items: number; kinds: { kind: string; items: number }[] }>(viewer, '/baseline/summary');
    expect(summary.items).toBeGreaterThan(0);
    const rows = viewer.locator('section[aria-labelledby="b-items-h"] tbody tr');
    await rows.first().waitFor();
    const firstPage = (await api<{ items: Item[]; next: string | null }>(viewer, '/baseline?limit=200')).items;
    expect(await rows.count()).toBe(firstPage.length);
    expect(await viewer.getByRole('button', { name: /^(Approve|Remove)/ }).count()).toBe(0);
    // The kind filter goes into the URL and shows that kind only, as many rows as the summary counts (up to a page).
    const kind = summary.kinds[summary.kinds.length - 1];
    await viewer.locator('select[name="kind"]').selectOption(kind.kind);
    await expect.poll(() => viewer.url()).toContain(`kind=${kind.kind}`);
    await expect.poll(() => rows.count()).toBe(Math.min(kind.items, 200));
    expect(new Set(await rows.locator('td:first-child').allInnerTexts())).toEqual(new Set([kind.kind]));
    await shot(viewer, 'baseline-viewer-kind');
    await viewer.close();

    const admin = await as('ada');
    await admin.goto(srv.url + '/baseline');
    const pending = admin.locator('section[aria-labelledby="b-pending-h"] li');
    await pending.first().waitFor();
    const n = await pending.count();
    await pending.first().getByRole('button', { name: 'Approve' }).click();
    await expect.poll(() => pending.count()).toBe(n - 1);
    const approved = (await api<{ items: Item[] }>(admin, '/baseline?origin=approved&limit=500')).items;
    expect(approved.length).toBeGreaterThan(0);
    // Remove the approved item, found through the search box.
    const victim = approved[0];
    const before = (await api<{ items: number }>(admin, '/baseline/summary')).items;
    await admin.getByRole('searchbox', { name: 'Search' }).fill(victim.key);
    await expect.poll(() => admin.url()).toContain('q=');
    await admin.getByRole('button', { name: `Remove ${victim.kind} ${victim.key}` }).click();
    await expect.poll(async () => (await api<{ items: number }>(admin, '/baseline/summary')).items).toBe(before - 1);
    await expect.poll(() => admin.getByRole('button', { name: `Remove ${victim.kind} ${victim.key}` }).count()).toBe(0);
    await shot(admin, 'baseline-admin');
    await admin.close();
  });

  it('lets an admin add a user in Settings, who then logs in with that role; role change and removal', async () => {
    const page = await as('ada');
    page.on('dialog', (d) => void d.accept());
    await page.goto(srv.url + '/settings');
    const users = page.locator('section[aria-labelledby="s-users-h"]');
    await users.locator('table').waitFor();
    // The admin's own row offers no removal and no role change.
    await expect.poll(() => users.locator('tr[data-user="ada"]').textContent()).toContain('admin (you)');
    expect(await users.getByRole('button', { name: 'Remove user ada' }).count()).toBe(0);
    await users.getByLabel('User name').fill('newbie');
    await users.locator('form[aria-label="Add a user"] select').selectOption('analyst');
    await users.getByLabel(/^Password/).fill('newbie-pass-0123456');
    await users.getByRole('button', { name: 'Add user' }).click();
    await users.locator('tr[data-user="newbie"]').waitFor();
    expect(await users.getByLabel('Role of newbie').inputValue()).toBe('analyst');
    // A second browser logs in as the new user.
    const other = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    other.setDefaultTimeout(8000);
    try {
      const p2 = await other.newPage();
      await p2.goto(srv.url + '/');
      await p2.getByLabel('User').fill('newbie');
      await p2.getByLabel('Password').fill('newbie-pass-0123456');
      await p2.getByRole('button', { name: 'Log in' }).click();
      await p2.getByRole('navigation', { name: 'Main' }).waitFor();
      expect(await (await p2.request.get(srv.url + '/api/v1/me')).json()).toMatchObject({ name: 'user:newbie', role: 'analyst' });
      await shot(p2, 'new-user-logged-in');
      // The admin makes them a viewer: the open session takes the new role at once.
      await users.getByLabel('Role of newbie').selectOption('viewer');
      await expect.poll(async () => ((await (await p2.request.get(srv.url + '/api/v1/me')).json()) as { role: string }).role).toBe('viewer');
      await shot(page, 'settings-users');
      await users.getByRole('button', { name: 'Remove user newbie' }).click();
      await expect.poll(() => users.locator('tr[data-user="newbie"]').count()).toBe(0);
      expect((await p2.request.get(srv.url + '/api/v1/me')).status()).toBe(401);
    } finally {
      await other.close();
    }
    // The thresholds table shows the server's effective configuration (defaults: no --config).
    const th = page.locator('section[aria-labelledby="s-thresholds-h"]');
    const cfg = await api<{ config: { connectFlood: { max: number } } }>(page, '/config/thresholds');
    expect(await th.locator('tr[data-setting="connectFlood.max"] td').first().textContent()).toBe(String(cfg.config.connectFlood.max));
    await page.close();
  });

  it('filters the map by declared zone and dots links crossing zones outside every conduit', async () => {
    // A second server on the same store with a config file declaring two zones for its addresses:
    // `cell` holds one server of a link between two IPv4 hosts, `site` every other IPv4 address.
    const matrix = srv.store.db.prepare('SELECT client, server, port, proto FROM connections').all() as Conn[];
    const pick = matrix.find((c) => c.client !== c.server && !c.server.includes(':') && !c.client.includes(':'));
    expect(pick).toBeDefined();
    const cfgFile = join(dir, 'zones.json');
    writeFileSync(cfgFile, JSON.stringify({ zones: { zones: [{ name: 'cell', assets: [pick!.server] }, { name: 'site', cidrs: ['0.0.0.0/0'] }] } }));
    const store = Store.open(db);
    const app = await buildApp({ store, rateLimit: false, loginRateLimit: 1000, reportsConfig: cfgFile });
    const port = await freePort();
    await app.listen({ host: '127.0.0.1', port });
    const url = `http://127.0.0.1:${port}`;
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    ctx.setDefaultTimeout(8000);
    try {
      const page = await ctx.newPage();
      await login(page, url, 'vic');
      await page.goto(url + '/map');
      await page.locator('svg.graph [data-node]').first().waitFor();
      const zones = (await (await page.request.get(url + '/api/v1/zones')).json()) as { assets: Record<string, string>; flows: (Conn & { via: string | null })[] };
      const zoneOf = (ip: string) => zones.assets[ip] ?? 'unzoned';
      expect(await page.locator(`svg.graph [data-node="${pick!.server}"]`).getAttribute('data-zone')).toBe('cell');
      const bad = new Set(zones.flows.filter((f) => f.via === null).map((f) => `${f.client}|${f.server}|${f.proto}`));
      expect(bad.has(`${pick!.client}|${pick!.server}|${pick!.proto}`)).toBe(true);
      const dashed = await page.locator('svg.graph path.edge[data-unconduited]').evaluateAll((els) => els.map((e) => (e as unknown as { getAttribute: (n: string) => string }).getAttribute('data-edge')));
      expect(new Set(dashed)).toEqual(bad);
      await shot(page, 'map-zones');
      // Hiding the zone `cell` removes its assets and every link touching them.
      await page.getByRole('checkbox', { name: 'cell' }).uncheck();
      const links = new Set(matrix.filter((c) => zoneOf(c.client) !== 'cell' && zoneOf(c.server) !== 'cell').map((c) => `${c.client}|${c.server}|${c.proto}`));
      await expect.poll(() => page.locator('svg.graph [data-edge]').count()).toBe(links.size);
      expect(await page.locator(`svg.graph [data-node="${pick!.server}"]`).count()).toBe(0);
      expect(await page.locator('svg.graph [data-node][data-zone="cell"]').count()).toBe(0);
      expect(new URL(page.url()).searchParams.getAll('zhide')).toEqual(['cell']);
      await shot(page, 'map-zone-filter');
      await page.close();
      // The zone legend and filter stay accessible.
      const found: string[] = [];
      for (const theme of ['dark', 'light'] as const) found.push(...(await axe(browser, ctx, url, [['/map', 'svg.graph [data-zone]']], theme)));
      expect(found).toEqual([]);
    } finally {
      await ctx.close();
      await app.close();
      store.close();
    }
  });

  it('has no serious or critical axe-core violation on any page, in both themes', async () => {
    const ctx = contexts.ada ?? (await as('ada')).context();
    const ip = (await allPages<{ ip: string }>(await ctx.newPage(), '/assets'))[0].ip;
    const pages: [string, string][] = [
      ['/', 'section[aria-labelledby="ov-time-h"]'],
      ['/findings?sel=' + encodeURIComponent(srv.store.findings()[0].id), 'aside.detail .facts'],
      ['/assets', 'tbody tr.row'],
      [`/assets/${ip}`, '#a-peers-h'],
      ['/map', 'svg.graph [data-node]'],
      ['/certificates', 'section[aria-labelledby="c-wire-h"]'],
      ['/baseline', 'h1'],
      // Settings with its three tables loaded (tokens, users, thresholds).
      ['/settings', 'div.settings:has(section[aria-labelledby="s-tokens-h"] table):has(section[aria-labelledby="s-users-h"] table):has(section[aria-labelledby="s-thresholds-h"] table)'],
    ];
    if ((await ctx.request.get(srv.url + '/api/v1/reports?limit=1')).status() === 200) pages.push(['/reports', 'section[aria-labelledby="r-list-h"]']);
    const found: string[] = [];
    for (const theme of ['dark', 'light'] as const) found.push(...(await axe(browser, ctx, srv.url, pages, theme)));
    // The login page, logged out.
    const anon = await browser.newContext();
    for (const theme of ['dark', 'light'] as const) found.push(...(await axe(browser, anon, srv.url, [['/', 'form']], theme)));
    await anon.close();
    const page = await ctx.newPage();
    await page.goto(srv.url + '/map');
    await page.locator('svg.graph').waitFor();
    await shot(page, 'axe-last-page');
    await page.close();
    expect(found).toEqual([]);
  });
});
