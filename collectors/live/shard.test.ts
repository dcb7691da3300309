import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { frameHash, shardOf } from './shard.js';
import { LINKTYPE } from '../net/linktypes.js';
import { ethernet, ipv4Packet, ipv6Packet, tcpFrame, tcpSegment } from '../../test/support/frames.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join('.'));
const ipv6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((w) => w.map((x) => x.toString(16)).join(':'));
const port = fc.integer({ min: 1, max: 65535 });

function udp(sport: number, dport: number): number[] {
  return [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 8, 0, 0];
}

describe('shard hash', () => {
  it('is the same for both directions of a TCP/IPv4 flow, tagged or not', () => {
    fc.assert(
      fc.property(ipv4, ipv4, port, port, fc.option(fc.nat(4095), { nil: undefined }), (a, b, pa, pb, vlan) => {
        const tags: [number, number][] = vlan === undefined ? [] : [[0x8100, vlan]];
        const ab = tcpFrame({ src: a, dst: b, sport: pa, dport: pb, seq: 1, flags: 0x18, payload: [1, 2, 3] }, tags);
        const ba = tcpFrame({ src: b, dst: a, sport: pb, dport: pa, seq: 9, flags: 0x10 }, tags);
        const h = frameHash(LINKTYPE.ETHERNET, ab);
        expect(h).toBeGreaterThanOrEqual(0);
        expect(frameHash(LINKTYPE.ETHERNET, ba)).toBe(h);
        for (const n of [1, 2, 3, 7]) expect(shardOf(LINKTYPE.ETHERNET, ba, n)).toBe(shardOf(LINKTYPE.ETHERNET, ab, n));
      }),
    );
  });

  it('is the same for both directions of a UDP/IPv6 flow, on raw IP and Ethernet', () => {
    fc.assert(
      fc.property(ipv6, ipv6, port, port, (a, b, pa, pb) => {
        const ab = ipv6Packet(a, b, 17, udp(pa, pb));
        const ba = ipv6Packet(b, a, 17, udp(pb, pa));
        expect(frameHash(LINKTYPE.RAW, Uint8Array.from(ab))).toBe(frameHash(LINKTYPE.RAW, Uint8Array.from(ba)));
        expect(frameHash(LINKTYPE.ETHERNET, Uint8Array.from(ethernet(0x86dd, ab)))).toBe(frameHash(LINKTYPE.ETHERNET, Uint8Array.from(ethernet(0x86dd, ba))));
      }),
    );
  });

  it('puts every fragment of a datagram on the shard of its address pair', () => {
    const seg = tcpSegment({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 1883, seq: 1, flags: 0x18, payload: new Array(16).fill(7) });
    const first = Uint8Array.from(ethernet(0x0800, ipv4Packet('10.0.0.1', '10.0.0.2', 6, seg.slice(0, 16), { id: 5, frag: [0, true] })));
    const rest = Uint8Array.from(ethernet(0x0800, ipv4Packet('10.0.0.1', '10.0.0.2', 6, seg.slice(16), { id: 5, frag: [16, false] })));
    const back = Uint8Array.from(ethernet(0x0800, ipv4Packet('10.0.0.2', '10.0.0.1', 6, [9, 9, 9, 9], { id: 6, frag: [8, false] })));
    expect(frameHash(LINKTYPE.ETHERNET, rest)).toBe(frameHash(LINKTYPE.ETHERNET, first));
    expect(frameHash(LINKTYPE.ETHERNET, back)).toBe(frameHash(LINKTYPE.ETHERNET, first));
  });

  it('sends frames without a flow key (ARP, truncated, unknown link type) to shard 0', () => {
    const arp = Uint8Array.from(ethernet(0x0806, new Array(28).fill(0)));
    expect(frameHash(LINKTYPE.ETHERNET, arp)).toBe(-1);
    expect(shardOf(LINKTYPE.ETHERNET, arp, 4)).toBe(0);
    expect(shardOf(LINKTYPE.ETHERNET, new Uint8Array(10), 4)).toBe(0);
    const tcp = tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2, seq: 1, flags: 2 });
    expect(shardOf(LINKTYPE.ETHERNET, tcp.subarray(0, 20), 4)).toBe(0);
    expect(shardOf(147, tcp, 4)).toBe(0);
  });

  it('spreads many flows between two hosts over the shards', () => {
    const counts = [0, 0, 0, 0];
    for (let p = 40000; p < 42000; p++) {
      counts[shardOf(LINKTYPE.ETHERNET, tcpFrame({ src: '10.0.0.1', dst: '10.0.0.2', sport: p, dport: 4840, seq: 1, flags: 2 }), 4)]++;
    }
    // 2000 flows: each shard gets a fair part (exact counts depend only on the fixed hash).
    for (const c of counts) expect(c).toBeGreaterThan(350);
  });
});
