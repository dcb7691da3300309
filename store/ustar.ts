/**
 * A minimal POSIX ustar writer and reader (IEEE Std 1003.1-2001 `pax` ustar format) for backups:
 * regular files and directories only, modes kept, names up to prefix(155)/name(100). Written
 * here rather than adding a package: the subset needed is ~100 lines, and a backup must be
 * readable by the stock `tar` of any system (tested with GNU tar).
 */

export interface TarEntry {
  /** Relative path, '/'-separated; directories without the trailing '/'. */
  path: string;
  type: 'file' | 'dir';
  /** Permission bits (e.g. 0o600). */
  mode: number;
  mtime: number;
  data: Uint8Array;
}

export class TarError extends Error {
  readonly code = 'OTW_ERR_BACKUP_FORMAT';
}

const BLOCK = 512;

function putString(h: Buffer, off: number, len: number, s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > len) throw new TarError(`name too long for ustar: ${s}`);
  b.copy(h, off);
}

function putOctal(h: Buffer, off: number, len: number, n: number): void {
  // len-1 octal digits then NUL (the classic form every tar reads).
  const s = n.toString(8).padStart(len - 1, '0');
  if (s.length > len - 1) throw new TarError(`value ${n} too large for a ustar field`);
  h.write(s + '\0', off, 'ascii');
}

function splitName(path: string): { prefix: string; name: string } {
  if (Buffer.byteLength(path) <= 100) return { prefix: '', name: path };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] === '/' && Buffer.byteLength(path.slice(i + 1)) <= 100 && Buffer.byteLength(path.slice(0, i)) <= 155) return { prefix: path.slice(0, i), name: path.slice(i + 1) };
  }
  throw new TarError(`path too long for ustar: ${path}`);
}

function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { prefix, name } = splitName(e.type === 'dir' ? e.path + '/' : e.path);
  putString(h, 0, 100, name);
  putOctal(h, 100, 8, e.mode & 0o7777);
  putOctal(h, 108, 8, 0);
  putOctal(h, 116, 8, 0);
  putOctal(h, 124, 12, e.type === 'dir' ? 0 : e.data.length);
  putOctal(h, 136, 12, Math.floor(e.mtime));
  h.write('        ', 148, 'ascii'); // checksum counted as spaces
  h.write(e.type === 'dir' ? '5' : '0', 156, 'ascii');
  h.write('ustar\0' + '00', 257, 'binary');
  putString(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

/** The archive bytes for these entries (two zero blocks at the end). */
export function writeTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (e.type === 'file' && e.data.length > 0) {
      parts.push(Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength));
      const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

function readString(b: Buffer, off: number, len: number): string {
  const end = b.indexOf(0, off);
  return b.toString('utf8', off, end < 0 || end > off + len ? off + len : end);
}

function readOctal(b: Buffer, off: number, len: number, what: string): number {
  const s = readString(b, off, len).trim();
  if (!/^[0-7]*$/.test(s)) throw new TarError(`bad ${what} field in a tar header`);
  return s === '' ? 0 : parseInt(s, 8);
}

/** Parse an archive; every length and checksum is checked against the buffer. */
export function readTar(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((x) => x === 0)) return out;
    if (h.toString('binary', 257, 262) !== 'ustar') throw new TarError(`not a ustar archive (header at byte ${off})`);
    const want = readOctal(h, 148, 8, 'checksum');
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
    if (sum !== want) throw new TarError(`tar header checksum mismatch at byte ${off}`);
    const prefix = readString(h, 345, 155);
    const name = readString(h, 0, 100);
    const size = readOctal(h, 124, 12, 'size');
    const type = String.fromCharCode(h[156]);
    off += BLOCK;
    if (off + size > buf.length) throw new TarError(`tar entry ${name} runs past the end of the archive`);
    const full = (prefix ? prefix + '/' : '') + name;
    if (type === '5') out.push({ path: full.replace(/\/$/, ''), type: 'dir', mode: readOctal(h, 100, 8, 'mode'), mtime: readOctal(h, 136, 12, 'mtime'), data: new Uint8Array() });
    else if (type === '0' || type === '\0') out.push({ path: full, type: 'file', mode: readOctal(h, 100, 8, 'mode'), mtime: readOctal(h, 136, 12, 'mtime'), data: buf.subarray(off, off + size) });
    else throw new TarError(`tar entry ${full}: type '${type}' is not allowed in an otwatch backup`);
    off += Math.ceil(size / BLOCK) * BLOCK;
  }
  throw new TarError('tar archive ends without its end-of-archive blocks (truncated?)');
}
