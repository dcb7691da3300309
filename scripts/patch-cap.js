#!/usr/bin/env node
/**
 * Patches the optional libpcap binding `cap` 0.2.1 (node_modules/cap/src/binding.cc) with the
 * edits in cap-edits.js (pcap_stats(), capture timestamps, TPACKET_V3 blocks, batched delivery)
 * and rebuilds it with the node-gyp that npm bundles. Run at install time (`prepare`), and by
 * hand: `node scripts/patch-cap.js`.
 *
 * Idempotent, offline, and never fatal: cap is an optional dependency, so whatever happens this
 * exits 0 and leaves a working binding: the patched one, or stock cap as it was (otwatch detects
 * which at run time; stock cap still captures, with fewer counters and more loss at high rates).
 * Every outcome is one line on stderr.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EDITS, MARKER, PATCH_LEVEL } from './cap-edits.js';

/** sha256 of cap 0.2.1's src/binding.cc as published on npm: the only source the edits apply to. */
const STOCK_SHA256 = 'f5912602f66bb33d1381982c85234c3e3e6fccc4e26a77ef25d4169d0112cdbc';
const BUILD_TIMEOUT_MS = 5 * 60 * 1000;

const log = (msg) => process.stderr.write(`patch-cap: ${msg}\n`);

/** Apply every edit, each `from` found exactly once; throws naming the edit otherwise. */
export function applyEdits(source) {
  let out = source;
  for (const [what, from, to] of EDITS) {
    const first = out.indexOf(from);
    if (first < 0 || out.indexOf(from, first + 1) >= 0) throw new Error(`edit '${what}': expected text ${first < 0 ? 'not found' : 'found twice'}`);
    out = out.slice(0, first) + to + out.slice(first + from.length);
  }
  return out;
}

/** The patch level of the built binding (loaded in a child process), or null when it does not load. */
function builtLevel(capDir) {
  const r = spawnSync(process.execPath, ['-e', `const c=require(${JSON.stringify(capDir)});process.stdout.write(String(c.otwatchPatch??0))`], { encoding: 'utf8', timeout: 30_000 });
  return r.status === 0 ? Number(r.stdout) : null;
}

