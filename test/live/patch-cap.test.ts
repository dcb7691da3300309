/**
 * scripts/patch-cap.js, for real, on a copy of the installed cap 0.2.1 in a temporary project:
 * the edits apply to the stock source exactly once, a real node-gyp build yields a binding that
 * reports the patch level, a second run changes nothing, and every failure (no headers, a broken
 * compiler) leaves stock cap working, source and binary as they were, with one line saying why.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './build.js';

interface PatchCapModule {
  applyEdits(source: string): string;
  patchCap(root: string, env?: NodeJS.ProcessEnv, headerPrefixes?: string[]): string;
  findNodeGyp(env?: NodeJS.ProcessEnv): string | null;
}
interface EditsModule {
  EDITS: [string, string, string][];
  MARKER: string;
  PATCH_LEVEL: number;
}

const CAP = join(ROOT, 'node_modules/cap');
const STOCK_SHA256 = 'f5912602f66bb33d1381982c85234c3e3e6fccc4e26a77ef25d4169d0112cdbc';
const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** The stock source: beside the patched one once patch-cap.js ran, else the installed one. */
function stockSource(): string | null {
  for (const f of [join(CAP, 'src/binding.cc.orig'), join(CAP, 'src/binding.cc')]) {
    if (existsSync(f) && sha(readFileSync(f)) === STOCK_SHA256) return readFileSync(f, 'utf8');
  }
  return null;
}

const stock = existsSync(join(CAP, 'build/Release/cap.node')) ? stockSource() : null;
const tmp = mkdtempSync(join(tmpdir(), 'otw-patch-cap-'));
let pc: PatchCapModule;
let edits: EditsModule;

/**
 * A project holding a copy of the installed cap with the stock source (the binary is the one
 * installed: what matters below is whether it is kept or replaced).
 */
function stockProject(name: string): { root: string; src: string; bin: string } {
  const root = join(tmp, name);
  const dir = join(root, 'node_modules', 'cap');
  mkdirSync(join(root, 'node_modules'), { recursive: true });
  cpSync(CAP, dir, { recursive: true });
  rmSync(join(dir, 'src/binding.cc.orig'), { force: true });
  writeFileSync(join(dir, 'src/binding.cc'), stock!);
  // cap's binding.gyp finds nan with require('nan') from its own folder.
  symlinkSync(join(ROOT, 'node_modules/nan'), join(root, 'node_modules/nan'));
  return { root, src: join(dir, 'src/binding.cc'), bin: join(dir, 'build/Release/cap.node') };
}

function level(root: string): number {
  const out = execFileSync(process.execPath, ['-e', `process.stdout.write(String(require(${JSON.stringify(join(root, 'node_modules/cap'))}).otwatchPatch ?? 0))`]);
  return Number(out.toString());
}

// Said out loud: a skipped suite must not look like a passed one.
if (stock === null) console.warn('skipped: scripts/patch-cap.js tests need cap 0.2.1 installed and built, with its stock source (src/binding.cc or src/binding.cc.orig)');

describe.skipIf(stock === null)('scripts/patch-cap.js on a copy of cap 0.2.1', () => {
  beforeAll(async () => {
    pc = (await import(pathToFileURL(join(ROOT, 'scripts/patch-cap.js')).href)) as PatchCapModule;
    edits = (await import(pathToFileURL(join(ROOT, 'scripts/cap-edits.js')).href)) as EditsModule;
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('applies every edit exactly once to the stock source, and refuses a source already patched', () => {
    const out = pc.applyEdits(stock!);
    expect(out).toContain(edits.MARKER);
    for (const [, , to] of edits.EDITS) expect(out).toContain(to);
    expect(() => pc.applyEdits(out)).toThrow(/edit '.*': expected text (not found|found twice)/);
    expect(() => pc.applyEdits(stock!.replace('pcap_set_timeout(obj->pcap_handle, 1000)', 'x'))).toThrow(/edit 'read timeout'/);
  });

  it('without Node headers on the machine, does not build (no download), says so in one line and leaves cap as it was', () => {
    const p = stockProject('noheaders');
    const bin = sha(readFileSync(p.bin));
    const env = { PATH: process.env.PATH, HOME: join(tmp, 'home'), npm_config_devdir: join(tmp, 'no-devdir') };
    const msg = pc.patchCap(p.root, env, []);
    expect(msg).toMatch(/^warning: no Node\.js [\d.]+ headers on this machine .*: cap left unpatched/);
    expect(sha(readFileSync(p.src))).toBe(STOCK_SHA256);
    expect(sha(readFileSync(p.bin))).toBe(bin);
  });

  it('when the build fails, puts the stock source and the working binary back', () => {
    const p = stockProject('broken');
    const bin = sha(readFileSync(p.bin));
    const msg = pc.patchCap(p.root, { ...process.env, CXX: '/bin/false', CC: '/bin/false' });
    expect(msg).toMatch(/^warning: rebuilding cap failed .*: stock cap restored/);
    expect(sha(readFileSync(p.src))).toBe(STOCK_SHA256);
    expect(sha(readFileSync(p.bin))).toBe(bin);
    expect(Number.isInteger(level(p.root))).toBe(true);
  });

  it('patches and rebuilds with npm’s node-gyp; the binding reports the level; a second run changes nothing', () => {
    expect(pc.findNodeGyp()).toMatch(/node-gyp\.js$/);
    const p = stockProject('ok');
    expect(pc.patchCap(p.root)).toBe(`cap patched (level ${edits.PATCH_LEVEL}: pcap_stats, timestamps, TPACKET_V3, batched delivery, pause) and rebuilt`);
    expect(level(p.root)).toBe(edits.PATCH_LEVEL);
    expect(readFileSync(p.src, 'utf8')).toContain(edits.MARKER);
    expect(sha(readFileSync(`${p.src}.orig`))).toBe(STOCK_SHA256);
    // In a child process: a native addon loaded into the test runner would outlive the test.
    const methods = execFileSync(process.execPath, ['-e', `const c=require(${JSON.stringify(join(p.root, 'node_modules/cap'))});process.stdout.write(['stats','pause','resume'].map(m=>typeof c.Cap.prototype[m]).join())`]);
    expect(methods.toString()).toBe('function,function,function');
    const built = sha(readFileSync(p.bin));
    expect(pc.patchCap(p.root)).toBe(`cap already patched (level ${edits.PATCH_LEVEL})`);
    expect(sha(readFileSync(p.bin))).toBe(built);
    // A binding patched at an older level is patched again from the stock source kept beside it.
    writeFileSync(p.src, readFileSync(p.src, 'utf8').replaceAll(edits.MARKER, 'otwatch-patch 1'));
    expect(pc.patchCap(p.root)).toMatch(/^cap patched \(level \d+/);
    expect(readFileSync(p.src, 'utf8')).toBe(pc.applyEdits(stock!));
  });

  it('as a command, in a project without cap, exits 0 with one line on stderr', () => {
    const root = join(tmp, 'nocap');
    mkdirSync(join(root, 'scripts'), { recursive: true });
    mkdirSync(join(root, 'node_modules'));
    writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
    for (const f of ['patch-cap.js', 'cap-edits.js']) cpSync(join(ROOT, 'scripts', f), join(root, 'scripts', f));
    const r = spawnSync(process.execPath, [join(root, 'scripts/patch-cap.js')], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('patch-cap: cap is not installed (optional): live capture unavailable, nothing to patch\n');
  });
});
