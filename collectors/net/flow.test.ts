import { describe, expect, it } from 'vitest';
import type { FlowEnd, RawPacket, StreamConsumer } from '../types.js';
import { PacketDecoder } from './decode.js';
import { FlowTable, formatMac, type Flow, type FlowOptions, type FlowRecord } from './flow.js';
import { ethernet, ipv6Packet, tcpFrame, tcpSegment, type TcpSpec } from '../../test/support/frames.js';

const FIN = 1, SYN = 2, RST = 4, PSH = 8, ACK = 16;

/** Records what each side delivered: bytes as text, gaps as «gap:N». */
class Recorder implements StreamConsumer {
  out: [string, string] = ['', ''];
  ended: FlowEnd | null = null;
  data(side: 0 | 1, bytes: Uint8Array): void {
    this.out[side] += Buffer.from(bytes).toString('latin1');
  }
  gap(side: 0 | 1, length: number): void {
    this.out[side] += `«gap:${length}»`;
  }
  end(reason: FlowEnd): void {
    this.ended = reason;
  }
}

/** One Ethernet frame through the decoder into the flow table. */
function feed(dec: PacketDecoder, table: FlowTable, data: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
  const pkt: RawPacket = { linkType: 1, tsSec, tsNsec, data, origLen: data.length, ifIndex: 0, frame };
  expect(dec.decode(pkt)).toBe(true);
  table.packet(dec.info, tsSec, tsNsec, pkt.origLen, frame);
}

function harness(opts?: Partial<FlowOptions>) {
  const dec = new PacketDecoder();
  const recs = new Map<number, Recorder>();
  const ended: FlowRecord[] = [];
  const table = new FlowTable(opts, (f: Flow) => {
    const r = new Recorder();
    recs.set(f.id, r);
    return r;
  }, (f) => ended.push(f.record()));
  let frame = 0;
  let t = 1000;
  const send = (s: Partial<TcpSpec> & { seq: number; flags: number }, fromClient = true, text = '') => {
    const spec: TcpSpec = fromClient
      ? { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 1883, ...s, payload: Buffer.from(text, 'latin1') }
      : { src: '10.0.0.2', dst: '10.0.0.1', sport: 1883, dport: 40000, ...s, payload: Buffer.from(text, 'latin1') };
    feed(dec, table, tcpFrame(spec), t++, 0, ++frame);
  };
  return { table, recs, ended, send, rec: () => [...recs.values()][0] };
}

