/**
 * StatusCode names (OPC 10000-6 §5.2.2.11, OPC 10000-4 §7.39), from our own table
 * (statuscodes.ts); unknown codes are named explicitly (habit 7).
 */
import { STATUS_CODES, STATUS_INFO_BITS } from './statuscodes.js';

const NAMES = new Map<number, string>();
for (const [value, name] of STATUS_CODES) if (!NAMES.has(value)) NAMES.set(value, name);

/** Name of a status code; the low 16 bits (info bits) are reported after a `#` when set. */
export function statusName(code: number): string {
  const exact = NAMES.get(code);
  if (exact !== undefined) return exact;
  const base = NAMES.get((code & 0xffff0000) >>> 0);
  if (base !== undefined) return `${base}#${(code & 0xffff).toString(16).padStart(4, '0')}`;
  return `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * The name service results have always carried (they came from node-opcua's StatusCode objects,
 * and the output contract keeps them): info bits by name (`Good#InfoTypeDataValue|Overflow`),
 * and an unknown code is named `Bad`, as node-opcua names it.
 */
export function resultStatusName(code: number): string {
  const base = NAMES.get((code & 0xffff0000) >>> 0) ?? 'Bad';
  const bits = code & 0xffff;
  if (bits === 0) return base;
  let extra = '';
  for (const [name, mask] of STATUS_INFO_BITS) if ((bits & mask) === mask) extra += (extra ? '|' : '') + name;
  return extra ? `${base}#${extra}` : base;
}
