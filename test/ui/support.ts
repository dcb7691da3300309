/**
 * Helpers for the web UI's end-to-end tests: build the UI when dist/ui is missing or older than
 * ui/ (one build at a time across test workers), fill a store with `otwatch analyze` on real
 * captures, add users with `otwatch user add`, serve it with the real app on a free loopback port,
 * and drive Debian's Chromium through playwright-core.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { FastifyInstance } from 'fastify';
import { analyzeCommand } from '../../cli/analyze.js';
import { userCommand, PASSWORD_ENV } from '../../cli/user.js';
import { buildApp } from '../../api/app.js';
import { Store } from '../../store/store.js';
import { memIo } from '../analyzers/helpers.js';
import { corpusFiles } from '../support/corpus.js';
import { freePort } from '../support/net.js';

// The functions passed to page.evaluate/addInitScript run in Chromium; this file is type-checked
// with the Node libraries only, so the few browser globals they use are declared here (module scope).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any, window: any, localStorage: any;

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const UI_SRC = join(ROOT, 'ui');
export const UI_DIST = join(ROOT, 'dist', 'ui');
export const OUT = join(ROOT, 'test-output', 'ui');
export const SAMPLE = join(ROOT, 'samples', 'plant-demo.pcap');
const require = createRequire(import.meta.url);
export const AXE = require.resolve('axe-core/axe.min.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

function stale(): boolean {
  const index = join(UI_DIST, 'index.html');
  return !existsSync(index) || statSync(index).mtimeMs < newest(UI_SRC);
}

/** Build the UI (vite) if dist/ui is missing or older than ui/; a lock folder serialises concurrent test files. */
export async function ensureUiBuilt(): Promise<void> {
  const lock = join(tmpdir(), `otwatch-ui-build-${Buffer.from(ROOT).toString('hex').slice(-24)}.lock`);
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than two minutes was left by a killed run.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`UI build lock ${lock} held for too long`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    if (stale()) execFileSync(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['vite', 'build', '--config', 'ui/vite.config.ts', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'pipe' });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The captures the UI tests analyse: the plant demo (learned as the baseline), then MQTT and OPC UA captures of the corpus. */
export function uiCaptures(): string[] {
  return corpusFiles((f) => /mqtt|opcua|open62541|python_opcua/i.test(f));
}

async function cli(fn: (argv: string[], io: ReturnType<typeof memIo>['io']) => Promise<number>, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const m = memIo();
  m.io.env = env;
  const code = await fn(argv, m.io);
  if (code > 1) throw new Error(`${argv.join(' ')}: exit ${code}: ${m.err()}`);
  return m.out();
}

export interface Users {
  [name: string]: { role: string; password: string };
}

export const USERS: Users = {
  ada: { role: 'admin', password: 'admin-pass-0123456' },
  ana: { role: 'analyst', password: 'analyst-pass-0123456' },
  vic: { role: 'viewer', password: 'viewer-pass-0123456' },
};

/** A store in a temp folder: `otwatch analyze --learn` on the plant demo, then `otwatch analyze` on corpus captures; users added with `otwatch user add`. */
export async function filledStore(): Promise<{ dir: string; db: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'otw-ui-'));
  const db = join(dir, 'store.db');
  await cli(analyzeCommand, [SAMPLE, '--learn', '--db', db, '--format', 'ndjson']);
  await cli(analyzeCommand, [...uiCaptures(), SAMPLE, '--db', db, '--format', 'ndjson']);
  for (const [name, u] of Object.entries(USERS)) await cli(userCommand, ['add', name, '--db', db, '--role', u.role], { [PASSWORD_ENV]: u.password });
  return { dir, db };
}

export interface Served {
  url: string;
  store: Store;
  app: FastifyInstance;
  close: () => Promise<void>;
}

/** The real API app (with the UI routes) listening on a free loopback port. */
export async function serve(db: string): Promise<Served> {
  const store = Store.open(db);
  const app = await buildApp({ store, rateLimit: false, loginRateLimit: 1000, streamIntervalMs: 250 });
  const port = await freePort();
  await app.listen({ host: '127.0.0.1', port });
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    app,
    close: async () => {
      await app.close();
      store.close();
    },
  };
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

/** Log in through the login page; the context keeps the session cookies. */
export async function login(page: Page, url: string, user: string): Promise<void> {
  await page.goto(url + '/');
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(USERS[user].password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: false });
}

/** Serious and critical axe-core violations of each page (path, selector to wait for), in one theme; a context with bypassCSP for the injected script only, sharing `from`'s session. */
export async function axe(browser: Browser, from: BrowserContext, base: string, pages: [string, string][], theme: 'dark' | 'light'): Promise<string[]> {
  const ctx = await browser.newContext({ bypassCSP: true, storageState: await from.storageState(), viewport: { width: 1280, height: 800 } });
  ctx.setDefaultTimeout(10_000);
  const found: string[] = [];
  try {
    await ctx.addInitScript((t) => localStorage.setItem('otw-theme', t), theme);
    const page = await ctx.newPage();
    for (const [path, ready] of pages) {
      await page.goto(base + path);
      await page.locator(ready).first().waitFor();
      await page.addScriptTag({ path: AXE });
      const res = (await page.evaluate(async () => {
        const w = window as unknown as { axe: { run: (ctx: unknown, o: object) => Promise<{ passes: unknown[]; violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } };
        const r = await w.axe.run(document, { resultTypes: ['violations'] });
        // No rule passed means axe saw no page at all: that must fail, not look clean.
        if (!r.passes.length) return [{ id: 'axe-saw-nothing', impact: 'critical', nodes: [] }];
        return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) }));
      })) as { id: string; impact: string; nodes: string[] }[];
      for (const v of res) if (v.impact === 'serious' || v.impact === 'critical') found.push(`${theme} ${path}: ${v.id} (${v.impact}) ${v.nodes.join(' | ')}`);
    }
  } finally {
    await ctx.close();
  }
  return found;
}
