/**
 * Backup and restore of the store and the PKI folder.
 *
 * Backup is consistent while otwatch runs: SQLite databases (the store and the PKI inventory)
 * are copied with SQLite's online backup API (better-sqlite3 `db.backup()`), never as raw files
 * (a raw copy of a WAL database can miss committed pages); other PKI files are copied byte for
 * byte with their modes (private keys stay 0600 and stay encrypted as they are). A manifest
 * lists every entry with its SHA-256, size and mode, and the versions that wrote it.
 *
 * Restore reads the whole backup, verifies the manifest (every hash, no missing or extra entry,
 * no path leaving the target) before it touches anything, refuses to overwrite without `force`,
 * and replaces each target by rename so a failure leaves the old state in place.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, basename } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from './schema.js';
import { readTar, writeTar, TarError, type TarEntry } from './ustar.js';

export const MANIFEST = 'manifest.json';
const FORMAT = 'otwatch-backup';
const FORMAT_VERSION = 1;

export class BackupError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}

export interface ManifestEntry {
  path: string;
  type: 'file' | 'dir';
  mode: number;
  size: number;
  sha256: string | null;
}

export interface Manifest {
  format: typeof FORMAT;
  formatVersion: number;
  created: string;
  otwatch: string;
  node: string;
  storeSchema: number | null;
  entries: ManifestEntry[];
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Files SQLite manages beside a database: never copied raw (the backup API covers them). */
const SQLITE_SIDE = /-(wal|shm|journal)$/;