describe('TCP reassembly', () => {
  it('delivers a handshake-started stream in order, both directions', () => {
    const h = harness();
    h.send({ seq: 100, flags: SYN });
    h.send({ seq: 500, ack: 101, flags: SYN | ACK }, false);
    h.send({ seq: 101, ack: 501, flags: ACK });
    h.send({ seq: 101, ack: 501, flags: PSH | ACK }, true, 'hello ');
    h.send({ seq: 107, ack: 501, flags: PSH | ACK }, true, 'world');
    h.send({ seq: 501, ack: 112, flags: PSH | ACK }, false, 'ok');
    expect(h.rec().out).toEqual(['hello world', 'ok']);
    const f = h.table;
    f.flushAll();
    expect(h.ended[0]).toMatchObject({ handshake: true, flow: { src: '10.0.0.1', dport: 1883 }, packets: { c2s: 4, s2c: 2 }, payload: { c2s: 11, s2c: 2 } });
  });

  it('reorders out-of-order segments and drops retransmissions (first copy wins)', () => {
    const h = harness();
    h.send({ seq: 1, flags: ACK }, true, 'AAAA');
    h.send({ seq: 9, flags: ACK }, true, 'CCCC');
    h.send({ seq: 5, flags: ACK }, true, 'BBBB');
    h.send({ seq: 5, flags: ACK }, true, 'XXXX'); // retransmission with other bytes: ignored
    h.send({ seq: 11, flags: ACK }, true, 'ZZDD'); // overlap: only 'DD' is new
    h.send({ seq: 7, flags: ACK }, true, 'YYYYYYYYYYEE'); // overlaps 6..17: only offsets 14..17 are new
    expect(h.rec().out[0]).toBe('AAAABBBBCCCCDDYYEE');
  });

  it('handles sequence numbers wrapping around 2^32', () => {
    const h = harness();
    h.send({ seq: 0xfffffffc, flags: ACK }, true, 'abcd');
    h.send({ seq: 4, flags: ACK }, true, 'ijkl');
    h.send({ seq: 0, flags: ACK }, true, 'efgh');
    expect(h.rec().out[0]).toBe('abcdefghijkl');
  });

  it('picks a stream up in mid-stream and guesses the client by port', () => {
    const h = harness();
    h.send({ seq: 5000, ack: 9000, flags: ACK }, false, 'from-broker');
    h.send({ seq: 9000, ack: 5011, flags: ACK }, true, 'from-client');
    h.table.flushAll();
    const r = h.ended[0];
    expect(r.handshake).toBe(false);
    expect(r.flow).toMatchObject({ src: '10.0.0.1', sport: 40000, dst: '10.0.0.2', dport: 1883 });
    expect(r.payload).toEqual({ c2s: 11, s2c: 11 });
  });

  it('turns a hole acknowledged twice by the peer into a gap and goes on', () => {
    const h = harness();
    h.send({ seq: 1, flags: ACK }, true, 'aaaa');
    h.send({ seq: 9, flags: ACK }, true, 'cccc'); // 5..8 lost
    h.send({ seq: 1, ack: 13, flags: ACK }, false);
    expect(h.rec().out[0]).toBe('aaaa');
    h.send({ seq: 1, ack: 13, flags: ACK }, false);
    expect(h.rec().out[0]).toBe('aaaa«gap:4»cccc');
    h.send({ seq: 13, flags: ACK }, true, 'dd');
    expect(h.rec().out[0]).toBe('aaaa«gap:4»ccccdd');
  });

  it('declares a gap when the per-direction buffer cap is reached', () => {
    const h = harness({ maxPendingPerDirection: 8 });
    h.send({ seq: 1, flags: ACK }, true, 'aa');
    h.send({ seq: 10, flags: ACK }, true, 'bbbbbb');
    h.send({ seq: 20, flags: ACK }, true, 'cccccc'); // 12 bytes would be pending: the first hole gives way
    expect(h.rec().out[0]).toBe('aa«gap:7»bbbbbb');
    h.table.flushAll();
    expect(h.rec().out[0]).toBe('aa«gap:7»bbbbbb«gap:4»cccccc');
  });

  it('flushes pending data with gaps at FIN and ends the flow', () => {
    const h = harness();
    h.send({ seq: 100, flags: SYN });
    h.send({ seq: 500, ack: 101, flags: SYN | ACK }, false);
    h.send({ seq: 101, flags: ACK }, true, 'ab');
    h.send({ seq: 105, flags: ACK }, true, 'ef');
    h.send({ seq: 107, flags: FIN | ACK }, true);
    h.send({ seq: 501, flags: FIN | ACK }, false);
    expect(h.rec().out[0]).toBe('ab«gap:2»ef');
    expect(h.rec().ended).toBe('fin');
    h.send({ seq: 108, ack: 502, flags: ACK }); // late ACK still counts for the closed flow
    h.table.flushAll();
    expect(h.ended).toHaveLength(1);
    expect(h.ended[0]).toMatchObject({ endReason: 'fin', packets: { c2s: 5, s2c: 2 } });
  });

  it('ends on RST and starts a new flow when the port is reused with a new SYN', () => {
    const h = harness();
    h.send({ seq: 100, flags: SYN });
    h.send({ seq: 101, flags: RST });
    h.send({ seq: 7000, flags: SYN });
    h.send({ seq: 7001, flags: PSH | ACK }, true, 'x');
    h.table.flushAll();
    expect(h.ended.map((r) => [r.endReason, r.packets.c2s])).toEqual([['rst', 2], ['eof', 2]]);
  });

  it('expires idle flows and evicts the least recently active beyond the cap', () => {
    const dec = new PacketDecoder();
    const ended: FlowRecord[] = [];
    const table = new FlowTable({ maxFlows: 2, idleTimeoutSec: 10 }, null, (f) => ended.push(f.record()));
    const pkt = (sport: number, t: number) => {
      const data = tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport, dport: 1883, seq: 1, flags: ACK, payload: [1] });
      dec.decode({ linkType: 1, tsSec: t, tsNsec: 0, data, origLen: data.length, ifIndex: 0, frame: 1 });
      table.packet(dec.info, t, 0, data.length, 1);
    };
    pkt(1, 0);
    pkt(2, 1);
    pkt(3, 2); // evicts sport 1
    expect(table.stats.flowsEvicted).toBe(1);
    pkt(4, 20); // sports 2 and 3 idle for > 10 s
    expect(ended.map((r) => [r.flow.sport, r.endReason])).toEqual([[1, 'evicted'], [2, 'idle'], [3, 'idle']]);
    expect(table.size).toBe(1);
  });

  it('keeps VLANs apart: the same 5-tuple on two VLANs is two flows', () => {
    const dec = new PacketDecoder();
    const table = new FlowTable({}, null, null);
    for (const vid of [10, 20]) {
      const data = tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 5, dport: 1883, seq: 1, flags: ACK }, [[0x8100, vid]]);
      dec.decode({ linkType: 1, tsSec: 1, tsNsec: 0, data, origLen: data.length, ifIndex: 0, frame: 1 });
      table.packet(dec.info, 1, 0, data.length, 1);
    }
    expect(table.size).toBe(2);
  });

  it('finds an untagged flow again after a tagged packet (no stale VLAN id in the flow hash)', () => {
    // The decoder leaves the last tagged packet's VLAN id in its unused fields: the hash must not
    // see it, or the untagged flow's later packets miss it and open a second flow.
    const dec = new PacketDecoder();
    const table = new FlowTable({}, null, null);
    const ended: FlowRecord[] = [];
    const t2 = new FlowTable({}, null, (f) => ended.push(f.record()));
    const a = { src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 1883, flags: ACK };
    const b = { src: '10.0.0.3', dst: '10.0.0.2', sport: 40001, dport: 1883, flags: ACK };
    const frames = [tcpFrame({ ...a, seq: 1 }), tcpFrame({ ...b, seq: 1 }, [[0x8100, 77]]), tcpFrame({ ...a, seq: 1 }), tcpFrame({ ...b, seq: 1 }, [[0x8100, 77]]), tcpFrame({ ...a, seq: 1 })];
    let n = 0;
    for (const data of frames) {
      n++;
      expect(dec.decode({ linkType: 1, tsSec: 1, tsNsec: 0, data, origLen: data.length, ifIndex: 0, frame: n })).toBe(true);
      table.packet(dec.info, 1, 0, data.length, n);
      t2.packet(dec.info, 1, 0, data.length, n);
    }
    expect(table.size).toBe(2);
    t2.flushAll();
    expect(ended.map((r) => [r.flow.src, r.packets.c2s + r.packets.s2c]).sort()).toEqual([
      ['10.0.0.1', 3],
      ['10.0.0.3', 2],
    ]);
  });
});

