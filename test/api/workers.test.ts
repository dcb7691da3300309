/**
 * `otwatch serve --workers 2` as a real command (the built dist/cli/main.js, as npm test builds
 * it): both workers listen on one port and answer with the same store, a token created after the
 * start works in every worker (shared through SQLite), SIGTERM stops all of them with exit 0, and
 * a bad worker count is a usage error.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeCommand } from '../../cli/analyze.js';
import { parseServeArgs } from '../../cli/serve.js';
import { tokenCommand } from '../../cli/token.js';
import { memIo } from '../analyzers/helpers.js';
import { freePort } from '../support/net.js';
import { SAMPLE } from './helpers.js';

const MAIN = resolve(import.meta.dirname, '../../dist/cli/main.js');
let dir: string;
let db: string;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build (npm test does)`);
  dir = mkdtempSync(join(tmpdir(), 'otw-workers-'));
  db = join(dir, 'w.db');
  expect(await analyzeCommand([SAMPLE, '--db', db, '--format', 'ndjson'], memIo().io)).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function token(): Promise<string> {
  const m = memIo();
  expect(await tokenCommand(['create', '--db', db, '--role', 'viewer', '--name', `w${Date.now()}${Math.random()}`], m.io)).toBe(0);
  return /otw_[A-Za-z0-9_-]+/.exec(m.out())![0];
}

function waitFor(p: ChildProcess, re: RegExp, ms: number): Promise<string> {
  return new Promise((res, rej) => {
    let err = '';
    const t = setTimeout(() => rej(new Error(`no ${re} within ${ms} ms: ${err}`)), ms);
    p.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      if (re.test(err)) {
        clearTimeout(t);
        res(err);
      }
    });
    p.once('exit', (c) => {
      clearTimeout(t);
      rej(new Error(`exited ${c}: ${err}`));
    });
  });
}

describe('otwatch serve --workers', () => {
  it('serves from two processes on one port and stops them all on SIGTERM', async () => {
    const port = await freePort();
    const p = spawn(process.execPath, [MAIN, 'serve', '--db', db, '--listen', `127.0.0.1:${port}`, '--workers', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      await waitFor(p, /listening on http:\/\/127\.0\.0\.1:\d+ with 2 workers/, 90_000);
      const t = await token(); // created after the workers started: each must see it
      const pages = await Promise.all(
        Array.from({ length: 24 }, async () => {
          const r = await fetch(`http://127.0.0.1:${port}/api/v1/findings?limit=5`, { headers: { authorization: `Bearer ${t}` } });
          return { status: r.status, body: (await r.json()) as { items: { id: string }[] } };
        }),
      );
      for (const pg of pages) expect(pg.status).toBe(200);
      // Same store behind every worker: the same first page everywhere.
      expect(new Set(pages.map((pg) => JSON.stringify(pg.body.items.map((f) => f.id)))).size).toBe(1);
      expect(pages[0].body.items.length).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${port}/api/v1/findings`)).status).toBe(401);
    } finally {
      const exited = new Promise<number | null>((r) => p.once('exit', (c) => r(c)));
      p.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  }, 120_000);

  it('refuses a worker count the machine cannot give', () => {
    expect(() => parseServeArgs(['--db', 'x.db', '--workers', '0'])).toThrow(/--workers must be 1 to/);
    expect(() => parseServeArgs(['--db', 'x.db', '--workers', '4096'])).toThrow(/--workers must be 1 to/);
    expect(parseServeArgs(['--db', 'x.db', '--workers', '1'])).toMatchObject({ workers: 1 });
  });
});
