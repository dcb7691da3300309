/**
 * Output formats of `otwatch decode`: NDJSON (the public contract) and a human table.
 * Outputs only serialise; they never compute.
 */
import type { DecodeEvent, FlowRef } from '../collectors/types.js';
import type { FlowRecord } from '../collectors/net/flow.js';

export type OutputFormat = 'ndjson' | 'table';

export function flowText(f: FlowRef): string {
  const host = (a: string) => (a.includes(':') ? `[${a}]` : a);
  const vlan = f.vlan ? ` vlan ${f.vlan.join('.')}` : '';
  return `${host(f.src)}:${f.sport} → ${host(f.dst)}:${f.dport}${vlan}`;
}

/** The fields worth a glance in a table row, per kind of record. */
function summary(ev: Record<string, unknown>): string {
  const parts: string[] = [];
  const keys = ['topic', 'service', 'clientId', 'qos', 'packetId', 'requestId', 'reasonCode', 'statusCode', 'securityPolicy', 'securityMode', 'subject', 'thumbprint', 'error', 'code', 'payloadLength'];
  for (const k of keys) {
    let v = ev[k];
    if (v === undefined || v === null || v === '') continue;
    // Security policy URIs share one long prefix: the name after '#' is what a reader needs.
    if (k === 'securityPolicy' && typeof v === 'string') v = v.slice(v.lastIndexOf('#') + 1);
    parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return parts.join(' ');
}

export function eventRow(ev: DecodeEvent): string {
  return [ev.ts, ev.proto.padEnd(6), flowText(ev.flow).padEnd(44), ev.dir, String(ev.type).padEnd(12), summary(ev)].join('  ');
}

export function flowRow(r: FlowRecord): string {
  const pk = `${r.packets.c2s}/${r.packets.s2c} pkts`;
  const by = `${r.bytes.c2s}/${r.bytes.s2c} bytes`;
  const gap = r.gapBytes.c2s + r.gapBytes.s2c > 0 ? ` gaps ${r.gapBytes.c2s}/${r.gapBytes.s2c}` : '';
  return [r.start, r.transport.padEnd(6), flowText(r.flow).padEnd(44), (r.app ?? '-').padEnd(8), pk.padEnd(16), by.padEnd(22), r.endReason.padEnd(7), r.communityId + gap].join('  ');
}

export const FLOW_HEADER = ['start', 'transport', 'flow (client → server)', 'app', 'packets c2s/s2c', 'bytes c2s/s2c', 'end', 'community id'].join('  ');
