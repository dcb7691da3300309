/**
 * Robustness of the whole TCP path behind the flow table: protocol detection (the dispatcher and
 * every protocol's probe) and the MQTT, OPC UA and PubSub decoders, fed real conversations (the
 * sample plant capture's MQTT, Sparkplug and OPC UA flows) that are re-segmented at random and
 * mutated: bytes flipped, segments lost (gaps), duplicated (retransmissions) or swapped, the
 * handshake or the first bytes missing (a mid-stream pick-up), the ports changed (detection by
 * content only). Nothing may throw, no decoder may fail inside (its flow-boundary safety net turns
 * an exception into a MALFORMED decoder_error / INTERNAL event), every event must be plain JSON,
 * and the dispatch counts must add up to the flows seen.
 */
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../collectors/capture/reader.js';
import { PacketPipeline } from '../../collectors/pipeline.js';
import { defaultProtocols } from '../../collectors/protocols.js';
import type { ProtocolSpec, RawPacket, StreamConsumer } from '../../collectors/types.js';
import { fuzzCount, fuzzSeed, fuzzTimeout } from '../support/fuzzenv.js';
import { tcpFrame } from '../support/frames.js';
import { Prng } from './prng.js';
import { DEMO_CAPTURE } from '../analyzers/helpers.js';

const CASES = fuzzCount(3_000);
const SEED = fuzzSeed(20261127);

interface Conversation {
  sport: number;
  dport: number;
  /** What each side sent, in capture order (side 0 opened the connection). */
  parts: { side: 0 | 1; bytes: Uint8Array }[];
}

/** The sample's TCP conversations as reassembled, each side's bytes in order. */
async function conversations(): Promise<Conversation[]> {
  const out: Conversation[] = [];
  const spec: ProtocolSpec = {
    proto: 'collect',
    probe: () => 'match',
    create: (ctx) => {
      const c: Conversation = { sport: ctx.ref.sport, dport: ctx.ref.dport, parts: [] };
      out.push(c);
      const consumer: StreamConsumer = {
        data: (side, bytes) => {
          c.parts.push({ side, bytes: Uint8Array.from(bytes) });
        },
        gap: () => {},
        end: () => {},
      };
      return consumer;
    },
  };
  const p = new PacketPipeline(() => {}, { protocols: [spec] });
  await readCapture(DEMO_CAPTURE, p);
  p.finish();
  return out.filter((c) => c.parts.length > 0);
}

/** One side's bytes after mutation: a few flipped or replaced bytes, an insert or a cut. */
function mutate(b: Uint8Array, r: Prng): Uint8Array {
  let out = Uint8Array.from(b);
  for (let n = r.int(3); n > 0; n--) {
    const at = r.int(out.length + 1);
    switch (r.int(4)) {
      case 0:
        if (out.length) out[at % out.length] ^= 1 << r.int(8);
        break;
      case 1:
        if (out.length) out[at % out.length] = r.pick([0x00, 0x7f, 0x80, 0xff, 0x10, 0x30, 0x48]);
        break;
      case 2: {
        const ins = r.bytes(1 + r.int(16));
        const nb = new Uint8Array(out.length + ins.length);
        nb.set(out.subarray(0, at));
        nb.set(ins, at);
        nb.set(out.subarray(at), at + ins.length);
        out = nb;
        break;
      }
      default:
        out = out.subarray(0, at);
    }
  }
  return out;
}

