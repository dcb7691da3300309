/**
 * Output formats of `otwatch decode`: NDJSON (the public contract) and a human table.
 * Outputs only serialise; they never compute.
 */
import type { FlowRecord } from '../collectors/net/flow.js';
import { flowText } from '../collectors/format.js';

export { eventRow, flowText } from '../collectors/format.js';

export type OutputFormat = 'ndjson' | 'table';

export function flowRow(r: FlowRecord): string {
  const pk = `${r.packets.c2s}/${r.packets.s2c} pkts`;
  const by = `${r.bytes.c2s}/${r.bytes.s2c} bytes`;
  const gap = r.gapBytes.c2s + r.gapBytes.s2c > 0 ? ` gaps ${r.gapBytes.c2s}/${r.gapBytes.s2c}` : '';
  return [r.start, r.transport.padEnd(6), flowText(r.flow).padEnd(44), (r.app ?? '-').padEnd(8), pk.padEnd(16), by.padEnd(22), r.endReason.padEnd(7), r.communityId + gap].join('  ');
}

export const FLOW_HEADER = ['start', 'transport', 'flow (client → server)', 'app', 'packets c2s/s2c', 'bytes c2s/s2c', 'end', 'community id'].join('  ');
