/**
 * UADP DataSetMessages (OPC 10000-14 §7.2.4.5): the header (§7.2.4.5.4: DataSetFlags1
 * and DataSetFlags2), then key frame (§7.2.4.5.5), delta frame (§7.2.4.5.6), event (§7.2.4.5.7)
 * or keep-alive (§7.2.4.5.8) data, with fields encoded as Variant, RawData or DataValue.
 * RawData has no field count and no type tags: it needs the writer's DataSetMetaData.
 */
import { Reader } from '../opcua/reader.js';
import { statusName } from '../opcua/status.js';
import { readDataValue, readVariant } from '../opcua/variant.js';
import { builtinName } from './metadata.js';
import type { DataSetMessageType, PubsubCaps, PubsubDataSetMessage, PubsubError, PubsubField, PubsubMetaData } from './types.js';

/** DataSetFlags2 bits 0–3 (§7.2.4.5.4). */
const MESSAGE_TYPES: readonly DataSetMessageType[] = ['keyframe', 'deltaframe', 'event', 'keepalive'];
/** DataSetFlags1 bits 1–2 (§7.2.4.5.4). */
const ENCODINGS = ['variant', 'rawdata', 'datavalue', 'reserved'] as const;

const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);

function float(r: Reader, n: 4 | 8): number | string | null {
  if (r.remaining < n) return r.skip(n), null;
  const dst = n === 4 ? f32b : f64b;
  for (let i = 0; i < n; i++) dst[i] = r.buf[r.pos + i];
  r.skip(n);
  const v = n === 4 ? f32[0] : f64[0];
  return Number.isFinite(v) ? v : String(v);
}

function int64(r: Reader, signed: boolean): string | null {
  if (r.remaining < 8) return r.skip(8), null;
  const b = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, 8);
  r.skip(8);
  return signed ? b.readBigInt64LE(0).toString() : b.readBigUInt64LE(0).toString();
}

function hex(b: Uint8Array | null, cap: number): string | null {
  if (b === null) return null;
  const s = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, cap)).toString('hex');
  return b.length > cap ? `${s}…(${b.length})` : s;
}

/** Readers of one RawData scalar per built-in type (OPC 10000-6 §5.2.2); missing: not decodable raw. */
const RAW: Record<number, (r: Reader, caps: PubsubCaps) => unknown> = {
  1: (r) => r.u8() !== 0,
  2: (r) => (r.u8() << 24) >> 24,
  3: (r) => r.u8(),
  4: (r) => (r.u16() << 16) >> 16,
  5: (r) => r.u16(),
  6: (r) => r.i32(),
  7: (r) => r.u32(),
  8: (r) => int64(r, true),
  9: (r) => int64(r, false),
  10: (r) => float(r, 4),
  11: (r) => float(r, 8),
  12: (r, c) => r.string(c.maxStringLength),
  13: (r) => r.dateTime(),
  14: (r) => r.guid(),
  15: (r, c) => hex(r.byteString(), c.maxByteStringLength),
  17: (r) => r.nodeId(),
  19: (r) => statusName(r.u32()),
};

/** One RawData field of the metadata's type; undefined when the type cannot be read raw. */
function rawField(r: Reader, f: PubsubMetaData['fields'][number], caps: PubsubCaps): unknown {
  const read = RAW[f.builtInType];
  if (read === undefined) return undefined;
  if (f.valueRank < 1) return read(r, caps);
  // Arrays: Int32 length then elements (OPC 10000-6 §5.2.5), bounded by the bytes left.
  const n = r.i32();
  if (n < 0) return null;
  if (n > r.remaining) {
    r.err = true;
    return null;
  }
  const out: unknown[] = [];
  for (let i = 0; i < n && !r.err; i++) {
    const v = read(r, caps);
    if (i < caps.maxArrayItems) out.push(v);
  }
  return out;
}

