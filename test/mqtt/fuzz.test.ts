/**
 * Robustness: >= 100k mutated MQTT streams (seeded, reproducible) through the probe and the
 * consumer. Nothing may be thrown (the consumer would report a `decoder_error`), every event must be
 * plain JSON, and per-flow state must stay within its caps.
 */
import mqttPacket from 'mqtt-packet';
import sparkplugPayload from 'sparkplug-payload';
import { describe, expect, it } from 'vitest';
import { createMqttSpec, MqttConsumer, resolveMqttOptions } from '../../collectors/mqtt/index.js';
import type { DecodeEvent } from '../../collectors/types.js';
import { replayContext, rng, runCapture, type Recorded } from './helpers.js';
import { fuzzCount, fuzzSeed, fuzzTimeout } from '../support/fuzzenv.js';
import { CORPUS_DIR } from '../support/corpus.js';
import { join } from 'node:path';

const STREAMS = fuzzCount(100_000);
const SEED = fuzzSeed(20261127, 'MQTT_FUZZ_SEED');
const sp = sparkplugPayload.get('spBv1.0')!;

/** Client and server byte streams of hand-built connections covering every packet type of every version. */
function generatedSeeds(): [Buffer, Buffer][] {
  const seeds: [Buffer, Buffer][] = [];
  for (const v of [3, 4, 5]) {
    const g = (p: object): Buffer => mqttPacket.generate(p as mqttPacket.Packet, { protocolVersion: v });
    const props = v === 5;
    const c2s = Buffer.concat([
      g({ cmd: 'connect', protocolId: v === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: v, clientId: `f${v}`, clean: true, keepalive: 30, username: 'u', password: Buffer.from('p'), will: { topic: 'spBv1.0/G/NDEATH/e', payload: Buffer.from(sp.encodePayload({ metrics: [{ name: 'bdSeq', type: 'UInt64', value: 1 }] })), qos: 1, retain: false }, properties: props ? { topicAliasMaximum: 4, userProperties: { a: 'b' } } : undefined }),
      g({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/#', qos: 1 }, { topic: 'b/+', qos: 2 }], properties: props ? { subscriptionIdentifier: 5 } : undefined }),
      g({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('hello'), qos: 1, messageId: 2, retain: true, dup: false, properties: props ? { topicAlias: 1, contentType: 'x' } : undefined }),
      g({ cmd: 'publish', topic: 'spBv1.0/G/NBIRTH/e', payload: Buffer.from(sp.encodePayload({ seq: 0, metrics: [{ name: 'bdSeq', type: 'UInt64', value: 1 }, { name: 'm', alias: 1, type: 'Int32', value: 3 }] })), qos: 0, retain: false, dup: false }),
      g({ cmd: 'publish', topic: 'spBv1.0/G/NDATA/e', payload: Buffer.from(sp.encodePayload({ seq: 1, metrics: [{ alias: 1, type: 'Int32', value: 4 }] })), qos: 2, messageId: 3, retain: false, dup: false }),
      g({ cmd: 'pubrel', messageId: 3 }),
      g({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['a/#'] }),
      g({ cmd: 'pingreq' }),
      ...(props ? [g({ cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm' } })] : []),
      g({ cmd: 'disconnect' }),
    ]);
    const s2c = Buffer.concat([
      g({ cmd: 'connack', returnCode: 0, reasonCode: 0, sessionPresent: false, properties: props ? { topicAliasMaximum: 4 } : undefined }),
      g({ cmd: 'suback', messageId: 1, granted: [1, 2] }),
      g({ cmd: 'puback', messageId: 2 }),
      g({ cmd: 'pubrec', messageId: 3 }),
      g({ cmd: 'pubcomp', messageId: 3 }),
      g({ cmd: 'unsuback', messageId: 4, granted: props ? [0] : undefined }),
      g({ cmd: 'publish', topic: 'b/c', payload: Buffer.alloc(300, 1), qos: 1, messageId: 9, retain: false, dup: false }),
      g({ cmd: 'pingresp' }),
    ]);
    seeds.push([c2s, s2c]);
  }
  return seeds;
}

function corpusSeed(r: Recorded): [Buffer, Buffer] {
  const sides: Buffer[][] = [[], []];
  for (const c of r.calls) if (c.kind === 'data') sides[c.side].push(Buffer.from(c.bytes));
  const cs = r.clientSide;
  return [Buffer.concat(sides[cs]), Buffer.concat(sides[cs ^ 1])];
}

function mutate(b: Buffer, rand: () => number, other: Buffer): Buffer {
  let out = Buffer.from(b);
  const n = 1 + Math.floor(rand() * 6);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rand() * (out.length + 1));
    switch (Math.floor(rand() * 7)) {
      case 0: // bit flip
        if (out.length) out[at % out.length] ^= 1 << Math.floor(rand() * 8);
        break;
      case 1: // interesting byte
        if (out.length) out[at % out.length] = [0x00, 0x7f, 0x80, 0xff, 0x10, 0x30, 0x32, 0x36, 0x82][Math.floor(rand() * 9)];
        break;
      case 2: // insert random bytes
        out = Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * 256))), out.subarray(at)]);
        break;
      case 3: // delete a range
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + Math.floor(rand() * 16))]);
        break;
      case 4: // duplicate a range
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + 32), out.subarray(at)]);
        break;
      case 5: // truncate
        out = out.subarray(0, at);
        break;
      default: {
        // splice from another stream
        const o = Math.floor(rand() * Math.max(1, other.length));
        out = Buffer.concat([out.subarray(0, at), other.subarray(o, o + 1 + Math.floor(rand() * 64)), out.subarray(at)]);
      }
    }
  }
  return out;
}

