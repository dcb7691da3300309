/**
 * Output caps for values taken from the wire: arrays to `maxArrayItems`, strings to
 * `maxStringLength` (the original length kept after `…`), byte strings to `maxByteStringLength`
 * bytes of hex.
 */

export interface PlainCaps {
  maxArrayItems: number;
  maxStringLength: number;
  maxByteStringLength: number;
}

/** Cap a string, keeping its length visible. */
export function capString(s: string, caps: PlainCaps): string {
  return s.length > caps.maxStringLength ? s.slice(0, caps.maxStringLength) + `…(${s.length})` : s;
}

/** {@link capString} of a string that may be absent. */
export function capNullableString(s: string | null, caps: PlainCaps): string | null {
  return s === null ? null : capString(s, caps);
}

/** A byte string as hex, its first `maxByteStringLength` bytes, with its length when cut. */
export function capHex(b: Uint8Array | null, caps: PlainCaps): string | null {
  if (b === null) return null;
  const n = Math.min(b.length, caps.maxByteStringLength);
  const hex = Buffer.from(b.buffer, b.byteOffset, n).toString('hex');
  return b.length > n ? `${hex}…(${b.length})` : hex;
}

/** A float as JSON can carry it: NaN and the infinities as their names. */
export function finiteOrName(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

/** Cap an array, mapping its first items. */
export function capArray<T, R>(arr: readonly T[] | null | undefined, caps: PlainCaps, f: (x: T) => R): R[] {
  if (!arr) return [];
  const n = Math.min(arr.length, caps.maxArrayItems);
  const out: R[] = [];
  for (let i = 0; i < n; i++) out.push(f(arr[i]));
  return out;
}
