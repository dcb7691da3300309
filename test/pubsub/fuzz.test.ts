/**
 * Robustness of the PubSub decoders: seeded mutations (bit flips, interesting bytes, inserts,
 * deletes, duplicated ranges, truncation, 0xff length fields) of valid UADP and JSON messages,
 * decoded as datagrams, as MQTT payloads on PubSub topics and by content. Nothing may throw, every
 * result must be plain JSON of bounded size, and the decoder state must stay within its caps.
 * The UDP path is also run through the whole pipeline with mutated datagrams in a synthetic capture.
 */
import { describe, expect, it } from 'vitest';
import { decodeCapture } from '../../collectors/pipeline.js';
import { DEFAULT_PUBSUB_CAPS, PubsubDecoder, createPubsubSpec } from '../../collectors/pubsub/index.js';
import type { DecodeEvent } from '../../collectors/types.js';
import { prng } from '../support/prng.js';
import { writePcap } from './pcap.js';
import { chunkMessage, dataSetMessage, dataSetMetaData, dataValue, metaDataResponse, networkMessage, raw, variant } from './uadp-writer.js';
import { fuzzCount, fuzzSeed, fuzzTimeout } from '../support/fuzzenv.js';

const ROUNDS = fuzzCount(60_000, 'PUBSUB_FUZZ_ROUNDS');
const SEED = fuzzSeed(20261127, 'PUBSUB_FUZZ_SEED');

function seeds(): Buffer[] {
  const md = dataSetMetaData('S', [{ name: 'a', builtInType: 11 }, { name: 'b', builtInType: 12 }, { name: 'c', builtInType: 6, valueRank: 1 }], 1, 2);
  const whole = dataSetMessage({ writerId: 2, seq: 1, fields: [variant.string('x'.repeat(40))] });
  return [
    networkMessage({ publisherId: { type: 1, value: 5 }, writerGroupId: 1, groupVersion: 2, networkMessageNumber: 3, sequenceNumber: 4, timestampMs: 1e12, messages: [{ writerId: 1, seq: 1, major: 1, minor: 2, fields: [variant.int32(1), variant.double(2), variant.string('s'), variant.int32Array([1, 2])] }] }),
    networkMessage({ publisherId: { type: 4, value: 'pub' }, security: { flags: 0x05, tokenId: 1, nonce: Buffer.alloc(8, 1), footerSize: 4 }, messages: [{ writerId: 1, encoding: 2, type: 1, delta: [[2, dataValue(variant.double(1), 0, 1e12)]] }, { writerId: 2, type: 3, seq: 9 }, { writerId: 3, type: 2, fields: [variant.bool(true)] }] }),
    networkMessage({ publisherId: { type: 3, value: 1n << 40n }, messages: [{ writerId: 7, encoding: 1, seq: 3, fields: [raw.double(1), raw.string('q'), raw.int32(2), raw.int32(1)] }] }),
    metaDataResponse(5, 7, md),
    chunkMessage(5, 2, 1, 0, whole.length, whole.subarray(0, 20)),
    chunkMessage(5, 2, 1, 20, whole.length, whole.subarray(20)),
    Buffer.from([0x91, 0x81, 0x04, 0x09, 0x00, 0x01, 0x02, 0x02, 0x00, 0x00, 0x00, 0x05, 0x00, 0x06, 0x00]),
    Buffer.from(JSON.stringify({ MessageId: '1', MessageType: 'ua-data', PublisherId: 'P', Messages: [{ DataSetWriterId: 1, SequenceNumber: 2, MetaDataVersion: { MajorVersion: 1, MinorVersion: 0 }, Payload: { a: { Type: 11, Body: 1 }, b: { Value: { UaType: 6, Value: 2 }, Status: 0 }, c: [1, 2, { d: 'e' }] } }] })),
    Buffer.from(JSON.stringify({ MessageId: '2', MessageType: 'ua-metadata', PublisherId: 'P', DataSetWriterId: 1, MetaData: { Name: 'n', Fields: [{ Name: 'a', BuiltInType: 11 }], ConfigurationVersion: { MajorVersion: 1, MinorVersion: 0 } } })),
  ];
}

