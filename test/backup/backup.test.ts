/**
 * `otwatch backup` / `otwatch restore` on a store filled by the real pipeline (plant-demo.pcap)
 * and a PKI made by `otwatch pki init`, taken while the API app holds the store open. The
 * restored store must give the same API answers (app.inject()): findings, assets, tokens.
 * GNU tar is the reference reader of the archive format.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app.js';
import { main } from '../../cli/main.js';
import { runPki } from '../../pki/cli.js';
import { Store } from '../../store/store.js';
import { readTar, writeTar } from '../../store/ustar.js';
import { memIo } from '../analyzers/helpers.js';
import { fixture, type Fixture } from '../api/helpers.js';

let fx: Fixture;
let pki: string;
const URLS = ['/api/v1/findings?limit=500', '/api/v1/assets?limit=500', '/api/v1/matrix?limit=500'];

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const m = memIo();
  const code = await main(args, m.io);
  return { code, out: m.out(), err: m.err() };
}

/** Every file under a folder: relative path → mode and bytes. */
function tree(root: string, rel = ''): Map<string, { mode: number; data: Buffer | null }> {
  const out = new Map<string, { mode: number; data: Buffer | null }>();
  for (const name of readdirSync(join(root, rel))) {
    const r = rel ? `${rel}/${name}` : name;
    const st = statSync(join(root, r));
    if (st.isDirectory()) {
      out.set(r + '/', { mode: st.mode & 0o777, data: null });
      for (const [k, v] of tree(root, r)) out.set(k, v);
    } else if (!/-(wal|shm)$/.test(name)) out.set(r, { mode: st.mode & 0o777, data: name.endsWith('.db') ? null : readFileSync(join(root, r)) });
  }
  return out;
}

async function answers(app: Fixture['app'], token: string): Promise<unknown[]> {
  const res = [];
  for (const url of URLS) {
    const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode, url).toBe(200);
    res.push(r.json());
  }
  return res;
}