describe('robustness on mutated streams', () => {
  it(`${STREAMS} mutated streams: nothing thrown, plain JSON, bounded state (seed ${SEED})`, async () => {
    const seeds = generatedSeeds();
    for (const f of ['mqtt5-pub-qos2__input.pcap', 'mqtt311-unsub-qos2__input.pcap', 'mqtt31-sub-userpass__input.pcap', 'mqtt5-sub-mosquittoprops__input.pcap']) {
      const run = await runCapture(join(CORPUS_DIR, 'suricata-verify', f));
      for (const r of run.flows) seeds.push(corpusSeed(r));
    }
    const template = (await runCapture(join(CORPUS_DIR, 'suricata-verify', 'mqtt311-pub-qos1__input.pcap'))).flows[0];
    const spec = createMqttSpec();
    const rand = rng(SEED);
    let events = 0;
    let decoderErrors = 0;
    let jsonChecked = 0;
    let maxPend = 0;
    let maxPending = 0;
    for (let i = 0; i < STREAMS; i++) {
      const [c, s] = seeds[i % seeds.length];
      const other = seeds[(i * 7 + 3) % seeds.length][0];
      const c2s = mutate(c, rand, other);
      const s2c = mutate(s, rand, other);
      const maxMessageSize = rand() < 0.5 ? 1 << 20 : 16 + Math.floor(rand() * 200);
      const opts = resolveMqttOptions({ maxMessageSize, maxResyncBytes: 64 + Math.floor(rand() * 1024), maxPendingRequests: 1 + Math.floor(rand() * 8), payloadPreviewBytes: Math.floor(rand() * 40) });
      const midstream = rand() < 0.3;
      spec.probe({ bytes: c2s.subarray(0, 4096), side: 0, srcPort: 1, dstPort: 1883, midstream });
      spec.probe({ bytes: s2c.subarray(0, 4096), side: 1, srcPort: 1883, dstPort: 1, midstream });
      const check = i % 20 === 0;
      const out: DecodeEvent[] = [];
      const cons = new MqttConsumer(replayContext({ ...template, handshakeSeen: !midstream, clientSide: 0 }), (e) => {
        events++;
        if (e.type === 'MALFORMED' && e.error === 'decoder_error') decoderErrors++;
        if (check) out.push(e);
      }, opts);
      let pc = 0;
      let ps = 0;
      let frame = 1;
      while (pc < c2s.length || ps < s2c.length) {
        const side: 0 | 1 = ps >= s2c.length || (pc < c2s.length && rand() < 0.5) ? 0 : 1;
        const buf = side === 0 ? c2s : s2c;
        const at = side === 0 ? pc : ps;
        const len = 1 + Math.floor(rand() * 200);
        if (rand() < 0.01) cons.gap(side, len, 1, 0);
        else cons.data(side, buf.subarray(at, at + len), 1 + (frame >> 4), 0, frame);
        frame++;
        if (side === 0) pc += len;
        else ps += len;
      }
      const internals = cons as unknown as { framer: { sides: { pend: Uint8Array }[] }; pairing: { pending: Map<number, unknown> } };
      const cap = Math.max(opts.maxMessageSize + 5, opts.maxResyncBytes);
      for (const sd of internals.framer.sides) maxPend = Math.max(maxPend, sd.pend.length / Math.max(128, cap));
      maxPending = Math.max(maxPending, internals.pairing.pending.size / opts.maxPendingRequests);
      cons.end('eof', 9, 0);
      if (check) {
        const text = JSON.stringify(out);
        expect(JSON.parse(text)).toEqual(out); // plain JSON: nothing lost or changed by serialisation
        jsonChecked++;
      }
    }
    expect(decoderErrors).toBe(0);
    expect(events).toBeGreaterThan(STREAMS);
    expect(jsonChecked).toBe(STREAMS / 20);
    // Buffers grow at most to twice their cap (doubling growth; 256 bytes at least), pending requests never pass theirs.
    expect(maxPend).toBeLessThanOrEqual(2);
    expect(maxPending).toBeLessThanOrEqual(1);
  }, fuzzTimeout(120_000));
});