/** node-gyp's entry point: the one npm passes to scripts, else the one bundled with npm. */
export function findNodeGyp(env = process.env) {
  const candidates = [];
  if (env.npm_config_node_gyp) candidates.push(env.npm_config_node_gyp);
  const npmCli = env.npm_execpath;
  if (npmCli) candidates.push(join(dirname(realpathOrSelf(npmCli)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  for (const dir of (env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'npm'))) candidates.push(join(dirname(realpathOrSelf(join(dir, 'npm'))), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  candidates.push(join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => existsSync(c)) ?? null;
}

function realpathOrSelf(p) {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

function headerMajor(file) {
  try {
    return Number(/#define NODE_MAJOR_VERSION (\d+)/.exec(readFileSync(file, 'utf8'))?.[1]);
  } catch {
    return NaN;
  }
}

/** Where Node's headers may already be: Debian's nodejs package, an official tarball's layout. */
const DEFAULT_PREFIXES = ['/usr', resolve(dirname(process.execPath), '..')];

/**
 * node-gyp arguments that make it use headers already on this machine, or null when there are
 * none (node-gyp would then download them: offline that fails or hangs, so we do not build).
 */
export function headerArgs(env = process.env, prefixes = DEFAULT_PREFIXES) {
  const major = Number(process.versions.node.split('.')[0]);
  const hasHeaders = (prefix) => headerMajor(join(prefix, 'include', 'node', 'node_version.h')) === major;
  for (const prefix of [env.npm_config_nodedir, ...prefixes]) {
    if (prefix && hasHeaders(prefix)) return [`--nodedir=${prefix}`];
  }
  // Headers node-gyp downloaded earlier (e.g. when `npm ci` built cap with network access).
  const devdir = env.npm_config_devdir || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'node-gyp');
  if (hasHeaders(join(devdir, process.versions.node))) return [`--devdir=${devdir}`];
  return null;
}

function sha256(text) {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Patch and rebuild cap under `root`; returns the outcome as one line (never throws).
 * `headerPrefixes`: where to look for Node's headers besides npm's nodedir and node-gyp's cache.
 */
export function patchCap(root, env = process.env, headerPrefixes = DEFAULT_PREFIXES) {
  const capDir = join(root, 'node_modules', 'cap');
  const srcFile = join(capDir, 'src', 'binding.cc');
  const binary = join(capDir, 'build', 'Release', 'cap.node');
  if (!existsSync(join(capDir, 'package.json'))) return 'cap is not installed (optional): live capture unavailable, nothing to patch';
  const version = JSON.parse(readFileSync(join(capDir, 'package.json'), 'utf8')).version;
  if (version !== '0.2.1') return `cap ${version} is not 0.2.1: left as it is (stock counters only)`;
  const current = readFileSync(srcFile, 'utf8');
  const patched = current.includes(MARKER);
  if (patched && builtLevel(capDir) === PATCH_LEVEL) return `cap already patched (level ${PATCH_LEVEL})`;
  // Patched at another level: start again from the stock source kept beside it.
  const origFile = `${srcFile}.orig`;
  const source = !patched && /otwatch-patch \d+/.test(current) && existsSync(origFile) ? readFileSync(origFile, 'utf8') : current;
  if (!patched && sha256(source) !== STOCK_SHA256) return 'cap src/binding.cc is neither stock 0.2.1 nor patched by this script: left as it is';
  let next;
  try {
    next = patched ? current : applyEdits(source);
  } catch (e) {
    return `cannot patch cap: ${e.message}; stock cap left as it is`;
  }
  const gyp = findNodeGyp(env);
  if (!gyp) return "warning: npm's node-gyp not found: cap left unpatched (stock counters only)";
  const headers = headerArgs(env, headerPrefixes);
  if (!headers) return `warning: no Node.js ${process.versions.node} headers on this machine (install nodejs headers or run node-gyp install): cap left unpatched (stock counters only)`;

  // node-gyp rebuild deletes build/: keep the working binary to put back if the build fails.
  const backup = join(tmpdir(), `otwatch-cap-${process.pid}.node`);
  const hadBinary = existsSync(binary);
  if (hadBinary) copyFileSync(binary, backup);
  const previous = current;
  if (!patched) {
    writeFileSync(origFile, source);
    writeFileSync(srcFile, next);
  }
  const r = spawnSync(process.execPath, [gyp, 'rebuild', ...headers], {
    cwd: capDir,
    encoding: 'utf8',
    timeout: BUILD_TIMEOUT_MS,
    env: { ...env, npm_config_nodedir: undefined },
  });
  const level = r.status === 0 ? builtLevel(capDir) : null;
  if (level === PATCH_LEVEL) {
    rmSync(backup, { force: true });
    return `cap patched (level ${PATCH_LEVEL}: pcap_stats, timestamps, TPACKET_V3, batched delivery, pause) and rebuilt`;
  }
  // Put cap back as it was: source and binary.
  writeFileSync(srcFile, previous);
  if (hadBinary) {
    mkdirSync(dirname(binary), { recursive: true });
    copyFileSync(backup, binary);
    rmSync(backup, { force: true });
  }
  const why = r.error ? r.error.message : r.status !== 0 ? (r.stderr || r.stdout || '').trim().split('\n').slice(-1)[0] : 'the rebuilt binding did not load';
  return `warning: rebuilding cap failed (${why}): stock cap restored (stock counters only)`;
}

if (process.argv[1] && realpathOrSelf(process.argv[1]) === realpathOrSelf(new URL(import.meta.url).pathname)) {
  try {
    log(patchCap(resolve(dirname(new URL(import.meta.url).pathname), '..')));
  } catch (e) {
    log(`warning: ${e.message}: cap left as it is`);
  }
  process.exitCode = 0;
}