describe('otwatch backup and restore', () => {
  beforeAll(async () => {
    fx = await fixture();
    pki = join(fx.dir, 'pki');
    const err: string[] = [];
    const sink = { write: (s: string) => (err.push(String(s)), true) } as unknown as NodeJS.WritableStream;
    const code = await runPki(['init', '--dir', pki, '--ca-key-bits', '2048'], { stdout: sink, stderr: sink, env: { OTWATCH_PKI_PASSPHRASE: 'backup-test-pass' } });
    if (code !== 0) throw new Error(`pki init failed: ${err.join('')}`);
  }, 60_000);
  afterAll(async () => {
    await fx?.close();
  });

  it('backs up while the store is open and restores the same API answers', async () => {
    const before = await answers(fx.app, fx.tokens.admin);
    expect((before[0] as { items: unknown[] }).items.length).toBeGreaterThan(0);
    const tar = join(fx.dir, 'b1.tar');
    const b = await run(['backup', '--db', fx.db, '--pki-dir', pki, '--out', tar]);
    expect(b.err).toBe('');
    expect(b.code).toBe(0);
    expect(statSync(tar).mode & 0o777).toBe(0o600);

    // GNU tar reads it, with the modes kept.
    const listing = execFileSync('tar', ['-tvf', tar], { encoding: 'utf8' });
    expect(listing).toMatch(/^-rw------- .* manifest\.json$/m);
    expect(listing).toMatch(/ otwatch\.db$/m);
    expect(listing).toMatch(/^drwx------ .* pki\/own\/private\/$/m);

    const db2 = join(fx.dir, 'restored', 'store.db');
    const pki2 = join(fx.dir, 'restored', 'pki');
    const r = await run(['restore', tar, '--db', db2, '--pki-dir', pki2]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(statSync(db2).mode & 0o777).toBe(0o600);

    // The PKI: same files, same modes (keys stay 0600), same bytes (databases are snapshots).
    const t1 = tree(pki);
    const t2 = tree(pki2);
    expect([...t2.keys()].sort()).toEqual([...t1.keys()].sort());
    for (const [k, v] of t1) expect(t2.get(k), k).toEqual(v);
    const keys = [...t1.entries()].filter(([k]) => k.includes('private/') && !k.endsWith('/'));
    expect(keys.length).toBeGreaterThan(0);
    for (const [, v] of keys) expect(v.mode).toBe(0o600);

    // The restored store answers the same, and the same tokens work.
    const store = Store.open(db2);
    const app = await buildApp({ store, rateLimit: false });
    await app.ready();
    try {
      expect(await answers(app, fx.tokens.admin)).toEqual(before);
      expect(await answers(app, fx.tokens.viewer)).toEqual(await answers(fx.app, fx.tokens.viewer));
      const bad = await app.inject({ method: 'GET', url: URLS[0], headers: { authorization: 'Bearer otw_not-a-token' } });
      expect(bad.statusCode).toBe(401);
    } finally {
      await app.close();
      store.close();
    }

    // A second restore onto the same targets needs --force.
    const again = await run(['restore', tar, '--db', db2, '--pki-dir', pki2]);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/refuses to overwrite it without --force/);
    expect((await run(['restore', tar, '--db', db2, '--pki-dir', pki2, '--force'])).code).toBe(0);
  }, 60_000);

  it('writes and restores a folder backup', async () => {
    const out = join(fx.dir, 'b-folder');
    expect((await run(['backup', '--db', fx.db, '--out', out])).code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    expect(existsSync(join(out, 'manifest.json'))).toBe(true);
    const db3 = join(fx.dir, 'folder-restored.db');
    expect((await run(['restore', out, '--db', db3])).code).toBe(0);
    const s = Store.open(db3);
    expect(s.findings().length).toBe(fx.store.findings().length);
    s.close();
    // A backup without a PKI cannot restore one.
    const r = await run(['restore', out, '--db', join(fx.dir, 'x.db'), '--pki-dir', join(fx.dir, 'x-pki')]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/holds no PKI folder/);
  }, 60_000);

  it('verifies the manifest before touching anything', async () => {
    const tar = join(fx.dir, 'b2.tar');
    expect((await run(['backup', '--db', fx.db, '--out', tar])).code).toBe(0);
    const entries = readTar(readFileSync(tar));
    const target = join(fx.dir, 'never.db');
    const attempt = async (name: string, list: typeof entries, re: RegExp) => {
      const p = join(fx.dir, name);
      writeFileSync(p, writeTar(list));
      const r = await run(['restore', p, '--db', target]);
      expect(r.code, name).toBe(2);
      expect(r.err, name).toMatch(re);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(existsSync(target), name).toBe(false);
    };
    // One byte of the store altered.
    const altered = entries.map((e) => (e.path === 'otwatch.db' ? { ...e, data: Buffer.from(e.data).fill(0x41, 100, 101) } : e));
    await attempt('altered.tar', altered, /does not match its SHA-256/);
    // A file not in the manifest, and a manifest entry leaving the target.
    await attempt('extra.tar', [...entries, { path: 'pki/evil', type: 'file', mode: 0o644, mtime: 0, data: Buffer.from('x') }], /not listed in the manifest/);
    const m = JSON.parse(Buffer.from(entries[0].data).toString()) as { entries: { path: string }[] };
    m.entries.push({ path: '../escape', type: 'file', mode: 0o644, size: 0, sha256: '' } as never);
    await attempt('escape.tar', [{ ...entries[0], data: Buffer.from(JSON.stringify(m)) }, ...entries.slice(1)], /outside the backup layout/);
    // Not a backup at all, and a truncated archive.
    await attempt('nomanifest.tar', entries.slice(1), /no manifest\.json/);
    const cut = join(fx.dir, 'cut.tar');
    writeFileSync(cut, readFileSync(tar).subarray(0, 2048));
    const r = await run(['restore', cut, '--db', target]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/runs past the end|truncated/);
    // Refuses to overwrite an existing backup, and reports a missing store.
    expect((await run(['backup', '--db', fx.db, '--out', tar])).err).toMatch(/already exists/);
    expect((await run(['backup', '--db', join(fx.dir, 'none.db'), '--out', join(fx.dir, 'n.tar')])).err).toMatch(/no such database/);
  }, 60_000);
});
