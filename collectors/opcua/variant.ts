/**
 * Our own decoding of Variant and DataValue (OPC 10000-6 §5.2.2.16–17) and of the hot
 * responses built on them — PublishResponse (OPC 10000-4 §5.13.5.2 Table 93 with the
 * NotificationData of §7.25) and ReadResponse (§5.10.2.2 Table 54) — so the common case does not
 * go through generic decoders (node-opcua's were about 5x slower). Their output forms are the
 * contract of those two responses (values-variant.ts renders Write and Call values).
 * Every count is checked against the bytes left before anything is allocated.
 */
import { Reader } from './reader.js';
import { capHex, capNullableString, finiteOrName, type PlainCaps } from './plain.js';
import { statusName } from './status.js';

/** Built-in type names by id (OPC 10000-6 §5.1.2 Table 1). */
export const BUILTIN = [
  'Null', 'Boolean', 'SByte', 'Byte', 'Int16', 'UInt16', 'Int32', 'UInt32', 'Int64', 'UInt64', 'Float', 'Double', 'String',
  'DateTime', 'Guid', 'ByteString', 'XmlElement', 'NodeId', 'ExpandedNodeId', 'StatusCode', 'QualifiedName', 'LocalizedText',
  'ExtensionObject', 'DataValue', 'Variant', 'DiagnosticInfo',
];
/** Smallest encoded size of one element per built-in type, to bound array counts. */
export const MIN_SIZE = [0, 1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 4, 8, 16, 4, 4, 2, 2, 4, 6, 1, 3, 1, 1, 1];
/** Deepest nesting of DataValues and Variants read. */
export const MAX_DEPTH = 8;

const f32 = new Float32Array(1);
const f32b = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1);
const f64b = new Uint8Array(f64.buffer);


/** A NodeId string without the implicit namespace 0 (`i=85`, as OPC 10000-6 §5.3.1.10 writes it). */
export function stripNs0(s: string): string {
  return s.startsWith('ns=0;') ? s.slice(5) : s;
}

/** One scalar of built-in type `t`. */
function scalar(r: Reader, t: number, caps: PlainCaps, depth: number): unknown {
  const b = r.buf;
  switch (t) {
    case 1:
      return r.u8() !== 0;
    case 2:
      return (r.u8() << 24) >> 24;
    case 3:
      return r.u8();
    case 4:
      return (r.u16() << 16) >> 16;
    case 5:
      return r.u16();
    case 6:
      return r.i32();
    case 7:
      return r.u32();
    case 8:
    case 9: {
      if (r.remaining < 8) {
        r.skip(8);
        return null;
      }
      const p = r.pos;
      r.skip(8);
      const v = Buffer.from(b.buffer, b.byteOffset + p, 8);
      return t === 8 ? v.readBigInt64LE(0).toString() : v.readBigUInt64LE(0).toString();
    }
    case 10: {
      if (r.remaining < 4) return r.skip(4), null;
      for (let i = 0; i < 4; i++) f32b[i] = b[r.pos + i];
      r.skip(4);
      return finiteOrName(f32[0]);
    }
    case 11: {
      if (r.remaining < 8) return r.skip(8), null;
      for (let i = 0; i < 8; i++) f64b[i] = b[r.pos + i];
      r.skip(8);
      return finiteOrName(f64[0]);
    }
    case 12:
    case 16:
      return capNullableString(r.string(caps.maxStringLength + 1), caps);
    case 13:
      return r.dateTime();
    case 14:
      return r.guid();
    case 15:
      return capHex(r.byteString(), caps);
    case 17:
      return stripNs0(r.nodeId());
    case 18:
      return stripNs0(r.nodeId(true));
    case 19:
      return statusName(r.u32());
    case 20: {
      const ns = r.u16();
      const name = r.string(caps.maxStringLength) ?? '';
      return ns ? `${ns}:${name}` : name;
    }
    case 21: {
      const mask = r.u8();
      if (mask & 1) r.string(64);
      return mask & 2 ? capNullableString(r.string(caps.maxStringLength + 1), caps) : null;
    }
    case 22: {
      const typeId = stripNs0(r.nodeId());
      const enc = r.u8();
      let len = 0;
      if (enc === 1 || enc === 2) {
        len = r.i32();
        if (len > 0) r.skip(len);
      } else if (enc !== 0) r.err = true;
      return { _type: typeId, length: len };
    }
    case 23:
      return depth < MAX_DEPTH ? readDataValue(r, caps, depth + 1) : ((r.err = true), null);
    case 24:
      return depth < MAX_DEPTH ? readVariant(r, caps, depth + 1) : ((r.err = true), null);
    case 25:
      return r.diagnosticInfo();
    default:
      r.err = true;
      return null;
  }
}

/** Variant → `{type, value}` (`count` when the array was capped, `dims` for matrices). */
export function readVariant(r: Reader, caps: PlainCaps, depth = 0): Record<string, unknown> | null {
  const enc = r.u8();
  const t = enc & 0x3f;
  if (t > 25) {
    r.err = true;
    return null;
  }
  const type = BUILTIN[t];
  if (!(enc & 0x80)) {
    if (t === 0) return { type, value: null };
    return { type, value: scalar(r, t, caps, depth) };
  }
  const n = r.i32();
  let out: Record<string, unknown>;
  if (n < 0) out = { type, value: null };
  else {
    // Bound the count by the bytes that are there, before allocating anything.
    if (n * Math.max(1, MIN_SIZE[t]) > r.remaining) {
      r.err = true;
      return null;
    }
    const keep = Math.min(n, caps.maxArrayItems);
    const value: unknown[] = [];
    for (let i = 0; i < n && !r.err; i++) {
      const v = scalar(r, t, caps, depth);
      if (i < keep) value.push(v);
    }
    out = n > keep ? { type, value, count: n } : { type, value };
  }
  if (enc & 0x40) {
    const d = r.i32();
    if (d > r.remaining / 4) {
      r.err = true;
      return null;
    }
    const dims: number[] = [];
    for (let i = 0; i < d; i++) dims.push(r.i32());
    if (n >= 0) {
      // OPC 10000-6 §5.2.2.16: the dimensions multiply to the element count.
      let prod = 1;
      for (const x of dims) prod *= x;
      if (prod !== n) {
        r.err = true;
        r.reason = `inconsistent matrix: ${n} elements, dimensions [${dims.join(', ')}] (OPC 10000-6 §5.2.2.16)`;
      }
    }
    out.dims = dims;
  }
  return out;
}