describe('flow keys and Community ID from the packets', () => {
  // The Community ID spec's reference vectors for TCP (corelight/community-id-spec), here as real
  // frames through the decoder and the flow table: the flow keeps IPv4 addresses as integers and
  // IPv6 addresses in one 32-byte array, and both must give the spec's ids, from either direction.
  const v6Frame = (src: string, dst: string, sport: number, dport: number, flags: number): Uint8Array =>
    Uint8Array.from(ethernet(0x86dd, ipv6Packet(src, dst, 6, tcpSegment({ src, dst, sport, dport, seq: 1, flags }))));
  const cases: [string, number, string, number, string, (s: string, d: string, sp: number, dp: number, f: number) => Uint8Array][] = [
    ['128.232.110.120', 34855, '66.35.250.204', 80, '1:LQU9qZlK+B5F3KDmev6m5PMibrg=', (src, dst, sport, dport, flags) => tcpFrame({ src, dst, sport, dport, seq: 1, flags })],
    ['2001:470:e5bf:dead:4957:2174:e82c:4887', 63943, '2607:f8b0:400c:c03::1a', 25, '1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=', v6Frame],
  ];
  for (const [a, pa, b, pb, want, frame] of cases) {
    it(`${a} ↔ ${b}: ${want}`, () => {
      const dec = new PacketDecoder();
      const flows: Flow[] = [];
      const table = new FlowTable({}, () => new Recorder(), (f) => flows.push(f));
      const send = (data: Uint8Array, n: number): void => feed(dec, table, data, 1000 + n, 0, n);
      send(frame(a, b, pa, pb, SYN), 1);
      send(frame(b, a, pb, pa, SYN | ACK), 2);
      // Same addresses, another port: a flow of its own.
      send(frame(a, b, pa + 1, pb, SYN), 3);
      table.flushAll();
      expect(flows).toHaveLength(2);
      expect(flows[0].communityId).toBe(want);
      expect(flows[0].ref).toMatchObject({ src: a, sport: pa, dst: b, dport: pb });
      expect(flows[0].record().packets).toEqual({ c2s: 1, s2c: 1 });
      expect(flows[1].communityId).not.toBe(want);
    });
  }
});

describe('address and MAC strings shared between flows', () => {
  it('formats every MAC right, through more MACs than the cache keeps and back', () => {
    const ref = (b: number[]): string => b.map((x) => x.toString(16).padStart(2, '0')).join(':');
    let seed = 7;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    const macs = Array.from({ length: 10_000 }, () => Array.from({ length: 6 }, rnd));
    macs.push([0, 0, 0, 0, 0, 0], [255, 255, 255, 255, 255, 255], [0, 0, 0, 0, 0, 1], [1, 0, 0, 0, 0, 0]);
    for (let pass = 0; pass < 2; pass++) {
      for (const m of macs) expect(formatMac(Uint8Array.from([9, ...m]), 1)).toBe(ref(m));
    }
  });

  it('gives each flow its own addresses, through more addresses than the cache keeps', () => {
    const dec = new PacketDecoder();
    const flows: Flow[] = [];
    const table = new FlowTable({}, () => new Recorder(), (f) => flows.push(f));
    const want: string[] = [];
    for (let i = 0; i < 6000; i++) {
      const src = `10.${(i >> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
      want.push(src);
      feed(dec, table, tcpFrame({ src, dst: '192.168.0.1', sport: 1024 + (i % 50000), dport: 4840, seq: 1, flags: SYN }), 1000, i, i + 1);
    }
    table.flushAll();
    expect(flows.map((f) => f.ref.src)).toEqual(want);
    expect(new Set(flows.map((f) => f.ref.dst))).toEqual(new Set(['192.168.0.1']));
  });
});
