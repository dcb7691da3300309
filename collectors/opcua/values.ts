/**
 * Built-in types of OPC 10000-6 §5.2.2 read for the service bodies body.ts extracts fields from,
 * rendered in the form those fields have always had (they came from node-opcua's classes:
 * `NodeId.toString()`, `QualifiedName.toString()`, uppercase GUIDs, full strings). Every reader
 * works on a bounds-checked Reader: it never throws, and a failed read sets `r.err`.
 */
import type { Reader } from './reader.js';

/** node-opcua's (and our) ceiling for one String or ByteString: 16 MiB. */
const MAX_STRING = 16 * 1024 * 1024;

/** Mark the reader failed with a reason, at `at` (the first failure wins). */
export function fail(r: Reader, reason: string, at = r.pos): void {
  if (!r.err) {
    r.reason = reason;
    r.failPos = at;
  }
  r.err = true;
}

/** Length prefix of a String/ByteString: -1 (null) or a length that is there; else failed. */
function length(r: Reader, what: string): number {
  const at = r.pos;
  const len = r.i32();
  if (r.err) return -1;
  if (len === -1) return -1;
  if (len < 0 || len > MAX_STRING || len > r.remaining) {
    fail(r, `${what} length ${len >>> 0} at ${at} exceeds the ${r.remaining} bytes left`, at);
    return -1;
  }
  return len;
}

/** String (§5.2.2.4): UTF-8 in full (as Buffer decodes it: a BOM is kept), null for -1. */
export function str(r: Reader): string | null {
  const len = length(r, 'String');
  if (len < 0) return null;
  const p = r.pos;
  r.skip(len);
  return Buffer.from(r.buf.buffer, r.buf.byteOffset + p, len).toString('utf8');
}

/** ByteString (§5.2.2.7) as a view; null for -1, an empty view for 0. */
export function bytes(r: Reader): Uint8Array | null {
  const len = length(r, 'ByteString');
  if (len < 0) return null;
  const p = r.pos;
  r.skip(len);
  return r.buf.subarray(p, p + len);
}

/** Array length (§5.2.5): -1 is null; the count is checked against the bytes left (each element takes at least `min` bytes) before any allocation. */
export function count(r: Reader, min: number, what: string): number {
  const at = r.pos;
  const n = r.i32();
  if (r.err || n === -1) return -1;
  if (n < 0 || n * min > r.remaining) {
    fail(r, `${what}: ${n >>> 0} elements at ${at} cannot fit in the ${r.remaining} bytes left`, at);
    return -1;
  }
  return n;
}

/** An array of `n` elements read by `f`, or null for -1. */
export function array<T>(r: Reader, min: number, what: string, f: (r: Reader) => T): T[] | null {
  const n = count(r, min, what);
  if (n < 0) return null;
  const out: T[] = [];
  for (let i = 0; i < n && !r.err; i++) out.push(f(r));
  return out;
}

const hex = (v: number, w: number) => v.toString(16).padStart(w, '0');

/** Guid (§5.2.2.6) in the uppercase 8-4-4-4-12 form. */
export function guid(r: Reader): string {
  const d1 = r.u32();
  const d2 = r.u16();
  const d3 = r.u16();
  let tail = '';
  for (let i = 0; i < 8; i++) tail += (i === 2 ? '-' : '') + hex(r.u8(), 2);
  return `${hex(d1, 8)}-${hex(d2, 4)}-${hex(d3, 4)}-${tail}`.toUpperCase();
}

/**
 * NodeId (§5.2.2.9) as `i=85` (namespace 0 implicit) or `ns=2;s=Foo`, `ns=1;g=…`, `ns=1;b=<base64>`.
 * The flag bits of the encoding byte are ignored in a plain NodeId (node-opcua's reading, which the
 * fields keep); `expanded` reads them (§5.2.2.10) and appends `;namespaceUri:` / `;serverIndex:`.
 */
