/**
 * The `floor` pass of bench/mqttshare.ts is used as evidence (the least any MQTT decoder keeping
 * the decode contract adds to the foundation), so its framing must find the same control packets
 * as the real decoder: per flow and direction, the same sequence of packet types and packet ids,
 * and the same topics where the topic is on the wire (MQTT 3.x; 5.0 may send a Topic Alias
 * instead, which only the real decoder resolves). Checked on every MQTT capture of the corpus,
 * and the bundled samples (the bench capture: `floorEvents` in the bench output); and the floor
 * gives the same packets when the sample's streams are handed over one byte at a time.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { floorSpec } from '../../bench/mqttshare.js';
import { readCapture } from '../../collectors/capture/reader.js';
import { PACKET_NAMES } from '../../collectors/mqtt/codes.js';
import { createMqttSpec } from '../../collectors/mqtt/index.js';
import { PacketPipeline } from '../../collectors/pipeline.js';
import type { DecodeEvent, ProtocolSpec } from '../../collectors/types.js';
import { CORPUS_DIR } from '../support/corpus.js';
import { replayContext, runCapture, type Recorded } from './helpers.js';

const SAMPLES = join(fileURLToPath(import.meta.url), '../../../samples');
/** Packet event types (every name but type 0's). */
const PACKET_TYPES = new Set(PACKET_NAMES.slice(1));

/** Captures where the stream is not a sequence of well-framed packets (the real decoder reports and resynchronises; the floor does not). */
const BROKEN_FRAMING = new Set(['mqtt5-excessiveproplen__input.pcap', 'mqtt-events-unassigned-msgtype__input.pcap']);

const files = [
  ...['suricata-verify', 'zeek', 'nDPI'].flatMap((d) =>
    readdirSync(join(CORPUS_DIR, d))
      .filter((f) => f.includes('mqtt') && !BROKEN_FRAMING.has(f))
      .map((f) => join(CORPUS_DIR, d, f)),
  ),
  join(SAMPLES, 'plant-demo.pcap'),
  join(SAMPLES, 'corpus-mix.pcapng'),
];

/**
 * Per flow and sender (`a:port>b:port`, independent of which side each pass took for the client):
 * `type packetId topic` lines in stream order. Topics of the connections in
 * `v5` are written '-'; the real decoder's pass adds its 5.0 connections to `v5` (the floor does not
 * follow versions).
 */
async function packets(file: string, spec: (mqtt: ProtocolSpec) => Promise<ProtocolSpec>, v5: Set<string>): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const emit = (ev: DecodeEvent): void => {
    if (ev.proto !== 'mqtt' || !PACKET_TYPES.has(ev.type)) return;
    const f = ev.flow;
    const client = `${f.src}:${f.sport}`;
    const server = `${f.dst}:${f.dport}`;
    const conn = client < server ? `${client}-${server}` : `${server}-${client}`;
    if (ev.version === 5) v5.add(conn);
    const key = ev.dir === 'c2s' ? `${client}>${server}` : `${server}>${client}`;
    let list = out.get(key);
    if (list === undefined) out.set(key, (list = []));
    const topic = ev.type === 'PUBLISH' && !v5.has(conn) ? String(ev.topic) : '-';
    list.push(`${ev.type} ${String(ev.packetId)} ${topic}`);
  };
  const p = new PacketPipeline(emit, { protocols: [await spec(createMqttSpec())] });
  await readCapture(file, p);
  p.finish();
  return out;
}

const real = (mqtt: ProtocolSpec): Promise<ProtocolSpec> => Promise.resolve(mqtt);
const floor = (mqtt: ProtocolSpec): Promise<ProtocolSpec> => floorSpec(mqtt.probe);

describe('bench mqttshare floor: the same control packets as the decoder', () => {
  it.each(files.map((f) => [f.slice(f.lastIndexOf('/') + 1), f]))('%s', async (_name, file) => {
    const v5 = new Set<string>();
    // Twice through the decoder, so that a 5.0 connection's topics are '-' from its first packet.
    await packets(file, real, v5);
    const want = await packets(file, real, v5);
    const got = await packets(file, floor, v5);
    expect(got).toEqual(want);
    expect([...want.values()].reduce((n, l) => n + l.length, 0)).toBeGreaterThan(0);
  });
});

/** The floor's `type packetId topic` lines for a recorded flow, each data call cut into `step`-byte pieces. */
async function floorReplay(r: Recorded, step: number): Promise<string[]> {
  const out: string[] = [];
  const spec = await floorSpec(createMqttSpec().probe);
  const c = spec.create(replayContext(r), (ev) => out.push(`${ev.dir} ${ev.type} ${String(ev.packetId)} ${String(ev.topic)} ${String(ev.length)}`));
  for (const call of r.calls) {
    if (call.kind === 'data') {
      for (let k = 0; k < call.bytes.length; k += step) c.data(call.side, call.bytes.subarray(k, Math.min(call.bytes.length, k + step)), call.tsSec, call.tsNsec, call.frame);
    } else if (call.kind === 'gap') c.gap(call.side, call.len, call.tsSec, call.tsNsec);
    else c.end(call.reason, call.tsSec, call.tsNsec);
  }
  return out;
}

it('bench mqttshare floor: the same packets when the streams arrive a byte at a time', async () => {
  const run = await runCapture(join(SAMPLES, 'plant-demo.pcap'));
  let n = 0;
  for (const r of run.flows) {
    const whole = await floorReplay(r, 1 << 30);
    expect(await floorReplay(r, 1)).toEqual(whole);
    expect(await floorReplay(r, 7)).toEqual(whole);
    n += whole.length;
  }
  expect(n).toBe(run.events.filter((e) => PACKET_TYPES.has(e.type)).length);
});