function mutate(b: Buffer, rand: () => number): Buffer {
  let out = Buffer.from(b);
  const n = 1 + Math.floor(rand() * 5);
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rand() * (out.length + 1));
    switch (Math.floor(rand() * 7)) {
      case 0:
        if (out.length) out[at % out.length] ^= 1 << Math.floor(rand() * 8);
        break;
      case 1:
        if (out.length) out[at % out.length] = [0x00, 0x7f, 0x80, 0xff, 0x01, 0x11, 0x91, 0xf1, 0x7b][Math.floor(rand() * 9)];
        break;
      case 2:
        out = Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * 256))), out.subarray(at)]);
        break;
      case 3:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + Math.floor(rand() * 16))]);
        break;
      case 4:
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + 32), out.subarray(at)]);
        break;
      case 5:
        out = out.subarray(0, at);
        break;
      default: // a length or count field set to its maximum
        if (out.length > at + 4) out.fill(0xff, at, at + 4);
        break;
    }
  }
  return out;
}

describe('PubSub decoders under mutation', () => {
  it(`${ROUNDS} mutated messages: no throw, plain JSON, bounded output and state`, () => {
    const rand = prng(SEED);
    const base = seeds();
    const caps = { ...DEFAULT_PUBSUB_CAPS, maxWriters: 16, maxChunkMessages: 4 };
    const d = new PubsubDecoder(caps);
    const errors = new Map<string, number>();
    let largest = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const m = mutate(base[Math.floor(rand() * base.length)], rand);
      const topic = ['opcua/uadp/data/1', 'opcua/json/data/P', 'plant/any'][i % 3];
      const outs = [d.uadp(m), d.mqtt(topic, m)];
      for (const o of outs) {
        if (o === null) continue;
        const s = JSON.stringify(o);
        expect(JSON.stringify(JSON.parse(s))).toBe(s); // plain JSON: no BigInt, no undefined, no cycles
        largest = Math.max(largest, s.length);
        if (o.error) errors.set(o.error, (errors.get(o.error) ?? 0) + 1);
      }
    }
    expect(d.ctx.state.size).toBeLessThanOrEqual(16);
    // Caps: at most maxMessages × maxFields fields, strings and arrays capped, so one result stays small.
    expect(largest).toBeLessThan(256 * 1024);
    // The mutations reached the decoders' checks, not just the first byte.
    for (const code of ['uadp_version', 'uadp_truncated', 'uadp_reserved_type', 'uadp_field_encoding', 'json_syntax', 'json_shape']) expect(errors.get(code) ?? 0, code).toBeGreaterThan(0);
  }, fuzzTimeout(120_000));

  it('mutated datagrams through the whole pipeline (UDP 4840 and multicast): events or MALFORMED, in order, never a throw', async () => {
    const rand = prng(SEED + 1);
    const base = seeds().slice(0, 7);
    const datagrams: { dst: string; payload: Buffer }[] = [];
    for (let i = 0; i < 3000; i++) {
      const clean = i % 4 === 0;
      const b = base[i % base.length];
      datagrams.push({ dst: i % 2 ? '224.0.2.14' : '127.0.0.1', payload: clean ? b : mutate(b, rand) });
    }
    const file = writePcap(datagrams.map((g, i) => ({ src: '127.0.0.1', sport: 40000, dst: g.dst, dport: 4840, payload: g.payload, tsSec: 1_800_000_000 + i })));
    const events: DecodeEvent[] = [];
    const apps: (string | null)[] = [];
    const res = await decodeCapture(file.path, (e) => events.push(e), { protocols: [createPubsubSpec()], onFlow: (r) => apps.push(r.app) });
    file.cleanup();
    expect(res.protocols.claimed['opcua-pubsub']).toBe(2);
    expect(apps).toEqual(['opcua-pubsub', 'opcua-pubsub']); // flow records name the protocol
    // Every datagram gives one event (an empty payload gives none).
    expect(events).toHaveLength(datagrams.filter((g) => g.payload.length > 0).length);
    expect(events.filter((e) => e.type === 'MALFORMED').length).toBeGreaterThan(0);
    // The 750 unmutated datagrams all decode (and some mutated ones still do).
    expect(events.filter((e) => e.type !== 'MALFORMED').length).toBeGreaterThanOrEqual(750);
    expect(events.filter((e) => e.type === 'ua-data').length).toBeGreaterThan(300);
  });
});