/** The frames of one mutated, re-segmented conversation between two hosts. */
function frames(c: Conversation, k: number, r: Prng): Uint8Array[] {
  const hosts = [`10.${(k >> 8) & 255}.${k & 255}.1`, `10.${(k >> 8) & 255}.${k & 255}.2`];
  const ports = r.int(4) === 0 ? [1024 + r.int(60000), 1024 + r.int(60000)] : [c.sport, c.dport];
  const seq = [r.int(0x100000000) >>> 0, r.int(0x100000000) >>> 0];
  const out: Uint8Array[] = [];
  const send = (side: 0 | 1, flags: number, payload?: Uint8Array) => {
    const o = 1 - side;
    out.push(tcpFrame({ src: hosts[side], dst: hosts[o], sport: ports[side], dport: ports[o], seq: seq[side], ack: seq[o], flags, payload }));
    seq[side] = (seq[side] + (payload?.length ?? 0) + (flags & 0x03 ? 1 : 0)) >>> 0;
  };
  const handshake = r.int(3) !== 0;
  if (handshake) {
    send(0, 0x02);
    send(1, 0x12);
    send(0, 0x10);
  }
  let skip = handshake ? 0 : r.int(64); // mid-stream: the first bytes were never seen
  for (const part of c.parts) {
    let bytes = r.int(8) === 0 ? mutate(part.bytes, r) : part.bytes;
    if (skip > 0) {
      const cut = Math.min(skip, bytes.length);
      seq[part.side] = (seq[part.side] + cut) >>> 0;
      bytes = bytes.subarray(cut);
      skip -= cut;
    }
    for (let off = 0; off < bytes.length; ) {
      const len = Math.min(bytes.length - off, 1 + r.int(r.int(4) === 0 ? 8 : 1460));
      const seg = bytes.subarray(off, off + len);
      const roll = r.int(40);
      if (roll === 0) seq[part.side] = (seq[part.side] + len) >>> 0; // lost: a gap
      else {
        send(part.side, 0x18, seg);
        if (roll === 1) {
          seq[part.side] = (seq[part.side] - len) >>> 0; // retransmitted whole
          send(part.side, 0x18, seg);
        } else if (roll === 2 && out.length > 4) {
          const last = out.length - 1;
          [out[last], out[last - 1]] = [out[last - 1], out[last]]; // out of order
        }
      }
      off += len;
    }
  }
  if (r.int(2) === 0) send(r.int(2) as 0 | 1, r.int(3) === 0 ? 0x04 : 0x11);
  return out;
}

describe('pipeline fuzz: detection and decoders behind TCP reassembly', () => {
  it(
    `${CASES} mutated, re-segmented conversations: nothing throws, events are plain JSON, dispatch counts add up (seed ${SEED})`,
    async () => {
      const convs = await conversations();
      // The sample has MQTT (with Sparkplug) and OPC UA conversations to start from.
      expect(convs.length).toBeGreaterThan(3);
      const r = new Prng(SEED);
      let events = 0;
      const problems: string[] = [];
      const byProto: Record<string, number> = {};
      const BATCH = 500;
      for (let first = 0; first < CASES; first += BATCH) {
        const p = new PacketPipeline(
          (ev) => {
            events++;
            byProto[ev.proto] = (byProto[ev.proto] ?? 0) + 1;
            // Recorded, not thrown: the decoders catch what a callback throws (their safety net).
            const text = JSON.stringify(ev);
            if (typeof text !== 'string' || text.length > 1 << 20) problems.push(`batch ${first}: an event that is not bounded JSON (${ev.proto} ${ev.type})`);
            // The safety net itself: an exception inside a decoder, caught at the flow boundary.
            if (ev.type === 'MALFORMED' && (ev.error === 'decoder_error' || ev.error === 'INTERNAL')) problems.push(`batch ${first}: ${text.slice(0, 400)}`);
          },
          { protocols: defaultProtocols() },
        );
        let frame = 0;
        let t = 1_764_000_000 + first;
        for (let k = first; k < Math.min(CASES, first + BATCH); k++) {
          for (const data of frames(r.pick(convs), k, r)) {
            const pkt: RawPacket = { linkType: 1, tsSec: t, tsNsec: (frame % 1000) * 1000, data, origLen: data.length, ifIndex: 0, frame: ++frame };
            p.packet(pkt);
          }
          if (k % 50 === 0) t++;
        }
        const st = p.finish();
        const claimed = Object.values(st.protocols.claimed).reduce((a, b) => a + b, 0);
        expect(claimed + st.protocols.unknown).toBeLessThanOrEqual(st.flows.flowsCreated);
        expect(claimed).toBeGreaterThan(0);
      }
      expect(problems.slice(0, 5)).toEqual([]);
      // Most conversations are still recognised and decoded: the fuzz reaches the decoders.
      expect(byProto.mqtt ?? 0).toBeGreaterThan(0);
      expect(byProto.opcua ?? 0).toBeGreaterThan(0);
      expect(events).toBeGreaterThan(CASES);
    },
    fuzzTimeout(120_000),
  );
});