export function nodeId(r: Reader, expanded = false): string {
  const enc = r.u8();
  let ns = 0;
  let id: string;
  switch (enc & 0x3f) {
    case 0:
      id = 'i=' + r.u8();
      break;
    case 1:
      ns = r.u8();
      id = 'i=' + r.u16();
      break;
    case 2:
      ns = r.u16();
      id = 'i=' + r.u32();
      break;
    case 3:
      ns = r.u16();
      id = 's=' + (str(r) ?? '');
      break;
    case 4:
      ns = r.u16();
      id = 'g=' + guid(r);
      break;
    case 5: {
      ns = r.u16();
      const b = bytes(r);
      id = 'b=' + (b ? Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64') : '<null>');
      break;
    }
    default:
      fail(r, `NodeId encoding 0x${hex(enc, 2)} (OPC 10000-6 §5.2.2.9)`);
      return '';
  }
  let s = ns ? `ns=${ns};${id}` : id;
  if (expanded) {
    if (enc & 0x80) {
      const uri = str(r);
      if (uri) s += ';namespaceUri:' + uri;
    }
    if (enc & 0x40) {
      const server = r.u32();
      if (server) s += ';serverIndex:' + server;
    }
  }
  return s;
}

/** QualifiedName (§5.2.2.13) as `ns:name`, or the name alone in namespace 0 (`<null>` when it has none). */
export function qualifiedName(r: Reader): string {
  const ns = r.u16();
  const name = str(r);
  return ns ? `${ns}:${name}` : name || '<null>';
}

/** LocalizedText (§5.2.2.14): its text, null when absent. */
export function localizedText(r: Reader): string | null {
  const mask = r.u8();
  if (mask & 1) str(r);
  return mask & 2 ? str(r) : null;
}

const EPOCH_DIFF_MS = 11644473600000n;

/**
 * DateTime (§5.2.2.5) as ISO 8601: the 64-bit tick count read unsigned and divided exactly (every
 * value maps to a date, 0 to 1601-01-01, as the fields always had it).
 */
export function dateTime(r: Reader): string | null {
  const lo = r.u32();
  const hi = r.u32();
  if (r.err) return null;
  const ms = Number(((BigInt(hi) << 32n) | BigInt(lo)) / 10000n - EPOCH_DIFF_MS);
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString() : null;
}

/** Double (§5.2.2.3). */
export function double(r: Reader): number {
  if (r.remaining < 8) {
    r.skip(8);
    return 0;
  }
  const b = r.buf;
  const v = Buffer.from(b.buffer, b.byteOffset + r.pos, 8).readDoubleLE(0);
  r.skip(8);
  return v;
}

/** Boolean (§5.2.2.1): any non-zero byte is true. */
export function bool(r: Reader): boolean {
  return r.u8() !== 0;
}

/** ExtensionObject (§5.2.2.15) header: its type id (`ns0`: the numeric id in namespace 0, else -1) and body bounds; `end < 0` for no body. */
export function extensionObject(r: Reader): { typeId: string; ns0: number; start: number; end: number } {
  const typeId = nodeId(r);
  const ns0 = /^i=\d+$/.test(typeId) ? Number(typeId.slice(2)) : -1;
  const enc = r.u8();
  if (enc === 0) return { typeId, ns0, start: r.pos, end: -1 };
  if (enc !== 1 && enc !== 2) {
    fail(r, `ExtensionObject encoding ${enc} (OPC 10000-6 §5.2.2.15)`);
    return { typeId, ns0, start: r.pos, end: -1 };
  }
  const at = r.pos - 1;
  const len = length(r, 'ExtensionObject body');
  const start = r.pos;
  if (len > 0) {
    if (ns0 === 0 && r.nullTypedBodyAt < 0) r.nullTypedBodyAt = at;
    r.skip(len);
  }
  return { typeId, ns0, start, end: len < 0 ? -1 : start + len };
}

/** RequestHeader (OPC 10000-4 §7.32 Table 170), skipped: service.ts has read it already. */
export function skipRequestHeader(r: Reader): void {
  nodeId(r);
  r.skip(16); // timestamp, requestHandle, returnDiagnostics
  str(r);
  r.skip(4);
  extensionObject(r);
}

/** ResponseHeader (OPC 10000-4 §7.33 Table 171), skipped. */
export function skipResponseHeader(r: Reader): void {
  r.skip(16); // timestamp, requestHandle, serviceResult
  r.diagnosticInfo();
  array(r, 4, 'stringTable', str);
  extensionObject(r);
}

const INVALID_RANGE = 'NumericRange:<Invalid>';

/** One dimension of a NumericRange: `n` or `a:b` (a < b). */
function rangeBit(s: string): number[] | null {
  const parts = s.split(':');
  if (parts.length === 1) return [parseInt(parts[0], 10)];
  if (parts.length !== 2) return null;
  const a = parseInt(parts[0], 10);
  const b = parseInt(parts[1], 10);
  return a >= b || a < 0 || b < 0 ? null : [a, b];
}

/**
 * An IndexRange (NumericRange, OPC 10000-4 §7.27) in the normalised text the fields have always
 * carried (node-opcua's NumericRange.toString): null when absent, `NumericRange:<Invalid>` when it
 * does not parse.
 */
export function indexRangeText(s: string | null): string | null {
  if (s === null) return null;
  if (!/^[0-9:,]*$/.test(s)) return INVALID_RANGE;
  const dims = s.split(',');
  if (dims.length > 2) return INVALID_RANGE;
  const bits = dims.map(rangeBit);
  if (bits.some((b) => b === null)) return INVALID_RANGE;
  if (dims.length === 1) return (bits[0] as number[]).join(':');
  return (bits as number[][])
    .map((b) => (b.length === 1 ? [b[0], b[0]] : b))
    .map((b) => (b[0] === b[1] ? String(b[0]) : b.join(':')))
    .join(',');
}
