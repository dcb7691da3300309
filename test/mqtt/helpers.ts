/**
 * Helpers for MQTT capture tests: decode a capture through the whole pipeline while recording what
 * the MQTT consumer was handed (to replay it split anywhere) and what mqtt-packet parses from the
 * very same bytes (the differential oracle); tshark's view of the same capture.
 */
import mqttPacket from 'mqtt-packet';
import { decodeCapture } from '../../collectors/pipeline.js';
import { createMqttSpec, MqttConsumer, resolveMqttOptions, type MqttOptions } from '../../collectors/mqtt/index.js';
import type { DecodeEvent, FlowContext, FlowEnd, FlowRef, ProtocolSpec, StreamConsumer } from '../../collectors/types.js';
import { tshark } from '../support/tools.js';

export const PACKET_NAMES = ['RESERVED', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'];

/** What the consumer of one flow was handed, in order. */
export interface Recorded {
  ref: FlowRef;
  clientSide: 0 | 1;
  handshakeSeen: boolean;
  calls: ({ kind: 'data'; side: 0 | 1; bytes: Uint8Array; tsSec: number; tsNsec: number; frame: number } | { kind: 'gap'; side: 0 | 1; len: number; tsSec: number; tsNsec: number } | { kind: 'end'; reason: FlowEnd; tsSec: number; tsNsec: number })[];
}

/** A packet as mqtt-packet parsed it. */
export interface OraclePacket {
  cmd: string;
  topic: string | null;
  qos: number | null;
  messageId: number | null;
}

export interface CaptureRun {
  events: DecodeEvent[];
  flows: Recorded[];
  oracle: OraclePacket[];
  oracleErrors: string[];
}

/** Decode `file` with the MQTT spec, recording consumer input and mqtt-packet's parse of it. */
export async function runCapture(file: string, opts: Partial<MqttOptions> = {}): Promise<CaptureRun> {
  const spec = createMqttSpec(opts);
  const run: CaptureRun = { events: [], flows: [], oracle: [], oracleErrors: [] };
  const recording: ProtocolSpec = {
    proto: 'mqtt',
    probe: (i) => spec.probe(i),
    create: (ctx, emit) => {
      const rec: Recorded = { ref: { ...ctx.ref }, clientSide: ctx.clientSide, handshakeSeen: ctx.handshakeSeen, calls: [] };
      run.flows.push(rec);
      const inner = spec.create(ctx, emit);
      const parsers: ReturnType<typeof mqttPacket.parser>[] = [];
      const dead = [false, false];
      const aliases = [new Map<number, string>(), new Map<number, string>()];
      let version = 4;
      const fresh = (side: number): void => {
        const p = mqttPacket.parser({ protocolVersion: version });
        p.on('packet', (pk: mqttPacket.Packet) => {
          const any = pk as unknown as { topic?: string; qos?: number; messageId?: number; protocolVersion?: number; properties?: { topicAlias?: number } };
          // MQTT 5.0 topic aliases (§3.3.2.3.4) resolved per direction, as the decoder does.
          const alias = any.properties?.topicAlias;
          if (pk.cmd === 'publish' && alias !== undefined) {
            if (any.topic === '') any.topic = aliases[side].get(alias) ?? '';
            else aliases[side].set(alias, any.topic ?? '');
          }
          if (pk.cmd === 'connect' && any.protocolVersion) {
            version = any.protocolVersion;
            (parsers[side ^ 1] as unknown as { settings: { protocolVersion: number } }).settings.protocolVersion = version;
          }
          run.oracle.push({
            cmd: pk.cmd.toUpperCase(),
            topic: pk.cmd === 'publish' ? (any.topic ?? null) : null,
            qos: pk.cmd === 'publish' ? (any.qos ?? 0) : null,
            messageId: any.messageId ?? null,
          });
        });
        p.on('error', (e: Error) => {
          run.oracleErrors.push(e.message);
          dead[side] = true;
        });
        parsers[side] = p;
        dead[side] = false;
      };
      fresh(0);
      fresh(1);
      return {
        data(side, bytes, tsSec, tsNsec, frame) {
          rec.calls.push({ kind: 'data', side, bytes: bytes.slice(), tsSec, tsNsec, frame });
          if (!dead[side]) parsers[side].parse(Buffer.from(bytes));
          inner.data(side, bytes, tsSec, tsNsec, frame);
        },
        gap(side, len, tsSec, tsNsec) {
          rec.calls.push({ kind: 'gap', side, len, tsSec, tsNsec });
          // mqtt-packet restarts after the gap, at the next byte, as a fresh parser.
          fresh(side);
          inner.gap(side, len, tsSec, tsNsec);
        },
        end(reason, tsSec, tsNsec) {
          rec.calls.push({ kind: 'end', reason, tsSec, tsNsec });
          inner.end(reason, tsSec, tsNsec);
        },
      };
    },
  };
  await decodeCapture(file, (e) => run.events.push(e), { protocols: [recording] });
  return run;
}

/** A FlowContext for replaying a recorded flow outside the pipeline. */
export function replayContext(r: Recorded): FlowContext {
  let clientSide = r.clientSide;
  const swapped = (): FlowRef => ({ src: r.ref.dst, sport: r.ref.dport, dst: r.ref.src, dport: r.ref.sport });
  return {
    id: 1,
    ref: r.ref,
    communityId: '',
    get clientSide() {
      return clientSide;
    },
    handshakeSeen: r.handshakeSeen,
    setClientSide(s) {
      clientSide = s;
    },
    clientRef: () => (clientSide === 0 ? { ...r.ref } : swapped()),
  };
}

/**
 * Replay a recorded flow into a fresh consumer, cutting the data calls as `cut` says: it gets the
 * global byte index of each data call's first byte and its length and returns the cut positions
 * inside the call.
 */
export function replay(r: Recorded, opts: Partial<MqttOptions>, cut: (start: number, len: number) => number[]): DecodeEvent[] {
  const out: DecodeEvent[] = [];
  const c: StreamConsumer = new MqttConsumer(replayContext(r), (e) => out.push(e), resolveMqttOptions(opts));
  let g = 0;
  for (const call of r.calls) {
    if (call.kind === 'data') {
      let prev = 0;
      for (const k of cut(g, call.bytes.length)) {
        if (k <= prev || k >= call.bytes.length) continue;
        c.data(call.side, call.bytes.subarray(prev, k), call.tsSec, call.tsNsec, call.frame);
        prev = k;
      }
      c.data(call.side, call.bytes.subarray(prev), call.tsSec, call.tsNsec, call.frame);
      g += call.bytes.length;
    } else if (call.kind === 'gap') c.gap(call.side, call.len, call.tsSec, call.tsNsec);
    else c.end(call.reason, call.tsSec, call.tsNsec);
  }
  return out;
}

/** Total data bytes of a recorded flow. */
export function flowBytes(r: Recorded): number {
  let n = 0;
  for (const c of r.calls) if (c.kind === 'data') n += c.bytes.length;
  return n;
}

/** Count of MQTT messages per type as tshark decodes them (`-d tcp.port==P,mqtt` for other ports). */
export async function tsharkCounts(file: string, ports: number[] = []): Promise<Record<string, number>> {
  const args = ['-r', file];
  for (const p of ports) args.push('-d', `tcp.port==${p},mqtt`);
  args.push('-Y', 'mqtt', '-T', 'fields', '-e', 'mqtt.msgtype');
  const out = await tshark(args);
  const counts: Record<string, number> = {};
  for (const line of out.split('\n')) {
    for (const t of line.split(',')) {
      if (t === '') continue;
      const name = PACKET_NAMES[Number(t)] ?? `?${t}`;
      counts[name] = (counts[name] ?? 0) + 1;
    }
  }
  return counts;
}

/** Our packet counts per type; a reserved type 0 counts as RESERVED (its anomaly), as tshark shows it. */
export function ourCounts(events: DecodeEvent[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) {
    let k = e.type;
    if (e.type === 'ANOMALY') {
      if (e.code !== 'unassigned_msg_type') continue;
      k = e.packetType as string; // RESERVED (type 0), or AUTH outside MQTT 5.0
    } else if (e.type === 'MALFORMED') continue;
    counts[k] = (counts[k] ?? 0) + 1;
  }
  return counts;
}

/** Multiset key of a packet for the mqtt-packet comparison. */
export function packetKey(cmd: string, topic: unknown, qos: unknown, id: unknown): string {
  return `${cmd}|${topic ?? ''}|${qos ?? ''}|${id ?? ''}`;
}

export function ourKeys(events: DecodeEvent[]): string[] {
  return events
    .filter((e) => e.type !== 'ANOMALY' && e.type !== 'MALFORMED')
    .map((e) => packetKey(e.type, e.type === 'PUBLISH' ? e.topic : null, e.qos, e.packetId))
    .sort();
}

export function oracleKeys(o: OraclePacket[]): string[] {
  return o.map((p) => packetKey(p.cmd, p.topic, p.qos, p.messageId)).sort();
}

import { prng as rng } from '../support/prng.js';

export { rng };

/**
 * Split-anywhere check of one recorded flow: byte-at-a-time, and a single cut at every byte
 * boundary (or `sample` random boundaries for long flows). Returns the first mismatch or null.
 */
export function splitAnywhere(r: Recorded, opts: Partial<MqttOptions>, sample = 400): string | null {
  const ref = JSON.stringify(replay(r, opts, () => []));
  const one = JSON.stringify(replay(r, opts, (_s, len) => Array.from({ length: len }, (_, i) => i + 1)));
  if (one !== ref) return 'byte-at-a-time differs';
  const total = flowBytes(r);
  const rand = rng(total);
  const points = total <= sample ? Array.from({ length: total }, (_, i) => i) : Array.from({ length: sample }, () => Math.floor(rand() * total));
  for (const p of points) {
    const got = JSON.stringify(replay(r, opts, (start, len) => (p > start && p < start + len ? [p - start] : [])));
    if (got !== ref) return `cut at byte ${p} differs`;
  }
  return null;
}
