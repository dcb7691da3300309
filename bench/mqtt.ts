/**
 * Micro-benchmark of the MQTT decoder: small QoS 0 PUBLISHes (16-byte topics from a set of 64,
 * 8-byte payloads, MQTT 3.1.1) through the MqttConsumer, fed as 1460-byte segments (messages
 * straddle segments) and as 64 KiB reassembled chunks, compared with mqtt-packet parsing the same
 * bytes in the same run. Run alone: `node dist/bench/mqtt.js` after `npm run build`.
 *
 * `node dist/bench/mqtt.js replay <capture> [passes]` measures the MQTT decoder alone on a real
 * capture: the capture goes once through the foundation (reader, flows, reassembly) with the
 * MQTT probe claiming flows as in `decode`, and every call the decoder would get (data, gap, end,
 * with copies of the bytes) is recorded; the recording is then replayed into fresh MqttConsumers
 * `passes` times (default 5), and the CPU seconds of each pass are printed. No foundation work is
 * in the replayed passes: this is the decoder's own cost per capture (events are counted, not
 * serialised), the figure to A/B decoder changes with on a loaded machine.
 */
import { pathToFileURL } from 'node:url';
import mqttPacket from 'mqtt-packet';
import sparkplugPayload from 'sparkplug-payload';
import { MqttConsumer, resolveMqttOptions } from '../collectors/mqtt/index.js';
import type { DecodeEvent, FlowContext, FlowEnd, FlowRef, ProtocolSpec, StreamConsumer } from '../collectors/types.js';

const MESSAGES = 200_000;

function stream(): Buffer {
  const parts: Buffer[] = [
    mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'bench', clean: true, keepalive: 60 } as mqttPacket.IConnectPacket),
  ];
  for (let i = 0; i < MESSAGES; i++) {
    parts.push(
      mqttPacket.generate({
        cmd: 'publish',
        topic: `plant/l${String(i % 64).padStart(2, '0')}/temp01`,
        payload: Buffer.from([1, 2, 3, 4, 5, 6, 7, i & 255]),
        qos: 0,
        retain: false,
        dup: false,
      } as mqttPacket.IPublishPacket),
    );
  }
  return Buffer.concat(parts);
}

function ctx(): FlowContext {
  const ref: FlowRef = { src: '10.0.0.1', sport: 50000, dst: '10.0.0.2', dport: 1883 };
  return { id: 1, ref, communityId: '', clientSide: 0, handshakeSeen: true, setClientSide: () => undefined, clientRef: () => ref };
}

/** CPU seconds of the last runOurs (the figure that holds on a loaded machine, where wall time does not). */
let lastCpuSecs = 0;

function runOurs(bytes: Buffer, seg: number): { msgs: number; secs: number } {
  let n = 0;
  const emit = (e: DecodeEvent): void => {
    if (e.type === 'PUBLISH') n++;
  };
  const c = new MqttConsumer(ctx(), emit, resolveMqttOptions({}));
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  for (let off = 0, frame = 1; off < bytes.length; off += seg, frame++) c.data(0, bytes.subarray(off, Math.min(bytes.length, off + seg)), 1_700_000_000, 0, frame);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  lastCpuSecs = (cpu.user + cpu.system) / 1e6;
  return { msgs: n, secs };
}

/** Messages per CPU second of the same runs (best of several rounds). */
function bestCpu(bytes: Buffer, seg: number, rounds: number): number {
  let rate = 0;
  for (let i = 0; i < rounds; i++) {
    const r = runOurs(bytes, seg);
    if (r.msgs !== MESSAGES) throw new Error(`decoded ${r.msgs} of ${MESSAGES} messages`);
    rate = Math.max(rate, r.msgs / lastCpuSecs);
  }
  return rate;
}

function runMqttPacket(bytes: Buffer, seg: number): { msgs: number; secs: number } {
  let n = 0;
  const p = mqttPacket.parser({ protocolVersion: 4 });
  p.on('packet', (pk) => {
    if (pk.cmd === 'publish') n++;
  });
  const t0 = process.hrtime.bigint();
  for (let off = 0; off < bytes.length; off += seg) p.parse(bytes.subarray(off, Math.min(bytes.length, off + seg)));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { msgs: n, secs };
}

function best(f: () => { msgs: number; secs: number }, rounds: number): number {
  let rate = 0;
  for (let i = 0; i < rounds; i++) {
    const r = f();
    if (r.msgs !== MESSAGES) throw new Error(`decoded ${r.msgs} of ${MESSAGES} messages`);
    rate = Math.max(rate, r.msgs / r.secs);
  }
  return rate;
}

