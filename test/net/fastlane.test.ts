/**
 * The Ethernet/IPv4/TCP fast path (net/fastpath.ts) and the flow table's fast lane
 * (FlowTable.fastTcp, net/flowhot.ts) change nothing but speed: the same pipeline with
 * `fastPath: false` (every packet the general way) gives the same deliveries, gaps, ends, events,
 * flow records and statistics, on every corpus capture and on generated traffic built to cross
 * every edge of fast mode (reordering, loss, retransmission, FIN/RST, port reuse, idle expiry,
 * eviction, VLAN tags, sequence wrap, timestamps past 2^31). And the fused decoder fills exactly
 * what the general decoder fills, or declines.
 */
import { createHash } from 'node:crypto';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCapture } from '../../collectors/capture/reader.js';
import { PacketDecoder, type PacketInfo } from '../../collectors/net/decode.js';
import { decodeEthernetTcp4 } from '../../collectors/net/fastpath.js';
import type { FlowOptions } from '../../collectors/net/flow.js';
import { PacketPipeline } from '../../collectors/pipeline.js';
import { defaultProtocols } from '../../collectors/protocols.js';
import type { FlowEnd, ProtocolSpec, RawPacket, StreamConsumer } from '../../collectors/types.js';
import { copyPacket } from '../capture/helpers.js';
import { Prng } from '../fuzz/prng.js';
import { corpusFiles } from '../support/corpus.js';
import { ethernet, ipv4Packet, tcpFrame, tcpSegment } from '../support/frames.js';

const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

/** Everything a run produces, as lines; `counter.fastHits`: packets the fast lane took. */
function run(fastPath: boolean, flow: Partial<FlowOptions> = {}, decoders = false, zeroCopy = true) {
  const lines: string[] = [];
  const log: ProtocolSpec = {
    proto: 'log',
    probe: () => 'match',
    create: (ctx) => {
      const c: StreamConsumer = {
        data: (side, bytes, tsSec, tsNsec, frame) => {
          lines.push(`${ctx.id} data ${side} ${bytes.length} ${createHash('sha1').update(bytes).digest('hex')} ${tsSec}.${tsNsec} #${frame}`);
        },
        gap: (side, length, tsSec, tsNsec) => lines.push(`${ctx.id} gap ${side} ${length} ${tsSec}.${tsNsec}`),
        end: (reason: FlowEnd, tsSec, tsNsec) => lines.push(`${ctx.id} end ${reason} ${tsSec}.${tsNsec}`),
      };
      if (zeroCopy) c.dataAt = (side, buf, off, len, tsSec, tsNsec, frame) => c.data(side, buf.subarray(off, off + len), tsSec, tsNsec, frame);
      return c;
    },
  };
  const pipeline = new PacketPipeline((ev) => lines.push(JSON.stringify(ev)), {
    protocols: decoders ? defaultProtocols() : [log],
    onFlow: (r) => lines.push(JSON.stringify(r)),
    flow,
    fastPath,
  });
  const counter = {
    get fastHits(): number {
      return pipeline.flows.fastLanePackets;
    },
  };
  const finish = () => {
    lines.push(JSON.stringify(pipeline.finish()));
    return lines;
  };
  return { pipeline, lines, counter, finish };
}

describe('fast path = general path on the corpus', () => {
  const files = [...corpusFiles(), resolve(fileURLToPath(import.meta.url), '../../../samples/plant-demo.pcap')];
  it('the corpus is there', () => expect(files.length).toBeGreaterThan(20));
  let hits = 0;
  for (const file of files) {
    it(basename(file), async () => {
      const slow = run(false);
      await readCapture(file, slow.pipeline);
      const fast = run(true);
      await readCapture(file, fast.pipeline);
      expect(slow.counter.fastHits).toBe(0);
      expect(fast.finish()).toEqual(slow.finish());
      hits += fast.counter.fastHits;
      // And through the protocol decoders, packet by packet as the live sensor feeds them.
      const pkts: RawPacket[] = [];
      await readCapture(file, (p) => pkts.push(copyPacket(p)));
      const ds = run(false, {}, true);
      const df = run(true, {}, true);
      for (const p of pkts) ds.pipeline.packet(p);
      for (const p of pkts) df.pipeline.packet(p);
      expect(df.finish()).toEqual(ds.finish());
    });
  }
  it('the fast lane was taken', () => expect(hits).toBeGreaterThan(300));
});