async function sqliteSnapshot(src: string, tmp: string): Promise<Buffer> {
  const dst = join(tmp, `snap-${Math.random().toString(16).slice(2)}.db`);
  let db: Database.Database;
  try {
    db = new Database(src, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new BackupError('OTW_ERR_BACKUP_SOURCE', `${src}: cannot open the database (${(e as Error).message})`);
  }
  try {
    await db.backup(dst);
  } catch (e) {
    throw new BackupError('OTW_ERR_BACKUP_SOURCE', `${src}: online backup failed (${(e as Error).message})`);
  } finally {
    db.close();
  }
  // The copy is a standalone rollback-journal file: no -wal needed to read it back.
  const b = readFileSync(dst);
  rmSync(dst, { force: true });
  return b;
}

function schemaOf(dbBytes: Buffer, tmp: string): number | null {
  const f = join(tmp, `probe-${Math.random().toString(16).slice(2)}.db`);
  writeFileSync(f, dbBytes, { mode: 0o600 });
  try {
    const db = new Database(f, { readonly: true });
    try {
      return (db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined)?.version ?? null;
    } finally {
      db.close();
    }
  } catch {
    return null;
  } finally {
    rmSync(f, { force: true });
  }
}

async function walkPki(root: string, rel: string, tmp: string, out: TarEntry[]): Promise<void> {
  for (const name of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const abs = join(root, r);
    const st = lstatSync(abs);
    if (st.isDirectory()) {
      out.push({ path: `pki/${r}`, type: 'dir', mode: st.mode & 0o7777, mtime: st.mtimeMs / 1000, data: new Uint8Array() });
      await walkPki(root, r, tmp, out);
    } else if (st.isFile()) {
      if (SQLITE_SIDE.test(name)) continue;
      const isDb = name.endsWith('.db');
      const data = isDb ? await sqliteSnapshot(abs, tmp) : readFileSync(abs);
      out.push({ path: `pki/${r}`, type: 'file', mode: st.mode & 0o7777, mtime: st.mtimeMs / 1000, data });
    }
    // Symlinks, sockets and devices are not part of a PKI folder otwatch writes: skipped.
  }
}

/** Make the entries of a backup (store as `otwatch.db`, PKI under `pki/`) and its manifest. */
export async function buildBackup(opts: { db: string; pkiDir?: string; otwatchVersion: string }): Promise<TarEntry[]> {
  if (!existsSync(opts.db)) throw new BackupError('OTW_ERR_BACKUP_SOURCE', `${opts.db}: no such database`);
  if (opts.pkiDir !== undefined && !statSync(opts.pkiDir, { throwIfNoEntry: false })?.isDirectory()) throw new BackupError('OTW_ERR_BACKUP_SOURCE', `${opts.pkiDir}: no such PKI folder`);
  const tmp = mkdtempSync(join(tmpdir(), 'otwatch-backup-'));
  try {
    const now = Date.now() / 1000;
    const store = await sqliteSnapshot(opts.db, tmp);
    const entries: TarEntry[] = [{ path: 'otwatch.db', type: 'file', mode: 0o600, mtime: now, data: store }];
    if (opts.pkiDir !== undefined) {
      entries.push({ path: 'pki', type: 'dir', mode: statSync(opts.pkiDir).mode & 0o7777, mtime: now, data: new Uint8Array() });
      await walkPki(opts.pkiDir, '', tmp, entries);
    }
    const manifest: Manifest = {
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      created: new Date().toISOString(),
      otwatch: opts.otwatchVersion,
      node: process.version,
      storeSchema: schemaOf(store, tmp),
      entries: entries.map((e) => ({ path: e.path, type: e.type, mode: e.mode, size: e.data.length, sha256: e.type === 'file' ? sha256(e.data) : null })),
    };
    return [{ path: MANIFEST, type: 'file', mode: 0o600, mtime: now, data: Buffer.from(JSON.stringify(manifest, null, 2) + '\n') }, ...entries];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Write a backup as a ustar file (`.tar`) or as a folder. The file is created mode 0600. */
export function writeBackup(entries: TarEntry[], out: string): void {
  if (existsSync(out)) throw new BackupError('OTW_ERR_BACKUP_EXISTS', `${out}: already exists; choose a new name`);
  if (out.endsWith('.tar')) {
    const tmp = `${out}.tmp-${process.pid}`;
    writeFileSync(tmp, writeTar(entries), { mode: 0o600 });
    renameSync(tmp, out);
    return;
  }
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  mkdirSync(tmp, { mode: 0o700 });
  for (const e of entries) writeEntry(tmp, e);
  chmodSync(tmp, 0o700);
  renameSync(tmp, out);
}

function writeEntry(root: string, e: TarEntry): void {
  const p = join(root, ...e.path.split('/'));
  if (e.type === 'dir') {
    mkdirSync(p, { recursive: true, mode: 0o700 });
    chmodSync(p, e.mode);
  } else {
    mkdirSync(dirname(p), { recursive: true, mode: 0o700 });
    writeFileSync(p, e.data, { mode: e.mode });
    chmodSync(p, e.mode); // the umask must not widen or narrow a key's mode
  }
}

function readFolder(root: string, rel = ''): TarEntry[] {
  const out: TarEntry[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(root, r));
    if (st.isDirectory()) {
      out.push({ path: r, type: 'dir', mode: st.mode & 0o7777, mtime: st.mtimeMs / 1000, data: new Uint8Array() });
      out.push(...readFolder(root, r));
    } else if (st.isFile()) out.push({ path: r, type: 'file', mode: st.mode & 0o7777, mtime: st.mtimeMs / 1000, data: readFileSync(join(root, r)) });
    else throw new BackupError('OTW_ERR_BACKUP_VERIFY', `${join(root, r)}: not a regular file or folder`);
  }
  return out;
}

/** Read a backup (tar file or folder) and verify it against its manifest; throws BackupError. */
export function readBackup(path: string): { manifest: Manifest; entries: Map<string, TarEntry> } {
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new BackupError('OTW_ERR_BACKUP_SOURCE', `${path}: no such backup`);
  let list: TarEntry[];
  try {
    list = st.isDirectory() ? readFolder(path) : readTar(readFileSync(path));
  } catch (e) {
    if (e instanceof TarError) throw new BackupError(e.code, `${path}: ${e.message}`);
    throw e;
  }
  const byPath = new Map(list.map((e) => [e.path, e]));
  const m = byPath.get(MANIFEST);
  if (!m || m.type !== 'file') throw new BackupError('OTW_ERR_BACKUP_VERIFY', `${path}: no ${MANIFEST}; not an otwatch backup`);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(Buffer.from(m.data).toString('utf8')) as Manifest;
  } catch {
    throw new BackupError('OTW_ERR_BACKUP_VERIFY', `${path}: ${MANIFEST} is not valid JSON`);
  }
  if (manifest.format !== FORMAT || manifest.formatVersion !== FORMAT_VERSION || !Array.isArray(manifest.entries)) {
    throw new BackupError('OTW_ERR_BACKUP_VERIFY', `${path}: ${MANIFEST} is not an otwatch backup manifest of format ${FORMAT_VERSION}`);
  }
  if (typeof manifest.storeSchema === 'number' && manifest.storeSchema > MIGRATIONS.length) {
    throw new BackupError('OTW_ERR_BACKUP_VERSION', `${path}: the store has schema ${manifest.storeSchema}, newer than this otwatch (${MIGRATIONS.length})`);
  }
  const listed = new Set<string>();
  for (const e of manifest.entries) {
    if (typeof e.path !== 'string' || e.path.startsWith('/') || e.path.split('/').some((s) => s === '..' || s === '') || !(e.path === 'otwatch.db' || e.path === 'pki' || e.path.startsWith('pki/'))) {
      throw new BackupError('OTW_ERR_BACKUP_VERIFY', `${path}: manifest entry '${String(e.path)}' is outside the backup layout`);
    }
    const got = byPath.get(e.path);
    if (!got || got.type !== e.type) throw new BackupError('OTW_ERR_BACKUP_VERIFY', `${path}: ${e.path} is listed in the manifest but missing`);
    if (e.type === 'file' && (got.data.length !== e.size || sha256(got.data) !== e.sha256)) {
      throw new BackupError('OTW_ERR_BACKUP_VERIFY', `${path}: ${e.path} does not match its SHA-256 in the manifest (corrupted or altered)`);
    }
    listed.add(e.path);
  }
  for (const p of byPath.keys()) if (p !== MANIFEST && !listed.has(p)) throw new BackupError('OTW_ERR_BACKUP_VERIFY', `${path}: ${p} is not listed in the manifest`);
  if (!listed.has('otwatch.db')) throw new BackupError('OTW_ERR_BACKUP_VERIFY', `${path}: the backup holds no store (otwatch.db)`);
  return { manifest, entries: byPath };
}

function nonEmptyDir(p: string): boolean {
  const st = statSync(p, { throwIfNoEntry: false });
  return st !== undefined && (!st.isDirectory() || readdirSync(p).length > 0);
}

/**
 * Restore a verified backup. Refuses existing targets unless `force`. The store is written to a
 * temporary file and renamed over the target (its -wal/-shm removed first: they belong to the
 * old file); the PKI folder is assembled beside the target and swapped in.
 */
export function restoreBackup(b: { manifest: Manifest; entries: Map<string, TarEntry> }, opts: { db: string; pkiDir?: string; force: boolean }): { files: number } {
  const hasPki = b.entries.has('pki');
  if (opts.pkiDir !== undefined && !hasPki) throw new BackupError('OTW_ERR_BACKUP_VERIFY', '--pki-dir given but the backup holds no PKI folder');
  if (!opts.force) {
    if (existsSync(opts.db)) throw new BackupError('OTW_ERR_RESTORE_EXISTS', `${opts.db}: exists; restore refuses to overwrite it without --force`);
    if (opts.pkiDir !== undefined && nonEmptyDir(opts.pkiDir)) throw new BackupError('OTW_ERR_RESTORE_EXISTS', `${opts.pkiDir}: exists and is not empty; restore refuses to overwrite it without --force`);
  }
  let files = 0;
  // PKI first: assembled completely before anything is replaced.
  let pkiStage: string | null = null;
  if (opts.pkiDir !== undefined) {
    mkdirSync(dirname(opts.pkiDir), { recursive: true });
    pkiStage = `${opts.pkiDir}.restore-${process.pid}`;
    rmSync(pkiStage, { recursive: true, force: true });
    for (const e of b.manifest.entries) {
      if (!e.path.startsWith('pki')) continue;
      const rel = e.path === 'pki' ? '' : e.path.slice(4);
      writeEntry(pkiStage, { ...b.entries.get(e.path)!, path: rel === '' ? '.' : rel });
      if (e.type === 'file') files++;
    }
  }
  const dbTmp = `${opts.db}.restore-${process.pid}`;
  mkdirSync(dirname(opts.db), { recursive: true });
  writeFileSync(dbTmp, b.entries.get('otwatch.db')!.data, { mode: 0o600 });
  chmodSync(dbTmp, 0o600);
  for (const side of ['-wal', '-shm']) rmSync(opts.db + side, { force: true });
  renameSync(dbTmp, opts.db);
  files++;
  if (pkiStage !== null && opts.pkiDir !== undefined) {
    const old = `${opts.pkiDir}.old-${process.pid}`;
    if (existsSync(opts.pkiDir)) renameSync(opts.pkiDir, old);
    renameSync(pkiStage, opts.pkiDir);
    rmSync(old, { recursive: true, force: true });
  }
  return { files };
}