/** DataValue → `{value, status, sourceTimestamp?, serverTimestamp?}` (§5.2.2.17). */
export function readDataValue(r: Reader, caps: PlainCaps, depth = 0, clientHandle = -1): Record<string, unknown> {
  const mask = r.u8();
  const value = mask & 0x01 ? readVariant(r, caps, depth) : { type: 'Null', value: null };
  // Built in one go (a monitored item's client handle first) rather than spread afterwards.
  const out: Record<string, unknown> = clientHandle >= 0 ? { clientHandle, value } : { value };
  out.status = mask & 0x02 ? statusName(r.u32()) : 'Good';
  if (mask & 0x04) {
    const ts = r.dateTime();
    if (ts !== null) out.sourceTimestamp = ts;
  }
  if (mask & 0x10) r.skip(2);
  if (mask & 0x08) {
    const ts = r.dateTime();
    if (ts !== null) out.serverTimestamp = ts;
  }
  if (mask & 0x20) r.skip(2);
  return out;
}

/** NotificationData encodings (DefaultBinary ids): §7.25.2–4. */
const DATA_CHANGE = 811;
const EVENT_LIST = 916;
const STATUS_CHANGE = 820;

/** PublishResponse after the response header (Table 93), written into `out` only when the whole body decodes; false when malformed. */
export function readPublishBody(r: Reader, caps: PlainCaps, out: Record<string, unknown>): boolean {
  const subscriptionId = r.u32();
  const nAvail = r.i32();
  if (nAvail > r.remaining / 4) return false;
  for (let i = 0; i < nAvail; i++) r.skip(4);
  const moreNotifications = r.u8() !== 0;
  const notificationSequence = r.u32();
  const publishTime = r.dateTime();
  const nData = r.i32();
  if (nData > r.remaining / 3) return false;
  const dataChanges: unknown[] = [];
  const events: unknown[] = [];
  const statusChanges: unknown[] = [];
  let dataChangeCount = 0;
  let eventCount = 0;
  for (let i = 0; i < nData && !r.err; i++) {
    const typeId = r.numericNodeId();
    const enc = r.u8();
    if (enc !== 1) return false;
    const len = r.i32();
    if (len < 0 || len > r.remaining) return false;
    const end = r.pos + len;
    const sub = new Reader(r.buf, r.pos, end);
    if (typeId === DATA_CHANGE) {
      const n = sub.i32();
      if (n > sub.remaining / 5) return false;
      for (let k = 0; k < n && !sub.err; k++) {
        const dv = readDataValue(sub, caps, 0, sub.u32());
        dataChangeCount++;
        if (dataChanges.length < caps.maxArrayItems) dataChanges.push(dv);
      }
    } else if (typeId === EVENT_LIST) {
      const n = sub.i32();
      if (n > sub.remaining / 8) return false;
      for (let k = 0; k < n && !sub.err; k++) {
        const clientHandle = sub.u32();
        const nf = sub.i32();
        if (nf > sub.remaining) return false;
        const fields: unknown[] = [];
        for (let j = 0; j < nf && !sub.err; j++) {
          const v = readVariant(sub, caps);
          if (j < caps.maxArrayItems) fields.push(v);
        }
        eventCount++;
        if (events.length < caps.maxArrayItems) events.push({ clientHandle, fields });
      }
    } else if (typeId === STATUS_CHANGE) {
      statusChanges.push({ status: statusName(sub.u32()) });
    }
    if (sub.err) return false;
    r.pos = end;
  }
  // results (StatusCode[]) and diagnosticInfos follow; they are checked, not reported.
  const nRes = r.i32();
  if (nRes > r.remaining / 4) return false;
  r.skip(Math.max(0, nRes) * 4);
  const nDiag = r.i32();
  for (let i = 0; i < nDiag && !r.err; i++) r.diagnosticInfo();
  if (r.err) return false;
  out.subscriptionId = subscriptionId;
  out.notificationSequence = notificationSequence;
  out.publishTime = publishTime;
  out.moreNotifications = moreNotifications;
  out.dataChanges = dataChanges;
  out.dataChangeCount = dataChangeCount;
  out.events = events;
  out.eventCount = eventCount;
  out.statusChanges = statusChanges;
  return true;
}

/** ReadResponse after the response header (Table 54), written into `out` only when the whole body decodes; false when malformed. */
export function readReadResponseBody(r: Reader, caps: PlainCaps, out: Record<string, unknown>): boolean {
  const n = r.i32();
  if (n > r.remaining) return false;
  const results: unknown[] = [];
  for (let i = 0; i < n && !r.err; i++) {
    const dv = readDataValue(r, caps);
    if (i < caps.maxArrayItems) results.push(dv);
  }
  const nDiag = r.i32();
  for (let i = 0; i < nDiag && !r.err; i++) r.diagnosticInfo();
  if (r.err) return false;
  out.results = results;
  out.count = Math.max(0, n);
  return true;
}

