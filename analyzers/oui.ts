/**
 * MAC address vendors from the IEEE registry of MA-L assignments (OUI, the first 24 bits), as
 * bundled by the `oui-data` package (IEEE's public listing as JSON, pinned in package.json).
 *
 * Memory: the registry (5.6 MiB, 53 000 entries with postal addresses) is not kept. A batch of
 * lookups (`macVendors`, one per inventory write) scans the file once, line by line in 64 KiB
 * chunks, and decodes only the entries asked for (reading it whole added 5–7 MiB to the peak RSS
 * of `analyze`, whose inventory write comes at the end of the run). Parsing the whole table into a
 * map cost ~200 ms and ~20 MiB at the end of every run for the handful of prefixes a plant has.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The registry file's path, or null when it cannot be found (vendors are then null; the inventory goes on). */
function tablePath(): string | null {
  try {
    // The package's main file is the JSON table itself.
    return createRequire(import.meta.url).resolve('oui-data');
  } catch {
    return null;
  }
}

/** The organisation: the first line of an entry ("NAME\nADDRESS…\nCOUNTRY"). */
function organisation(entry: string): string {
  const nl = entry.indexOf('\n');
  return (nl < 0 ? entry : entry.slice(0, nl)).trim();
}

/** Bytes read from the registry at a time: the whole file (5.6 MiB) is never in memory at once. */
const CHUNK = 64 * 1024;

/**
 * Call `line(buf, start, end)` for every line of the file (without its newline), reading it in
 * chunks. A line longer than a chunk (none in the registry) is passed in pieces.
 */
function eachLine(path: string, line: (buf: Buffer, start: number, end: number) => void): void {
  const buf = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, 'r');
  try {
    let held = 0;
    for (;;) {
      const n = readSync(fd, buf, held, CHUNK - held, null);
      const len = held + n;
      let start = 0;
      for (let nl = buf.indexOf(0x0a, 0); nl >= 0 && nl < len; nl = buf.indexOf(0x0a, start)) {
        line(buf, start, nl);
        start = nl + 1;
      }
      if (n === 0) {
        if (start < len) line(buf, start, len);
        return;
      }
      if (start === 0 && len === CHUNK) {
        line(buf, 0, len);
        held = 0;
      } else {
        held = buf.copy(buf, 0, start, len);
      }
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * Entries of the registry for these (upper-case) prefixes. The file is JSON with one entry per
 * line (` "PREFIX": "…",`); each wanted line's value is decoded with JSON.parse. A file in another
 * layout is parsed whole instead.
 */
function lookup(want: Set<string>): Map<string, string> {
  const out = new Map<string, string>();
  const path = tablePath();
  if (path === null || want.size === 0) return out;
  const QUOTE = 0x22;
  let lines = 0;
  try {
    eachLine(path, (buf, i, end) => {
      // ` "XXXXXX": "…"` : a 6-character key (MA-L) at a fixed place.
      if (end - i > 11 && buf[i + 1] === QUOTE && buf[i + 8] === QUOTE && buf[i + 9] === 0x3a) {
        lines++;
        const key = buf.toString('latin1', i + 2, i + 8).toUpperCase();
        if (want.has(key)) {
          let v = buf.toString('utf8', i + 11, end).trimEnd();
          if (v.endsWith(',')) v = v.slice(0, -1);
          try {
            out.set(key, organisation(JSON.parse(v) as string));
          } catch {
            // not the expected layout: handled below
          }
        }
      }
    });
    if (lines > 0) return out;
    const raw = JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>;
    for (const [prefix, entry] of Object.entries(raw)) if (want.has(prefix.toUpperCase())) out.set(prefix.toUpperCase(), organisation(entry));
  } catch {
    // unreadable registry: no vendors
  }
  return out;
}

const MAC = /^([0-9a-f]{2})[:-]?([0-9a-f]{2})[:-]?([0-9a-f]{2})(?:[:-]?[0-9a-f]{2}){3}$/i;

/** Why a MAC has no registry vendor (group or locally administered), its prefix to look up, or null when malformed. */
function classify(mac: string): { fixed: string } | { prefix: string } | null {
  const m = MAC.exec(mac);
  if (!m) return null;
  const first = parseInt(m[1], 16);
  if (first & 0x01) return { fixed: '(group address)' };
  if (first & 0x02) return { fixed: '(locally administered)' };
  return { prefix: `${m[1]}${m[2]}${m[3]}`.toUpperCase() };
}

/**
 * Vendors of many MACs with one pass over the registry: MAC → vendor (or the reason it has none,
 * or null for an unregistered prefix or a malformed MAC).
 */
export function macVendors(macs: Iterable<string>): Map<string, string | null> {
  const kinds = new Map<string, ReturnType<typeof classify>>();
  const want = new Set<string>();
  for (const mac of macs) {
    if (kinds.has(mac)) continue;
    const k = classify(mac);
    kinds.set(mac, k);
    if (k !== null && 'prefix' in k) want.add(k.prefix);
  }
  const found = lookup(want);
  const out = new Map<string, string | null>();
  for (const [mac, k] of kinds) out.set(mac, k === null ? null : 'fixed' in k ? k.fixed : (found.get(k.prefix) ?? null));
  return out;
}

/**
 * The vendor of a MAC (`aa:bb:cc:dd:ee:ff`, any case), or a description of why it has none:
 * a locally administered address (set by software: virtual machines, containers, randomised
 * clients) or a group address. Null for an unregistered prefix or a malformed MAC. Each call
 * scans the registry: use `macVendors` for many.
 */
export function macVendor(mac: string): string | null {
  return macVendors([mac]).get(mac) ?? null;
}