/** Generated connections: each a client and a server exchanging messages, with network trouble. */
function traffic(seed: number): RawPacket[] {
  const rng = new Prng(seed);
  const out: RawPacket[] = [];
  let t = rng.next() < 0.3 ? 0x7fffffff - rng.int(20) : 1_700_000_000; // some runs cross 2^31 seconds
  let ns = 0;
  const nConn = 1 + rng.int(12);
  interface Side { seq: number; sent: number }
  const conns = Array.from({ length: nConn }, (_, i) => ({
    a: `10.0.${i % 3}.${1 + rng.int(3)}`,
    b: `10.1.0.${1 + rng.int(2)}`,
    pa: 40000 + rng.int(4), // few ports: tuples repeat, so port reuse happens
    pb: rng.pick([1883, 4840, 502]),
    vlans: rng.next() < 0.3 ? ([[0x8100, rng.int(4)]] as [number, number][]) : rng.next() < 0.1 ? ([[0x88a8, 7], [0x8100, 9]] as [number, number][]) : [],
    s: [{ seq: (0xffffffff - rng.int(3000)) >>> 0, sent: 0 }, { seq: rng.int(2 ** 32) >>> 0, sent: 0 }] as Side[],
    handshake: rng.next() < 0.5,
    stage: 0,
  }));
  const emit = (c: (typeof conns)[number], from: 0 | 1, flags: number, seq: number, payload: number[]) => {
    const o = c.s[1 - from];
    const spec = from === 0
      ? { src: c.a, dst: c.b, sport: c.pa, dport: c.pb }
      : { src: c.b, dst: c.a, sport: c.pb, dport: c.pa };
    const data = tcpFrame({ ...spec, seq: seq >>> 0, ack: (o.seq + o.sent) >>> 0, flags, payload }, c.vlans);
    // Time moves in small steps, now and then past the idle timeout.
    const step = rng.next() < 0.02 ? 3 + rng.int(4) : rng.next() < 0.2 ? 1 : 0;
    t += step;
    ns = step > 0 ? rng.int(1e9) : Math.min(999_999_999, ns + rng.int(1000));
    out.push({ linkType: 1, tsSec: t, tsNsec: ns, data, origLen: data.length, ifIndex: 0, frame: out.length + 1 });
  };
  const steps = 50 + rng.int(400);
  const held: (() => void)[] = [];
  for (let i = 0; i < steps; i++) {
    const c = rng.pick(conns);
    if (c.handshake && c.stage === 0) {
      emit(c, 0, SYN, c.s[0].seq, []);
      c.s[0].seq = (c.s[0].seq + 1) >>> 0;
      emit(c, 1, SYN | ACK, c.s[1].seq, []);
      c.s[1].seq = (c.s[1].seq + 1) >>> 0;
      c.stage = 1;
      continue;
    }
    c.stage = 1;
    const from = rng.int(2) as 0 | 1;
    const side = c.s[from];
    const r = rng.next();
    if (r < 0.02) {
      emit(c, from, rng.next() < 0.5 ? FIN | ACK : RST | ACK, side.seq + side.sent, []);
      c.stage = 0; // a new connection on the same tuple may follow
      c.s[0].sent = c.s[1].sent = 0;
      continue;
    }
    if (r < 0.15) {
      emit(c, from, ACK, side.seq + side.sent, []); // a pure ack
      continue;
    }
    const n = 1 + rng.int(300);
    const payload = Array.from(rng.bytes(n));
    const seq = side.seq + side.sent;
    side.sent += n;
    const fate = rng.next();
    if (fate < 0.03) continue; // lost
    if (fate < 0.08) {
      held.push(() => emit(c, from, PSH | ACK, seq, payload)); // arrives later: out of order
      continue;
    }
    emit(c, from, rng.next() < 0.05 ? PSH : PSH | ACK, seq, payload); // an ack-less segment now and then
    if (fate < 0.12) emit(c, from, PSH | ACK, seq, payload.map((x) => x ^ 0xff)); // retransmission, other bytes: first copy wins
    if (held.length > 0 && rng.next() < 0.3) held.splice(rng.int(held.length), 1)[0]();
  }
  for (const h of held) h();
  return out;
}

describe('fast path = general path on generated traffic', () => {
  it('300 seeds, with tight caps and timeouts', () => {
    let hits = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const pkts = traffic(seed);
      const opts: Partial<FlowOptions> =
        seed % 3 === 0 ? { maxFlows: 3, idleTimeoutSec: 4, closedTimeoutSec: 2, maxPendingPerDirection: 500 } : seed % 3 === 1 ? { idleTimeoutSec: 5 } : {};
      const slow = run(false, opts, false, seed % 2 === 0);
      const fast = run(true, opts, false, seed % 2 === 0);
      for (const p of pkts) slow.pipeline.packet(p);
      for (const p of pkts) fast.pipeline.packet(p);
      const a = fast.finish();
      const b = slow.finish();
      if (JSON.stringify(a) !== JSON.stringify(b)) expect({ seed, lines: a }).toEqual({ seed, lines: b });
      hits += fast.counter.fastHits;
    }
    expect(hits).toBeGreaterThan(10_000);
  });
});

