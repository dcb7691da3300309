/**
 * TEST REFERENCE ONLY (used by reference-body.ts), kept as shipped except one fix: Int64 values
 * are read as signed (the shipped code printed a negative Int64 as its unsigned bit pattern).
 *
 * node-opcua decoded values → plain JSON (no BigInt, no Buffer, no class instances), with the
 * output caps applied: arrays to `maxArrayItems`, strings to `maxStringLength`, byte strings to
 * `maxByteStringLength` bytes of hex.
 */
import { createRequire } from 'node:module';
import type * as VariantLib from 'node-opcua-variant';

// node-opcua-variant (~35 MiB, ~0.4 s to load) is needed only for values node-opcua decoded,
// which exist only once body.ts has loaded node-opcua: load it then, not at start-up.
const load = createRequire(import.meta.url);
let variantLib: typeof VariantLib | null = null;
const lib = (): typeof VariantLib => (variantLib ??= load('node-opcua-variant') as typeof VariantLib);

export interface PlainCaps {
  maxArrayItems: number;
  maxStringLength: number;
  maxByteStringLength: number;
}

const MAX_DEPTH = 6;

function isNodeIdLike(v: object): v is { toString(): string } {
  const n = v.constructor?.name;
  return n === 'NodeId' || n === 'ExpandedNodeId';
}

function int64(v: unknown, signed = false): string | unknown {
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') {
    const u = BigInt(v[0] >>> 0) * 4294967296n + BigInt(v[1] >>> 0);
    return (signed ? BigInt.asIntN(64, u) : u).toString();
  }
  return v;
}

/** A Variant as `{type, value}` (`dims` for matrices). */
export function plainVariant(v: unknown, caps: PlainCaps, depth = 0): unknown {
  if (v === null || v === undefined || typeof v !== 'object') return null;
  const va = v as { dataType: number; arrayType: number; value: unknown; dimensions?: number[] | null };
  const { DataType, VariantArrayType } = lib();
  const type = DataType[va.dataType] ?? `DataType${va.dataType}`;
  const is64 = va.dataType === DataType.Int64 || va.dataType === DataType.UInt64;
  let value: unknown;
  if (va.arrayType === VariantArrayType.Scalar) {
    value = is64 ? int64(va.value, va.dataType === DataType.Int64) : plain(va.value, caps, depth + 1);
  } else {
    const arr = va.value as ArrayLike<unknown> | null;
    if (arr === null || arr === undefined) value = null;
    else {
      const n = Math.min(arr.length, caps.maxArrayItems);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(is64 ? int64(arr[i], va.dataType === DataType.Int64) : plain(arr[i], caps, depth + 1));
      value = out;
      if (arr.length > n) return { type, value, count: arr.length };
    }
  }
  const out: Record<string, unknown> = { type, value };
  if (va.arrayType === VariantArrayType.Matrix && va.dimensions) out.dims = [...va.dimensions];
  return out;
}

/** A DataValue as `{value, status, sourceTimestamp, serverTimestamp}` (absent fields omitted). */
export function plainDataValue(d: unknown, caps: PlainCaps): Record<string, unknown> | null {
  if (d === null || d === undefined || typeof d !== 'object') return null;
  const dv = d as { value?: unknown; statusCode?: { name: string }; sourceTimestamp?: Date | null; serverTimestamp?: Date | null };
  const out: Record<string, unknown> = { value: plainVariant(dv.value, caps) };
  out.status = dv.statusCode ? dv.statusCode.name : 'Good';
  if (dv.sourceTimestamp) out.sourceTimestamp = isoOrNull(dv.sourceTimestamp);
  if (dv.serverTimestamp) out.serverTimestamp = isoOrNull(dv.serverTimestamp);
  return out;
}

let lastMs = NaN;
let lastIso: string | null = null;

/** Date → ISO; one-entry memo (toISOString is costly and values repeat). */
function isoOrNull(d: Date): string | null {
  const t = d.getTime();
  if (t === lastMs) return lastIso;
  lastMs = t;
  lastIso = Number.isFinite(t) ? d.toISOString() : null;
  return lastIso;
}

/** Cap a string, keeping its length visible. */
export function capString(s: string, caps: PlainCaps): string {
  return s.length > caps.maxStringLength ? s.slice(0, caps.maxStringLength) + `…(${s.length})` : s;
}

/** Cap an array, mapping its first items. */
export function capArray<T, R>(arr: readonly T[] | null | undefined, caps: PlainCaps, f: (x: T) => R): R[] {
  if (!arr) return [];
  const n = Math.min(arr.length, caps.maxArrayItems);
  const out: R[] = [];
  for (let i = 0; i < n; i++) out.push(f(arr[i]));
  return out;
}

/** Generic conversion of any decoded node-opcua value. */
export function plain(v: unknown, caps: PlainCaps, depth = 0): unknown {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'boolean':
      return v;
    case 'string':
      return capString(v, caps);
    case 'bigint':
      return v.toString();
    case 'object':
      break;
    default:
      return null;
  }
  if (v instanceof Date) return isoOrNull(v);
  if (v instanceof Uint8Array) {
    const hex = Buffer.from(v.buffer, v.byteOffset, Math.min(v.length, caps.maxByteStringLength)).toString('hex');
    return v.length > caps.maxByteStringLength ? `${hex}…(${v.length})` : hex;
  }
  if (ArrayBuffer.isView(v)) return capArray(Array.from(v as unknown as ArrayLike<number>), caps, (x) => x);
  if (Array.isArray(v)) return capArray(v, caps, (x) => plain(x, caps, depth + 1));
  const name = v.constructor?.name;
  if (isNodeIdLike(v)) {
    const s = v.toString();
    return s.startsWith('ns=0;') ? s.slice(5) : s;
  }
  if (name === 'ConstantStatusCode' || name === 'ModifiableStatusCode' || name === 'StatusCode') return (v as { name: string }).name;
  if (name === 'LocalizedText') return (v as { text: string | null }).text ?? null;
  if (name === 'QualifiedName') return String(v);
  if (name === 'Variant') return plainVariant(v, caps, depth);
  if (name === 'DataValue') return plainDataValue(v, caps);
  if (depth >= MAX_DEPTH) return `[${name ?? 'object'}]`;
  const out: Record<string, unknown> = {};
  if (name && name !== 'Object') out._type = name;
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === 'function' || k.startsWith('_')) continue;
    out[k] = plain(x, caps, depth + 1);
  }
  return out;
}
