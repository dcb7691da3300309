/**
 * StatusCode names (OPC 10000-6 §5.2.2.11, OPC 10000-4 §7.39). The table comes from node-opcua's
 * generated list of the standard codes; unknown codes are named explicitly (habit 7).
 */
import { StatusCodes } from 'node-opcua-status-code';

const NAMES = new Map<number, string>();
for (const [name, sc] of Object.entries(StatusCodes as unknown as Record<string, { value: number }>)) {
  if (sc && typeof sc.value === 'number' && !NAMES.has(sc.value)) NAMES.set(sc.value, name);
}

/** Name of a status code; the low 16 bits (info bits) are reported after a `#` when set. */
export function statusName(code: number): string {
  const exact = NAMES.get(code);
  if (exact !== undefined) return exact;
  const base = NAMES.get((code & 0xffff0000) >>> 0);
  if (base !== undefined) return `${base}#${(code & 0xffff).toString(16).padStart(4, '0')}`;
  return `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}
