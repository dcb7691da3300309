/**
 * The Process page (issue 13) end to end: Debian's Chromium (playwright-core) against the real app
 * serving the built UI and a store filled by `otwatch analyze` of samples/plant-demo.pcap (Sparkplug
 * metrics, an OPC UA node, an NCMD and an OPC UA Write). The capture lasts ~5 s, so the analysis
 * uses a 0.2 s history interval (the default 15 s would keep one point per tag) and links two
 * Sparkplug metrics so that a `process.source-divergence` finding exists. Screenshots go to
 * test-output/ui/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { analyzeCommand } from '../../cli/analyze.js';
import { PASSWORD_ENV, userCommand } from '../../cli/user.js';
import { memIo } from '../analyzers/helpers.js';
import { axe, ensureUiBuilt, launch, login, SAMPLE, serve, shot, USERS, type Served } from './support.js';

// Functions passed to page.evaluate/addInitScript run in Chromium (this file sees Node's types only).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, localStorage: any;

interface Tag {
  id: string;
  key: string;
  value: unknown;
  type: string | null;
  quality: string | null;
  asset: string | null;
  writer: { client?: string | null; ip?: string } | null;
}
interface Detail {
  tag: Tag;
  history: { ts: string; value: number }[];
  findings: { id: string; rule: string }[];
}

const SPEED = 'sp:Plant1/EdgeNode1:Line/Speed';
const PRESSURE = 'sp:Plant1/EdgeNode1/Pump1:Pressure';
const REBIRTH = 'sp:Plant1/EdgeNode1:Node Control/Rebirth';

let dir = '';
let srv: Served;
let browser: Browser;
let ctx: BrowserContext;
const cspErrors: string[] = [];

async function run(fn: typeof analyzeCommand, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  const m = memIo();
  m.io.env = env;
  const code = await fn(argv, m.io);
  if (code > 1) throw new Error(`${argv.join(' ')}: exit ${code}: ${m.err()}`);
}

async function newPage(): Promise<Page> {
  const page = await ctx.newPage();
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
  });
  return page;
}

async function api<T>(page: Page, path: string): Promise<T> {
  const r = await page.request.get(srv.url + '/api/v1' + path);
  expect(r.status(), path).toBe(200);
  return (await r.json()) as T;
}

/** Every tag the API lists for a query (cursor loop). */
async function tags(page: Page, query = ''): Promise<Tag[]> {
  const out: Tag[] = [];
  let cursor: string | null = null;
  do {
    const p: { items: Tag[]; next: string | null } = await api(page, `/tags?limit=500${query}${cursor ? `&cursor=${cursor}` : ''}`);
    out.push(...p.items);
    cursor = p.next;
  } while (cursor);
  return out;
}

const keysInView = (page: Page) => page.locator('tbody tr.row td.c-tag').allTextContents();

beforeAll(async () => {
  await ensureUiBuilt();
  dir = mkdtempSync(join(tmpdir(), 'otw-ui-process-'));
  const db = join(dir, 'store.db');
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify({ process: { historyIntervalSec: 0.2, links: [{ tags: [SPEED, PRESSURE], tolerance: 0.5 }] } }));
  await run(analyzeCommand, [SAMPLE, '--db', db, '--config', cfg, '--format', 'ndjson']);
  await run(userCommand, ['add', 'vic', '--db', db, '--role', 'viewer'], { [PASSWORD_ENV]: USERS.vic.password });
  srv = await serve(db);
  browser = await launch();
  ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  ctx.setDefaultTimeout(8000);
  await ctx.addInitScript(() => localStorage.getItem('otw-theme') || localStorage.setItem('otw-theme', 'dark'));
  await login(await ctx.newPage(), srv.url, 'vic');
});

