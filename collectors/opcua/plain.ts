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

/** Cap an array, mapping its first items. */
export function capArray<T, R>(arr: readonly T[] | null | undefined, caps: PlainCaps, f: (x: T) => R): R[] {
  if (!arr) return [];
  const n = Math.min(arr.length, caps.maxArrayItems);
  const out: R[] = [];
  for (let i = 0; i < n; i++) out.push(f(arr[i]));
  return out;
}