/** The fields of PacketInfo the flow table reads (vlan ids only as far as vlanCount says). */
function facts(i: PacketInfo): unknown[] {
  return [i.buf, i.frame, i.macOff, i.ipVersion, i.srcOff, i.dstOff, i.src4i, i.dst4i, i.proto, i.vlanCount, i.vlanCount > 0 ? i.vlan0 : -1,
    i.vlanCount > 1 ? i.vlan1 : -1, i.sport, i.dport, i.seqI, i.ackI, i.tcpFlags, i.payloadOff, i.payloadLen];
}

/** Decode `frame` (inside a larger buffer, as the reader hands it) both ways. */
function both(frame: Uint8Array): { fast: boolean; general: boolean; same: boolean } {
  const buf = new Uint8Array(frame.length + 11);
  buf.set(frame, 7);
  const dec = new PacketDecoder();
  const general = dec.decodeFrame(buf, 7, frame.length, 1, 0);
  const g = facts(dec.info);
  const info = new PacketDecoder().info;
  const fast = decodeEthernetTcp4(info, buf, 7, frame.length);
  return { fast, general, same: !fast || (general && JSON.stringify(facts(info).slice(2)) === JSON.stringify(g.slice(2)) && info.buf === buf && info.frame === buf) };
}

describe('decodeEthernetTcp4', () => {
  const spec = { src: '192.168.1.10', dst: '192.168.1.20', sport: 50123, dport: 4840, seq: 0xfffffff0, ack: 0x80000001, flags: PSH | ACK, payload: [1, 2, 3, 4, 5] };
  const seg = tcpSegment(spec);
  const ip = ipv4Packet(spec.src, spec.dst, 6, seg);
  const cases: [string, Uint8Array, boolean][] = [
    ['plain', tcpFrame(spec), true],
    ['one 802.1Q tag', tcpFrame(spec, [[0x8100, 42]]), true],
    ['QinQ (general path)', tcpFrame(spec, [[0x88a8, 1], [0x8100, 2]]), false],
    ['two 802.1Q tags (general path)', tcpFrame(spec, [[0x8100, 1], [0x8100, 2]]), false],
    ['IPv4 options (general path)', Uint8Array.from(ethernet(0x0800, [0x46, ...ip.slice(1, 20), 1, 1, 1, 0, ...seg].map((b, i) => (i === 3 ? b + 4 : b)))), false],
    ['more fragments (general path)', Uint8Array.from(ethernet(0x0800, ipv4Packet(spec.src, spec.dst, 6, seg, { frag: [0, true] }))), false],
    ['fragment offset (general path)', Uint8Array.from(ethernet(0x0800, ipv4Packet(spec.src, spec.dst, 6, seg, { frag: [8, false] }))), false],
    ['DF set', Uint8Array.from(ethernet(0x0800, ip.map((b, i) => (i === 6 ? 0x40 : b)))), true],
    ['UDP (general path)', Uint8Array.from(ethernet(0x0800, ipv4Packet(spec.src, spec.dst, 17, [0, 1, 0, 2, 0, 9, 0, 0, 7]))), false],
    ['Ethernet padding after the datagram', Uint8Array.from([...tcpFrame(spec), 0, 0, 0, 0, 0, 0]), true],
    ['cut by the snaplen inside the payload', tcpFrame(spec).slice(0, 14 + 20 + 20 + 2), true],
    ['cut inside the TCP header', tcpFrame(spec).slice(0, 14 + 20 + 12), false],
    ['TCP data offset below 5', Uint8Array.from(ethernet(0x0800, ipv4Packet(spec.src, spec.dst, 6, seg.map((b, i) => (i === 12 ? 0x40 : b))))), false],
    ['TCP data offset past the end', Uint8Array.from(ethernet(0x0800, ipv4Packet(spec.src, spec.dst, 6, seg.map((b, i) => (i === 12 ? 0xf0 : b))))), false],
    ['IP total length below 20', Uint8Array.from(ethernet(0x0800, ip.map((b, i) => (i === 2 ? 0 : i === 3 ? 19 : b)))), false],
  ];
  for (const [name, frame, fast] of cases) {
    it(name, () => {
      const r = both(frame);
      expect(r.fast).toBe(fast);
      expect(r.same).toBe(true);
    });
  }

  it('mutated headers: whatever it accepts, it decodes as the general decoder does', () => {
    const rng = new Prng(7);
    const seeds = cases.map((c) => c[1]);
    let accepted = 0;
    for (let i = 0; i < 30_000; i++) {
      const f = rng.pick(seeds).slice(0, rng.next() < 0.8 ? undefined : rng.int(80));
      for (let k = 1 + rng.int(3); k > 0 && f.length > 0; k--) f[rng.int(Math.min(f.length, 60))] = rng.next() < 0.5 ? rng.int(256) : f[rng.int(f.length)];
      const r = both(f);
      if (r.fast) accepted++;
      if (!r.same) expect({ i, frame: Buffer.from(f).toString('hex') }).toBe('decoded alike');
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