const SPARKPLUG_MESSAGES = 20_000;

/** NBIRTH with 5 aliased metrics, then NDATA messages carrying them by alias. */
function sparkplugStream(): Buffer {
  const sp = sparkplugPayload.get('spBv1.0')!;
  const names = ['Pump/Speed', 'Pump/Temp', 'Valve/Open', 'Tank/Level', 'Motor/Current'];
  const pub = (topic: string, payload: Uint8Array): Buffer =>
    mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false } as mqttPacket.IPublishPacket);
  const parts: Buffer[] = [
    mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'edge', clean: true, keepalive: 60 } as mqttPacket.IConnectPacket),
    pub('spBv1.0/G/NBIRTH/E', sp.encodePayload({ seq: 0, timestamp: 1, metrics: names.map((name, i) => ({ name, alias: i + 1, type: 'Double', value: i })) as never })),
  ];
  for (let i = 0; i < SPARKPLUG_MESSAGES; i++) {
    parts.push(pub('spBv1.0/G/NDATA/E', sp.encodePayload({ seq: (i + 1) & 255, timestamp: 1_700_000_000_000 + i, metrics: names.map((_, k) => ({ alias: k + 1, type: 'Double', value: i + k / 10 })) as never })));
  }
  return Buffer.concat(parts);
}

function runSparkplug(bytes: Buffer): number {
  let n = 0;
  const c = new MqttConsumer(ctx(), (e) => {
    if (e.type === 'PUBLISH' && e.sparkplug) n++;
  }, resolveMqttOptions({}));
  const t0 = process.hrtime.bigint();
  for (let off = 0, frame = 1; off < bytes.length; off += 1460, frame++) c.data(0, bytes.subarray(off, Math.min(bytes.length, off + 1460)), 1_700_000_000, 0, frame);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (n !== SPARKPLUG_MESSAGES + 1) throw new Error(`decoded ${n} Sparkplug messages`);
  return n / secs;
}

/** Messages per second (best of several rounds, after warm-up) for the decoder and mqtt-packet. */
export async function benchMqtt(): Promise<Record<string, number | string>> {
  const bytes = stream();
  best(() => runOurs(bytes, 1460), 3); // warm-up
  const ours1460 = best(() => runOurs(bytes, 1460), 5);
  const ours64k = best(() => runOurs(bytes, 65536), 5);
  const oursCpu1460 = bestCpu(bytes, 1460, 5);
  best(() => runMqttPacket(bytes, 1460), 2);
  const oracle1460 = best(() => runMqttPacket(bytes, 1460), 3);
  const spBytes = sparkplugStream();
  runSparkplug(spBytes);
  const spRate = Math.max(runSparkplug(spBytes), runSparkplug(spBytes));
  return {
    'mqtt.messages': MESSAGES,
    'mqtt.bytesPerMessage': Math.round(bytes.length / MESSAGES),
    'mqtt.decoder.msgsPerSec.seg1460': Math.round(ours1460),
    'mqtt.decoder.msgsPerSec.chunk64k': Math.round(ours64k),
    'mqtt.decoder.msgsPerCpuSec.seg1460': Math.round(oursCpu1460),
    'mqtt.mqttPacket.msgsPerSec.seg1460': Math.round(oracle1460),
    'mqtt.ratioToMqttPacket': Number((ours1460 / oracle1460).toFixed(2)),
    'mqtt.sparkplug.ndataPerSec': Math.round(spRate),
    'mqtt.note': 'QoS 0 PUBLISH, 16-byte topics, 8-byte payloads, MQTT 3.1.1, events built and emitted',
  };
}

/** One recorded consumer call: data (bytes), gap (bytes null, length in `gap`) or end (side -1). */
interface Call {
  /** Index of the flow in the recording. */
  flow: number;
  side: 0 | 1 | -1;
  bytes: Uint8Array | null;
  gap: number;
  reason: FlowEnd | null;
  tsSec: number;
  tsNsec: number;
  frame: number;
}

/** A claimed flow as the decoder first saw it. */
interface RecordedFlow {
  ref: FlowRef;
  clientSide: 0 | 1;
  handshakeSeen: boolean;
}

/**
 * The MQTT flows of a capture, recorded through the real foundation and the real MQTT probe, with
 * every consumer call in capture order (flows interleaved as in the capture, so that per-second
 * caches such as the timestamp formatter's behave as in a real run).
 */