function field(index: number, md: PubsubMetaData | undefined, r: Reader, enc: number, caps: PubsubCaps): PubsubField | null {
  const m = md?.fields[index];
  const name = m?.name ?? null;
  if (enc === 0) {
    const v = readVariant(r, caps);
    if (v === null) return null;
    return { index, name, type: (v.type as string) ?? m?.type ?? null, value: v.value };
  }
  if (enc === 2) {
    const dv = readDataValue(r, caps);
    const v = dv.value as { type?: string; value?: unknown } | null;
    const out: PubsubField = { index, name, type: v?.type ?? m?.type ?? null, value: v?.value ?? null, status: dv.status as string };
    if (dv.sourceTimestamp !== undefined) out.sourceTimestamp = dv.sourceTimestamp as string;
    if (dv.serverTimestamp !== undefined) out.serverTimestamp = dv.serverTimestamp as string;
    return out;
  }
  if (m === undefined) return null;
  const value = rawField(r, m, caps);
  if (value === undefined) return null;
  return { index, name, type: builtinName(m.builtInType), value };
}

export type DataSetResult = { ok: true; value: PubsubDataSetMessage } | { ok: false; error: PubsubError; offset: number };

/**
 * One DataSetMessage occupying `r` up to `r.end` (its size is known from the payload header, or it
 * is the last message). `md` resolves names and RawData types; without it fields are by index.
 */
export function readDataSetMessage(r: Reader, writerId: number | null, md: PubsubMetaData | undefined, caps: PubsubCaps): DataSetResult {
  const start = r.pos;
  const f1 = r.u8();
  const f2 = f1 & 0x80 ? r.u8() : 0;
  const encN = (f1 >> 1) & 3;
  const typeN = f2 & 0x0f;
  const msg: PubsubDataSetMessage = {
    writerId,
    sequenceNumber: f1 & 0x08 ? r.u16() : null,
    type: MESSAGE_TYPES[typeN] ?? 'unknown',
    encoding: ENCODINGS[encN],
    valid: (f1 & 0x01) !== 0,
    status: null,
    metaDataVersion: null,
    timestamp: f2 & 0x10 ? r.dateTime() : null,
    fieldCount: 0,
    fields: [],
  };
  if (f2 & 0x20) r.u16(); // PicoSeconds
  // Status is the high 16 bits of a StatusCode (§7.2.4.5.4).
  if (f1 & 0x10) msg.status = statusName(r.u16() * 0x10000);
  if (f1 & 0x60) {
    const major = f1 & 0x20 ? r.u32() : null;
    const minor = f1 & 0x40 ? r.u32() : null;
    msg.metaDataVersion = { major, minor };
  }
  if (r.err) return { ok: false, error: 'uadp_truncated', offset: start };
  if (encN === 3) return { ok: false, error: 'uadp_field_encoding', offset: start };
  if (msg.type === 'keepalive' || msg.type === 'unknown') return { ok: true, value: msg };
  const event = msg.type === 'event';
  const delta = msg.type === 'deltaframe';
  if (encN === 1 && !event && !delta) {
    // Key frame in RawData: the metadata says which fields follow and in what types.
    if (md === undefined) {
      msg.rawUndecoded = r.remaining;
      r.pos = r.end;
      return { ok: true, value: msg };
    }
    msg.fieldCount = md.fields.length;
    for (let i = 0; i < md.fields.length; i++) {
      const fl = field(i, md, r, 1, caps);
      if (fl === null || r.err) {
        msg.rawUndecoded = Math.max(0, r.end - r.pos);
        r.pos = r.end;
        break;
      }
      if (msg.fields.length < caps.maxFields) msg.fields.push(fl);
    }
    return r.err ? { ok: false, error: 'uadp_truncated', offset: start } : { ok: true, value: msg };
  }
  const n = r.u16();
  // Each field takes at least one byte (two more for a delta frame's index).
  if (r.err || n * (delta ? 3 : 1) > r.remaining) return { ok: false, error: 'uadp_truncated', offset: start };
  msg.fieldCount = n;
  for (let i = 0; i < n; i++) {
    const index = delta ? r.u16() : i;
    const fl = field(index, md, r, event ? 0 : encN, caps);
    if (fl === null || r.err) {
      if (encN === 1 && !r.err) {
        msg.rawUndecoded = Math.max(0, r.end - r.pos); // a delta frame in RawData without metadata
        r.pos = r.end;
        return { ok: true, value: msg };
      }
      return { ok: false, error: r.err ? 'uadp_truncated' : 'uadp_field_encoding', offset: start };
    }
    if (msg.fields.length < caps.maxFields) msg.fields.push(fl);
  }
  return { ok: true, value: msg };
}
