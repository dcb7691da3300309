/**
 * The production bundle (issue 9): under 600 kB gzipped, and nothing loaded from the internet
 * (works offline, and under the API's CSP `default-src 'self'`). Also: without a build, `/`
 * answers a 503 that says how to build the UI.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { uiRoutes } from '../../api/routes/ui.js';
import { ensureUiBuilt, UI_DIST } from './support.js';

const LIMIT = 600 * 1000;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
}

describe('UI bundle', () => {
  it('stays under 600 kB gzipped (JS + CSS) and references nothing off-site', async () => {
    await ensureUiBuilt();
    const all = files(UI_DIST);
    const code = all.filter((f) => /\.(js|css)$/.test(f));
    expect(code.some((f) => f.endsWith('.js'))).toBe(true);
    expect(code.some((f) => f.endsWith('.css'))).toBe(true);
    const gz = code.reduce((s, f) => s + gzipSync(readFileSync(f), { level: 9 }).length, 0);
    console.log(`UI bundle: ${code.length} files, ${gz} bytes gzipped`);
    expect(gz).toBeLessThan(LIMIT);
    const html = readFileSync(join(UI_DIST, 'index.html'), 'utf8');
    // Same-origin only: no script, style or font from a CDN, no inline script (CSP forbids it).
    for (const m of html.matchAll(/(?:src|href)="([^"]+)"/g)) expect(m[1]).toMatch(/^\/[\w./-]+$/);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    for (const f of code.filter((x) => x.endsWith('.css'))) expect(readFileSync(f, 'utf8')).not.toMatch(/@import|url\(\s*['"]?(https?:)?\/\//);
    for (const f of code.filter((x) => x.endsWith('.js'))) {
      const js = readFileSync(f, 'utf8');
      expect(js).not.toMatch(/\bimport\s*\(\s*['"]https?:/);
      expect(js).not.toMatch(/fonts\.googleapis|cdn\.jsdelivr|unpkg\.com/);
    }
  });

  it('answers 503 OTW_ERR_NOT_READY with the build command when the UI is not built, and keeps /api/ misses as 404', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'otw-noui-'));
    const app = Fastify();
    await uiRoutes(app, empty);
    try {
      const r = await app.inject({ method: 'GET', url: '/' });
      expect(r.statusCode).toBe(503);
      const body = r.json() as { code: string; message: string };
      expect(body.code).toBe('OTW_ERR_NOT_READY');
      expect(body.message).toContain('npm run build:ui');
      expect((await app.inject({ method: 'GET', url: '/findings' })).statusCode).toBe(503);
      const api = await app.inject({ method: 'GET', url: '/api/v1/whatever' });
      expect(api.statusCode).toBe(404);
      expect((api.json() as { code: string }).code).toBe('OTW_ERR_ROUTE_NOT_FOUND');
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
