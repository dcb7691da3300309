/**
 * Fuzz cases for link/IP decoding, the flow table and TCP reassembly, shared by the CI test
 * (a fixed number of cases) and `npm run fuzz` (as many as time allows).
 */
import { PacketDecoder } from '../../collectors/net/decode.js';
import { FlowTable } from '../../collectors/net/flow.js';
import type { FlowEnd, RawPacket, StreamConsumer } from '../../collectors/types.js';
import { tcpFrame } from '../support/frames.js';
import { Prng } from './prng.js';

const LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147];

/** Random and mutated frames through decode + flow table: nothing may throw. */
export function fuzzFrames(seed: number, cases: number): { decoded: number } {
  const rng = new Prng(seed);
  const dec = new PacketDecoder({ maxDatagrams: 64, maxBufferedBytes: 1 << 20 });
  const sink: StreamConsumer = { data: () => {}, gap: () => {}, end: () => {} };
  const table = new FlowTable({ maxFlows: 256, maxPendingTotal: 1 << 20 }, () => sink, null);
  const seedFrame = tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1000, dport: 1883, seq: 1, flags: 0x18, payload: [0x10, 0x02, 0, 0] }, [[0x8100, 5]]);
  let decoded = 0;
  for (let i = 0; i < cases; i++) {
    let data: Uint8Array;
    let linkType = 1;
    if (rng.next() < 0.3) {
      data = rng.bytes(rng.int(120));
      linkType = rng.pick(LINKTYPES);
    } else {
      data = seedFrame.slice(0, rng.next() < 0.7 ? seedFrame.length : rng.int(seedFrame.length + 1));
      // Flip a few bytes, mostly in the headers where the decisions are made.
      const flips = 1 + rng.int(4);
      for (let k = 0; k < flips && data.length > 0; k++) data[rng.int(Math.min(data.length, 70))] = rng.int(256);
    }
    const pkt: RawPacket = { linkType, tsSec: i, tsNsec: 0, data, origLen: data.length, ifIndex: 0, frame: i + 1 };
    if (dec.decode(pkt)) {
      decoded++;
      table.packet(dec.info, pkt.tsSec, 0, data.length, pkt.frame);
    }
  }
  table.flushAll();
  return { decoded };
}

class Collect implements StreamConsumer {
  chunks: { off: number; bytes: Uint8Array | null; len: number }[][] = [[], []];
  pos = [0, 0];
  data(side: 0 | 1, bytes: Uint8Array): void {
    this.chunks[side].push({ off: this.pos[side], bytes: bytes.slice(), len: bytes.length });
    this.pos[side] += bytes.length;
  }
  gap(side: 0 | 1, length: number): void {
    this.chunks[side].push({ off: this.pos[side], bytes: null, len: length });
    this.pos[side] += length;
  }
  end(_r: FlowEnd): void {}
}

/**
 * A byte stream cut into segments that arrive shuffled, duplicated (with other contents, which
 * must lose: first copy wins) and partly dropped, with sequence numbers near the 2^32 wrap. The
 * delivered stream must be exactly the original where delivered, and holes exactly the gaps.
 * Returns a description of the first violation, or null.
 */
export function fuzzReassembly(seed: number): string | null {
  const rng = new Prng(seed);
  const len = 1 + rng.int(3000);
  const original = rng.bytes(len);
  const segs: [number, number][] = [];
  for (let off = 0; off < len; ) {
    const n = 1 + rng.int(Math.min(600, len - off));
    segs.push([off, n]);
    off += n;
  }
  const order = segs.map((s, i) => ({ s, k: i + (rng.next() < 0.2 ? rng.int(5) - 2 : 0) + rng.next() * 0.1 }));
  order.sort((a, b) => a.k - b.k);
  const isn = (0xffffffff - rng.int(2000)) >>> 0;
  const dec = new PacketDecoder();
  const col = new Collect();
  const maxPending = rng.next() < 0.3 ? 1 + rng.int(2000) : 256 * 1024;
  const table = new FlowTable({ maxPendingPerDirection: maxPending }, () => col, null);
  let frame = 0;
  const sent = new Uint8Array(len); // 1 where the first copy of a byte was the original
  const send = (off: number, bytes: Uint8Array, flags = 0x18) => {
    const data = tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 1883, seq: (isn + 1 + off) >>> 0, flags, payload: bytes });
    frame++;
    if (!dec.decode({ linkType: 1, tsSec: frame, tsNsec: 0, data, origLen: data.length, ifIndex: 0, frame })) throw new Error('frame did not decode');
    table.packet(dec.info, frame, 0, data.length, frame);
  };
  const synData = tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 1883, seq: isn, flags: 0x02 });
  dec.decode({ linkType: 1, tsSec: 0, tsNsec: 0, data: synData, origLen: synData.length, ifIndex: 0, frame: 0 });
  table.packet(dec.info, 0, 0, synData.length, 0);
  for (const { s } of order) {
    const [off, n] = s;
    if (rng.next() < 0.05) continue; // lost
    if (rng.next() < 0.1) {
      // A duplicate arriving first would carry the real bytes on a real network; here a later
      // duplicate with other bytes must never overwrite what was delivered or buffered first.
      send(off, original.subarray(off, off + n));
      send(off, rng.bytes(n));
    } else {
      send(off, original.subarray(off, off + n));
    }
    for (let i = off; i < off + n; i++) sent[i] = 1;
  }
  table.flushAll();
  // Check: every delivered byte equals the original; gaps cover only bytes never sent first.
  let pos = 0;
  for (const c of col.chunks[0]) {
    if (c.off !== pos) return `chunk at ${c.off}, expected ${pos}`;
    if (c.bytes) {
      for (let i = 0; i < c.len; i++) {
        if (c.bytes[i] !== original[c.off + i]) return `byte ${c.off + i} differs`;
      }
    }
    pos += c.len;
  }
  if (pos > len) return `delivered ${pos} bytes of ${len}`;
  // Everything up to the last byte that was sent must have been delivered or gapped.
  let lastSent = -1;
  for (let i = 0; i < len; i++) if (sent[i]) lastSent = i;
  if (pos < lastSent + 1) return `stream ends at ${pos}, but byte ${lastSent} was sent`;
  void maxPending;
  return null;
}