async function recordMqttFlows(file: string): Promise<{ flows: RecordedFlow[]; calls: Call[]; packets: number }> {
  const { readCapture } = await import('../collectors/capture/reader.js');
  const { PacketPipeline } = await import('../collectors/pipeline.js');
  const { createMqttSpec } = await import('../collectors/mqtt/index.js');
  const mqtt = createMqttSpec();
  const flows: RecordedFlow[] = [];
  const calls: Call[] = [];
  const recorder: ProtocolSpec = {
    proto: 'mqtt',
    probe: mqtt.probe,
    create: (ctx): StreamConsumer => {
      const flow = flows.push({ ref: ctx.ref, clientSide: ctx.clientSide, handshakeSeen: ctx.handshakeSeen }) - 1;
      return {
        data: (side, bytes, tsSec, tsNsec, frame) => void calls.push({ flow, side, bytes: Uint8Array.prototype.slice.call(bytes), gap: 0, reason: null, tsSec, tsNsec, frame }),
        gap: (side, length, tsSec, tsNsec) => void calls.push({ flow, side, bytes: null, gap: length, reason: null, tsSec, tsNsec, frame: 0 }),
        end: (reason, tsSec, tsNsec) => void calls.push({ flow, side: -1, bytes: null, gap: 0, reason, tsSec, tsNsec, frame: 0 }),
      };
    },
  };
  const p = new PacketPipeline(() => undefined, { protocols: [recorder] });
  await readCapture(file, p);
  return { flows, calls, packets: p.finish().packets };
}

/** A flow context like the flow table's (the client side can be corrected by the decoder). */
function replayCtx(f: RecordedFlow, id: number): FlowContext {
  const r = f.ref;
  const swapped: FlowRef = r.vlan ? { src: r.dst, sport: r.dport, dst: r.src, dport: r.sport, vlan: r.vlan } : { src: r.dst, sport: r.dport, dst: r.src, dport: r.sport };
  const ctx = {
    id,
    ref: r,
    communityId: '',
    clientSide: f.clientSide,
    handshakeSeen: f.handshakeSeen,
    setClientSide: (side: 0 | 1) => {
      ctx.clientSide = side;
    },
    clientRef: () => (ctx.clientSide === 0 ? r : swapped),
  };
  return ctx;
}

/** Replay the recorded calls, in capture order, into fresh decoders; returns the events made and the CPU seconds. */
function replay(flows: RecordedFlow[], calls: Call[]): { events: number; cpuSecs: number } {
  let events = 0;
  const emit = (): void => {
    events++;
  };
  const opts = resolveMqttOptions({});
  const cpu0 = process.cpuUsage();
  const consumers = flows.map((f, i) => new MqttConsumer(replayCtx(f, i), emit, opts));
  for (let i = 0; i < calls.length; i++) {
    const k = calls[i];
    const c = consumers[k.flow];
    if (k.side === -1) c.end(k.reason!, k.tsSec, k.tsNsec);
    else if (k.bytes !== null) c.data(k.side, k.bytes, k.tsSec, k.tsNsec, k.frame);
    else c.gap(k.side, k.gap, k.tsSec, k.tsNsec);
  }
  const cpu = process.cpuUsage(cpu0);
  return { events, cpuSecs: (cpu.user + cpu.system) / 1e6 };
}

/** The `replay` mode: the MQTT decoder's own CPU seconds on a capture's MQTT flows. */
export async function benchMqttReplay(file: string, passes = 5): Promise<Record<string, unknown>> {
  const { flows, calls, packets } = await recordMqttFlows(file);
  const cpuSecs: number[] = [];
  let events = 0;
  for (let i = 0; i < passes; i++) {
    const r = replay(flows, calls);
    if (i > 0 && r.events !== events) throw new Error(`pass ${i} made ${r.events} events, pass 0 ${events}`);
    events = r.events;
    cpuSecs.push(Number(r.cpuSecs.toFixed(3)));
  }
  const best = Math.min(...cpuSecs);
  return {
    capture: file,
    packets,
    mqttFlows: flows.length,
    events,
    cpuSecs,
    bestCpuSecs: best,
    eventsPerCpuSec: Math.round(events / best),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === 'replay') {
  if (!process.argv[3]) throw new Error('usage: mqtt.js replay <capture> [passes]');
  console.log(JSON.stringify(await benchMqttReplay(process.argv[3], process.argv[4] ? Number(process.argv[4]) : undefined)));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await benchMqtt();
  for (const [k, v] of Object.entries(r)) console.log(`${k}\t${v}`);
}
