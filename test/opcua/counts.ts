/** Message counts per `type chunk serviceId` for our events and for tshark's rows. */
import type { DecodeEvent } from '../../collectors/types.js';

const MESSAGE_TYPES = new Set(['HEL', 'ACK', 'ERR', 'RHE', 'OPN', 'MSG', 'CLO']);

export function countOurs(events: DecodeEvent[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const e of events) {
    if (!MESSAGE_TYPES.has(e.type)) continue;
    const k = `${e.type} ${e.chunk as string} ${e.service === undefined || e.service === null || e.chunk !== 'F' ? '' : (e.typeId as number)}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

export function countTshark(rows: { type: string; chunk: string; service: number | null }[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of rows) {
    const k = `${r.type} ${r.chunk} ${r.service ?? ''}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}
