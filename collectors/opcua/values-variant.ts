/**
 * Variant and DataValue (OPC 10000-6 §5.2.2.16–17) for the cold request and response bodies
 * (WriteRequest values, Call arguments), rendered as those fields have always been: full-precision
 * DateTimes (1601-01-01 for 0), uppercase GUIDs, NodeIds in NodeId.toString() form, status names
 * with named info bits, and the array cap dropping `dims` (`count` tells the real length). The hot
 * responses (ReadResponse, PublishResponse) keep variant.ts, whose forms are their own contract.
 *
 * One difference from the shipped output, by design: an ExtensionObject value is `{_type, length}`
 * (its type id and body size, as in variant.ts) where node-opcua decoded the structures it knew;
 * a DiagnosticInfo value is the summary Reader.diagnosticInfo() gives.
 */
import { capHex, capString, finiteOrName, type PlainCaps } from './plain.js';
import type { Reader } from './reader.js';
import { resultStatusName } from './status.js';
import { BUILTIN, MAX_DEPTH, MIN_SIZE, stripNs0 } from './variant.js';
import { bytes, dateTime, double, extensionObject, fail, guid, localizedText, nodeId, qualifiedName, str } from './values.js';

function int64(r: Reader, signed: boolean): string {
  const lo = r.u32();
  const hi = r.u32();
  const u = (BigInt(hi) << 32n) | BigInt(lo);
  return (signed ? BigInt.asIntN(64, u) : u).toString();
}

function float(r: Reader): number | string {
  if (r.remaining < 4) return r.skip(4), 0;
  const v = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, 4).readFloatLE(0);
  r.skip(4);
  return finiteOrName(v);
}

/** One scalar of built-in type `t`. */
function scalar(r: Reader, t: number, caps: PlainCaps, depth: number): unknown {
  switch (t) {
    case 0:
      return null;
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
    case 9:
      return int64(r, t === 8);
    case 10:
      return float(r);
    case 11:
      return finiteOrName(double(r));
    case 12:
    case 16: {
      const s = str(r);
      return s === null ? null : capString(s, caps);
    }
    case 13:
      return dateTime(r);
    case 14:
      return capString(guid(r), caps); // a string like any other (the shipped form)
    case 15:
      return capHex(bytes(r), caps);
    case 17:
      return stripNs0(nodeId(r));
    case 18:
      return stripNs0(nodeId(r, true));
    case 19:
      return resultStatusName(r.u32());
    case 20:
      return qualifiedName(r);
    case 21:
      return localizedText(r);
    case 22: {
      const x = extensionObject(r);
      return { _type: stripNs0(x.typeId), length: x.end < 0 ? 0 : x.end - x.start };
    }
    case 23:
      return depth < MAX_DEPTH ? readDataValueCompat(r, caps, depth + 1) : (fail(r, 'values nested too deep'), null);
    case 24:
      return depth < MAX_DEPTH ? readVariantCompat(r, caps, depth + 1) : (fail(r, 'values nested too deep'), null);
    default:
      return r.diagnosticInfo();
  }
}

/** Variant → `{type, value}`; `count` when the array was capped, else `dims` for a matrix. */
export function readVariantCompat(r: Reader, caps: PlainCaps, depth = 0): Record<string, unknown> | null {
  const enc = r.u8();
  const t = enc & 0x3f;
  if (t > 25) {
    fail(r, `Variant type ${t} (OPC 10000-6 §5.2.2.16)`);
    return null;
  }
  const type = BUILTIN[t];
  if (!(enc & 0x80)) {
    // §5.2.2.16: dimensions belong to an array; a scalar that claims them does not decode.
    if (enc & 0x40) return fail(r, 'Variant: ArrayDimensions on a scalar (OPC 10000-6 §5.2.2.16)'), null;
    return { type, value: scalar(r, t, caps, depth) };
  }
  const n = r.i32();
  let value: unknown[] | null = null;
  if (n !== -1) {
    // Null elements take no bytes: counted as one each, so a count cannot make us loop or
    // allocate beyond the body's size (node-opcua accepted 65,536 Nulls in 7 bytes).
    if (n < 0 || n * Math.max(1, MIN_SIZE[t]) > r.remaining) {
      fail(r, `Variant array of ${n >>> 0} ${type} cannot fit in the ${r.remaining} bytes left`);
      return null;
    }
    const keep = Math.min(n, caps.maxArrayItems);
    value = [];
    for (let i = 0; i < n && !r.err; i++) {
      const v = scalar(r, t, caps, depth);
      if (i < keep) value.push(v);
    }
    if (n > keep) return finishMatrix(r, enc, n) ? { type, value, count: n } : null;
  }
  if (!(enc & 0x40)) return { type, value };
  const dims = matrixDims(r, n);
  return dims ? { type, value, dims } : null;
}

/** Matrix dimensions (§5.2.2.16): they multiply to the element count. */
function matrixDims(r: Reader, n: number): number[] | null {
  const d = r.i32();
  if (d < 0 || d > r.remaining / 4 || n < 0) {
    fail(r, 'Variant matrix without elements or dimensions (OPC 10000-6 §5.2.2.16)');
    return null;
  }
  const dims: number[] = [];
  let prod = 1;
  for (let i = 0; i < d; i++) {
    const x = r.u32();
    dims.push(x);
    prod *= x;
  }
  if (prod !== n) {
    fail(r, `inconsistent matrix: ${n} elements, dimensions [${dims.join(', ')}] (OPC 10000-6 §5.2.2.16)`);
    return null;
  }
  return dims;
}

function finishMatrix(r: Reader, enc: number, n: number): boolean {
  return !(enc & 0x40) || matrixDims(r, n) !== null;
}

/** DataValue → `{value, status, sourceTimestamp?, serverTimestamp?}` (§5.2.2.17). */
export function readDataValueCompat(r: Reader, caps: PlainCaps, depth = 0): Record<string, unknown> {
  const mask = r.u8();
  const out: Record<string, unknown> = { value: mask & 0x01 ? readVariantCompat(r, caps, depth) : { type: 'Null', value: null } };
  out.status = mask & 0x02 ? resultStatusName(r.u32()) : 'Good';
  if (mask & 0x04) out.sourceTimestamp = dateTime(r);
  if (mask & 0x10) r.skip(2);
  if (mask & 0x08) out.serverTimestamp = dateTime(r);
  if (mask & 0x20) r.skip(2);
  return out;
}