afterAll(async () => {
  await browser?.close();
  await srv?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Process page (Chromium, store of the plant demo)', () => {
  it('lists the same tags as GET /api/v1/tags, with values, writers and one sparkline per row', async () => {
    const page = await newPage();
    await page.goto(srv.url + '/');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Process' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/process');
    const want = await tags(page);
    expect(want.length).toBeGreaterThanOrEqual(6);
    await expect.poll(() => page.locator('.listinfo').textContent()).toBe(`${want.length} tags`);
    expect(await keysInView(page)).toEqual(want.map((t) => t.key));
    for (const key of [SPEED, PRESSURE, 'ua:127.0.0.1:4840:ns=1;s=Counter']) {
      const t = want.find((x) => x.key === key)!;
      expect(t, key).toBeTruthy();
      const row = page.locator('tbody tr.row', { has: page.locator('td.c-tag', { hasText: key }) });
      expect(await row.locator('td.c-value').textContent()).toBe(JSON.stringify(t.value));
      expect(await row.locator('td.c-type').textContent()).toBe(t.type);
      expect(await row.locator('td.c-quality').textContent()).toBe(t.quality);
      expect(await row.locator('td.c-asset').textContent()).toBe(t.asset);
    }
    const rebirth = page.locator('tbody tr.row', { has: page.locator('td.c-tag', { hasText: REBIRTH }) });
    expect(await rebirth.locator('td.c-writer').textContent()).toContain(want.find((t) => t.key === REBIRTH)!.writer!.client!);
    // Every row gets its sparkline; the one of Line/Speed has a vertex per stored history point.
    await expect.poll(() => page.locator('tbody tr.row svg.spark').count()).toBe(want.length);
    const speed = await api<Detail>(page, `/tags/${want.find((t) => t.key === SPEED)!.id}`);
    expect(speed.history.length).toBeGreaterThan(5);
    const line = page.locator('tbody tr.row', { has: page.locator('td.c-tag', { hasText: SPEED }) }).locator('polyline.spark-line');
    expect((await line.getAttribute('points'))!.trim().split(/\s+/).length).toBe(speed.history.length);
    await shot(page, 'process-list');
    await page.close();
  });

  it('narrows the list by text and by source, keeps both in the URL, and a reload keeps them', async () => {
    const page = await newPage();
    await page.goto(srv.url + '/process');
    await page.locator('tbody tr.row').first().waitFor();
    await page.getByLabel('Search').fill('Pump1');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('Pump1');
    const pump = await tags(page, '&q=Pump1');
    expect(pump.length).toBe(2);
    await expect.poll(() => keysInView(page)).toEqual(pump.map((t) => t.key));
    await page.reload();
    await expect.poll(() => keysInView(page)).toEqual(pump.map((t) => t.key));
    expect(await page.getByLabel('Search').inputValue()).toBe('Pump1');

    await page.getByRole('button', { name: 'Clear filters' }).click();
    await page.getByLabel('Source').selectOption('opcua');
    await expect.poll(() => new URL(page.url()).search).toBe('?source=opcua');
    const ua = await tags(page, '&source=opcua');
    expect(ua.length).toBeGreaterThan(0);
    await expect.poll(() => keysInView(page)).toEqual(ua.map((t) => t.key));
    // A bad asset filter is the API's 400 with its stable code, shown in the page (no crash).
    await page.getByLabel('Asset').fill('not an address');
    await page.getByLabel('Asset').press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('OTW_ERR_');
    await page.close();
  });

  it('opens a tag from the keyboard: history points match the API, writer, timestamps, and its finding links to the findings page', async () => {
    const page = await newPage();
    await page.goto(srv.url + '/process');
    await page.locator('tbody tr.row').first().waitFor();
    const keys = await keysInView(page);
    const at = keys.indexOf(SPEED);
    expect(at).toBeGreaterThan(0);
    await page.locator('tbody tr.row').first().focus();
    for (let i = 0; i < at; i++) await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const all = await tags(page);
    const id = all.find((t) => t.key === SPEED)!.id;
    await expect.poll(() => new URL(page.url()).searchParams.get('sel')).toBe(id);
    const d = await api<Detail>(page, `/tags/${id}`);
    await page.locator('.tag-detail circle.hist-pt').first().waitFor();
    expect(await page.locator('.tag-detail circle.hist-pt').count()).toBe(d.history.length);
    expect(await page.locator('.tag-detail polyline.hist-line').getAttribute('points')).toBeTruthy();
    expect(await page.locator('#tag-h').textContent()).toBe(SPEED);
    expect(d.findings.map((f) => f.rule)).toContain('process.source-divergence');
    await shot(page, 'process-detail');

    const f = d.findings.find((x) => x.rule === 'process.source-divergence')!;
    await page.locator('.tag-findings').getByRole('link', { name: 'process.source-divergence' }).click();
    await expect.poll(() => new URL(page.url()).pathname).toBe('/findings');
    expect(new URL(page.url()).searchParams.get('sel')).toBe(f.id);
    await page.locator('#detail-h').waitFor();
    const title = (await api<{ title: string }>(page, `/findings/${f.id}`)).title;
    await expect.poll(() => page.locator('#detail-h').textContent()).toBe(title);
    expect(await page.locator('tbody tr.row').count()).toBe(1);

    // The last writer of the Rebirth control (an NCMD from the SCADA host).
    const rb = all.find((t) => t.key === REBIRTH)!;
    await page.goto(srv.url + `/process?sel=${rb.id}`);
    await expect.poll(() => page.getByTestId('tag-writer').textContent()).toContain(rb.writer!.client!);
    await page.locator('.tag-detail').locator('button').first().click();
    await expect.poll(() => new URL(page.url()).searchParams.get('sel')).toBeNull();
    await page.close();
  });

  it('has no serious or critical axe-core violation in both themes, fits a tablet, and breaks no CSP rule', async () => {
    const page = await newPage();
    const id = (await tags(page)).find((t) => t.key === SPEED)!.id;
    const pages: [string, string][] = [
      ['/process', 'tbody tr.row svg.spark'],
      [`/process?sel=${id}`, '.tag-detail circle.hist-pt'],
    ];
    const found = [...(await axe(browser, ctx, srv.url, pages, 'dark')), ...(await axe(browser, ctx, srv.url, pages, 'light'))];
    expect(found).toEqual([]);

    await page.setViewportSize({ width: 820, height: 1180 });
    await page.goto(srv.url + `/process?sel=${id}`);
    await page.locator('.tag-detail circle.hist-pt').first().waitFor();
    const overflow = (await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, 'process-tablet');
    await page.evaluate(() => localStorage.setItem('otw-theme', 'light'));
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.reload();
    await page.locator('.tag-detail circle.hist-pt').first().waitFor();
    await shot(page, 'process-light');
    await page.evaluate(() => localStorage.setItem('otw-theme', 'dark'));
    expect(cspErrors).toEqual([]);
    await page.close();
  });
});
