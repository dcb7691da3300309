/**
 * Where the decode stage's time goes, per event type: `node dist/bench/decodecost.js <capture>`
 * runs the same work as `bench/child.js decode` (reader, flows, reassembly, MQTT / OPC UA / PubSub
 * decoders, events counted and not serialised) and times every decoder entry that handles one
 * message: MqttConsumer.message (one MQTT control packet, with its Sparkplug / PubSub payload,
 * pairing and records) and OpcuaFlow's per-chunk step (one UACP chunk with its service body).
 * Each call is classified before its clock starts (MQTT: packet type, version 5 or not, QoS and
 * Sparkplug message type for PUBLISH; OPC UA: message type, and the service of plaintext MSG
 * chunks) and timed with performance.now(); the timer's own cost, measured at start, is taken off
 * per call. What is not inside a timed call (reader, flows, reassembly, framing, GC that ran
 * there) is reported as `outsideUs`.
 *
 * The timing wrappers add ~0.1 µs per message, so the total CPU of this bench is above
 * `child.js decode`'s; the figures are for comparing event types and before/after builds.
 * Prints one JSON object: rows sorted by total time, with count, µs per call and share.
 */
import { performance } from 'node:perf_hooks';
import { readCapture } from '../collectors/capture/reader.js';
import { PacketPipeline } from '../collectors/pipeline.js';
import { defaultProtocols } from '../collectors/protocols.js';
import { MqttConsumer } from '../collectors/mqtt/consumer.js';
import { OpcuaFlow } from '../collectors/opcua/flow.js';
import { serviceById } from '../collectors/opcua/services.js';
import { boundHeapGrowth } from '../cli/heap.js';

const MQTT_TYPES = ['reserved', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'AUTH'];

interface Row {
  n: number;
  ms: number;
}
const rows = new Map<string, Row>();
function add(key: string, ms: number): void {
  let r = rows.get(key);
  if (r === undefined) rows.set(key, (r = { n: 0, ms: 0 }));
  r.n++;
  r.ms += ms;
}

/** The Sparkplug message type of a topic (`spBv1.0/group/NDATA/...`), read from the raw bytes. */
function sparkplugType(b: Uint8Array, s: number, e: number): string | null {
  const prefix = 'spBv1.0/';
  if (e - s < prefix.length) return null;
  for (let i = 0; i < prefix.length; i++) if (b[s + i] !== prefix.charCodeAt(i)) return null;
  let p = s + prefix.length;
  while (p < e && b[p] !== 0x2f) p++;
  const q = ++p;
  while (p < e && b[p] !== 0x2f) p++;
  return Buffer.from(b.buffer, b.byteOffset + q, p - q).toString('latin1');
}

function mqttKey(c: { version: number }, b: Uint8Array, at: number, hl: number, total: number): string {
  const type = b[at] >> 4;
  const v = c.version === 5 ? ' v5' : '';
  if (type !== 3) return `mqtt ${MQTT_TYPES[type]}${v}`;
  const qos = (b[at] >> 1) & 3;
  const s = at + hl;
  if (s + 2 > at + total) return `mqtt PUBLISH short${v}`;
  const tl = (b[s] << 8) | b[s + 1];
  const sp = sparkplugType(b, s + 2, Math.min(s + 2 + tl, at + total));
  return sp === null ? `mqtt PUBLISH plain q${qos}${v}` : `mqtt PUBLISH spB ${sp} q${qos}${v}`;
}

function opcuaKey(b: Uint8Array, off: number, type: string, size: number): string {
  if (type !== 'MSG' || size < 28) return `opcua ${type}`;
  // Plaintext MSG: sequence header, then the type id (four-byte or numeric NodeId encoding).
  const p = off + 24;
  let id = -1;
  if (b[p] === 1) id = b[p + 2] | (b[p + 3] << 8);
  else if (b[p] === 2) id = b[p + 3] | (b[p + 4] << 8) | (b[p + 5] << 16) | (b[p + 6] << 24);
  const info = id >= 0 ? serviceById(id) : undefined;
  return `opcua MSG ${info?.name ?? 'other'}`;
}

/** The cost of one performance.now() pair, in ms, so it can be taken off each timed call. */
function timerCost(): number {
  let sink = 0;
  const n = 2_000_000;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const a = performance.now();
    sink += performance.now() - a;
  }
  const per = (performance.now() - t0) / n;
  return sink >= 0 ? per / 2 : per;
}

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error('usage: decodecost.js <capture>');
  const overheadMs = timerCost();
  type MqttMessage = (this: MqttConsumer, side: 0 | 1, b: Uint8Array, at: number, hl: number, total: number, base: number) => void;
  const mqttProto = MqttConsumer.prototype as unknown as { message: MqttMessage };
  const mqttMessage = mqttProto.message;
  mqttProto.message = function (this: MqttConsumer, side, b, at, hl, total, base) {
    const key = mqttKey(this, b, at, hl, total);
    const t0 = performance.now();
    mqttMessage.call(this, side, b, at, hl, total, base);
    add(key, performance.now() - t0);
  };
  type OpcuaChunk = (this: OpcuaFlow, side: 0 | 1, b: Uint8Array, off: number, type: string, chunk: string, size: number) => void;
  const opcuaProto = OpcuaFlow.prototype as unknown as { chunk: OpcuaChunk };
  const opcuaChunk = opcuaProto.chunk;
  opcuaProto.chunk = function (this: OpcuaFlow, side, b, off, type, chunk, size) {
    const key = opcuaKey(b, off, type, size);
    const t0 = performance.now();
    opcuaChunk.call(this, side, b, off, type, chunk, size);
    add(key, performance.now() - t0);
  };
  boundHeapGrowth();
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  let events = 0;
  const p = new PacketPipeline(() => {
    events++;
  }, { protocols: defaultProtocols() });
  await readCapture(file, p);
  const st = p.finish();
  const wallMs = performance.now() - w0;
  const cpu = process.cpuUsage(cpu0);
  let timedMs = 0;
  const out: { key: string; n: number; usPer: number; totalMs: number; pct: number }[] = [];
  for (const [key, r] of rows) {
    const ms = Math.max(0, r.ms - r.n * overheadMs);
    timedMs += ms;
    out.push({ key, n: r.n, usPer: 0, totalMs: ms, pct: 0 });
  }
  for (const r of out) {
    r.usPer = Number(((r.totalMs * 1000) / r.n).toFixed(3));
    r.pct = Number(((r.totalMs / wallMs) * 100).toFixed(1));
    r.totalMs = Math.round(r.totalMs);
  }
  out.sort((a, b) => b.totalMs - a.totalMs);
  process.stdout.write(
    JSON.stringify({
      capture: file,
      packets: st.packets,
      events,
      wallMs: Math.round(wallMs),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      timerOverheadUs: Number((overheadMs * 1000).toFixed(3)),
      timedMs: Math.round(timedMs),
      outsideMs: Math.round(wallMs - timedMs),
      rows: out,
    }) + '\n',
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
