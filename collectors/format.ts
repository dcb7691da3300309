/**
 * One-line text renderings of decode events, shared by `otwatch decode --format table` and the
 * live capture workers (which format in their own thread). Outputs only serialise.
 */
import type { DecodeEvent, FlowRef } from './types.js';

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
