import { describe, expect, it } from 'vitest';
import type { RawPacket } from '../types.js';
import { formatAddr, PacketDecoder } from './decode.js';
import { LINKTYPE } from './linktypes.js';
import { ethernet, ip6, ipv4Packet, ipv6Packet, tcpSegment } from '../../test/support/frames.js';

function raw(linkType: number, data: number[] | Uint8Array): RawPacket {
  const d = Uint8Array.from(data);
  return { linkType, tsSec: 1, tsNsec: 0, data: d, origLen: d.length, ifIndex: 0, frame: 1 };
}

const seg = tcpSegment({ src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 1883, seq: 7, flags: 0x18, payload: [1, 2, 3] });
const v4 = ipv4Packet('10.0.0.1', '10.0.0.2', 6, seg);

describe('link layers', () => {
  it('decodes Ethernet II → IPv4 → TCP', () => {
    const d = new PacketDecoder();
    expect(d.decode(raw(LINKTYPE.ETHERNET, ethernet(0x0800, v4)))).toBe(true);
    const i = d.info;
    expect([i.ipVersion, i.proto, i.sport, i.dport, i.seq, i.tcpFlags, i.payloadLen]).toEqual([4, 6, 40000, 1883, 7, 0x18, 3]);
    expect(formatAddr(i.buf, i.srcOff, 4)).toBe('10.0.0.1');
    expect(Array.from(i.buf.subarray(i.payloadOff, i.payloadOff + i.payloadLen))).toEqual([1, 2, 3]);
  });

  it('reads 802.1Q and QinQ (802.1ad) tags, outer first', () => {
    const d = new PacketDecoder();
    expect(d.decode(raw(LINKTYPE.ETHERNET, ethernet(0x0800, v4, [[0x8100, 0x2064]])))).toBe(true);
    expect([d.info.vlanCount, d.info.vlan0]).toEqual([1, 100]);
    expect(d.decode(raw(LINKTYPE.ETHERNET, ethernet(0x0800, v4, [[0x88a8, 10], [0x8100, 20]])))).toBe(true);
    expect([d.info.vlanCount, d.info.vlan0, d.info.vlan1, d.info.dport]).toEqual([2, 10, 20, 1883]);
  });

  it('ignores Ethernet padding after the IPv4 total length', () => {
    const d = new PacketDecoder();
    expect(d.decode(raw(LINKTYPE.ETHERNET, [...ethernet(0x0800, v4), 0, 0, 0, 0, 0, 0]))).toBe(true);
    expect(d.info.payloadLen).toBe(3);
  });

  it('decodes BSD null/loopback in both byte orders, and OpenBSD loop', () => {
    const d = new PacketDecoder();
    expect(d.decode(raw(LINKTYPE.NULL, [2, 0, 0, 0, ...v4]))).toBe(true);
    expect(d.decode(raw(LINKTYPE.NULL, [0, 0, 0, 2, ...v4]))).toBe(true);
    expect(d.decode(raw(LINKTYPE.LOOP, [0, 0, 0, 2, ...v4]))).toBe(true);
    expect(d.decode(raw(LINKTYPE.NULL, [30, 0, 0, 0, ...ipv6Packet('::1', '::1', 6, seg)]))).toBe(true);
    expect(d.info.ipVersion).toBe(6);
  });

  it('decodes Linux cooked SLL and SLL2', () => {
    const d = new PacketDecoder();
    const sll = [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
    expect(d.decode(raw(LINKTYPE.LINUX_SLL, [...sll, ...v4]))).toBe(true);
    const sll2 = [0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
    expect(d.decode(raw(LINKTYPE.LINUX_SLL2, [...sll2, ...v4]))).toBe(true);
    expect(d.info.dport).toBe(1883);
  });

  it('decodes raw IP (DLT_RAW, LINKTYPE_IPV4/IPV6)', () => {
    const d = new PacketDecoder();
    expect(d.decode(raw(LINKTYPE.RAW, v4))).toBe(true);
    expect(d.decode(raw(LINKTYPE.IPV4, v4))).toBe(true);
    expect(d.decode(raw(LINKTYPE.IPV6, ipv6Packet('2001:db8::1', '2001:db8::2', 6, seg)))).toBe(true);
    expect(formatAddr(d.info.buf, d.info.dstOff, 16)).toBe('2001:db8::2');
  });

  it('counts what it cannot decode instead of throwing', () => {
    const d = new PacketDecoder();
    expect(d.decode(raw(147, [1, 2, 3]))).toBe(false);
    expect(d.decode(raw(LINKTYPE.ETHERNET, [1, 2, 3]))).toBe(false);
    expect(d.decode(raw(LINKTYPE.ETHERNET, ethernet(0x0806, [0, 1])))).toBe(false);
    expect(d.decode(raw(LINKTYPE.ETHERNET, ethernet(0x0800, v4.slice(0, 15))))).toBe(false);
    expect(d.decode(raw(LINKTYPE.ETHERNET, ethernet(0x0800, v4.slice(0, 30))))).toBe(false);
    expect(d.skipped).toMatchObject({ linkUnsupported: 1, linkTruncated: 1, notIp: 1, ipMalformed: 1, transportMalformed: 1 });
    expect([...d.unsupportedLinkTypes]).toEqual([147]);
  });
});

describe('IPv6 extension headers', () => {
  it('walks hop-by-hop, routing and destination options to TCP', () => {
    const d = new PacketDecoder();
    const hbh = [43, 0, 1, 4, 0, 0, 0, 0];
    const routing = [60, 0, 0, 0, 0, 0, 0, 0];
    const dest = [6, 0, 1, 4, 0, 0, 0, 0];
    expect(d.decode(raw(LINKTYPE.RAW, ipv6Packet('fe80::1', 'fe80::2', 0, [...hbh, ...routing, ...dest, ...seg])))).toBe(true);
    expect([d.info.proto, d.info.dport, d.info.payloadLen]).toEqual([6, 1883, 3]);
  });

  it('reassembles IPv6 fragments', () => {
    const d = new PacketDecoder();
    const body = tcpSegment({ src: '', dst: '', sport: 1, dport: 4840, seq: 1, flags: 0x18, payload: Array.from({ length: 40 }, (_, i) => i) });
    const f1 = [6, 0, 0, 1, 0, 0, 0, 9, ...body.slice(0, 32)];
    const f2 = [6, 0, 0, 32, 0, 0, 0, 9, ...body.slice(32)];
    expect(d.decode(raw(LINKTYPE.RAW, ipv6Packet('fe80::1', 'fe80::2', 44, f1)))).toBe(false);
    expect(d.skipped.ipFragmentPending).toBe(1);
    expect(d.decode(raw(LINKTYPE.RAW, ipv6Packet('fe80::1', 'fe80::2', 44, f2)))).toBe(true);
    expect([d.info.dport, d.info.payloadLen]).toEqual([4840, 40]);
    expect(d.info.buf[d.info.payloadOff + 39]).toBe(39);
  });
});

describe('IPv4 fragments', () => {
  const big = tcpSegment({ src: '', dst: '', sport: 5, dport: 1883, seq: 1, flags: 0x18, payload: Array.from({ length: 100 }, (_, i) => i) });
  const frag = (off: number, end: number, more: boolean, id = 77) => raw(LINKTYPE.RAW, ipv4Packet('1.1.1.1', '2.2.2.2', 6, big.slice(off, end), { id, frag: [off, more] }));

  it('reassembles out of order, with an overlap (first copy wins)', () => {
    const d = new PacketDecoder();
    expect(d.decode(frag(64, 120, false))).toBe(false);
    expect(d.decode(frag(0, 64, true))).toBe(true);
    expect([d.info.dport, d.info.payloadLen]).toEqual([1883, 100]);
    expect(d.fragments.inFlight).toBe(0);
  });

  it('drops fragments over the cap and expires stale ones', () => {
    const d = new PacketDecoder({ maxDatagrams: 2, timeoutSec: 10 });
    d.decode(frag(0, 64, true, 1));
    d.decode(frag(0, 64, true, 2));
    d.decode(frag(0, 64, true, 3));
    expect(d.fragments.inFlight).toBe(2);
    expect(d.fragments.stats.droppedDatagrams).toBe(1);
    d.expireFragments(100);
    expect(d.fragments.inFlight).toBe(0);
  });

  it('rejects a fragment that would exceed 65535 bytes', () => {
    const d = new PacketDecoder();
    const p = raw(LINKTYPE.RAW, ipv4Packet('1.1.1.1', '2.2.2.2', 6, [1, 2, 3, 4, 5, 6, 7, 8], { id: 5, frag: [65528, true] }));
    expect(d.decode(p)).toBe(false);
    expect(d.skipped.ipFragmentDropped).toBe(1);
  });
});

describe('formatAddr', () => {
  it('writes IPv6 per RFC 5952', () => {
    const f = (a: string) => formatAddr(Uint8Array.from(ip6(a)), 0, 16);
    expect(f('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1');
    expect(f('0:0:0:0:0:0:0:1')).toBe('::1');
    expect(f('fe80:0:0:0:200:86ff:fe05:80da')).toBe('fe80::200:86ff:fe05:80da');
    expect(f('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2:3:4:5:6');
    expect(f('::ffff:c000:280')).toBe('::ffff:192.0.2.128');
  });
});

describe('decodeFrame: a frame inside a larger buffer (the capture reader zero-copy path)', () => {
  /** What decoding a frame tells, with offsets made relative to the frame's start. */
  function facts(d: PacketDecoder, ok: boolean, base: number): unknown {
    const i = d.info;
    if (!ok) return { ok, skipped: { ...d.skipped } };
    const len = i.ipVersion === 4 ? 4 : 16;
    return {
      ok,
      v: i.ipVersion,
      src: formatAddr(i.buf, i.srcOff, len),
      dst: formatAddr(i.buf, i.dstOff, len),
      ports: [i.proto, i.sport, i.dport, i.seq, i.ack, i.tcpFlags],
      vlan: [i.vlanCount, i.vlan0, i.vlan1],
      mac: i.macOff < 0 ? -1 : i.macOff - base,
      payload: Array.from(i.buf.subarray(i.payloadOff, i.payloadOff + i.payloadLen)),
    };
  }

  const seg6 = tcpSegment({ src: '', dst: '', sport: 4840, dport: 50000, seq: 0xfffffff0, ack: 0x80000001, flags: 0x10, payload: [9, 8, 7, 6] });
  const frames: [string, number, number[]][] = [
    ['ethernet', LINKTYPE.ETHERNET, ethernet(0x0800, v4)],
    ['ethernet + QinQ', LINKTYPE.ETHERNET, ethernet(0x0800, v4, [[0x88a8, 10], [0x8100, 20]])],
    ['ethernet IPv6', LINKTYPE.ETHERNET, ethernet(0x86dd, ipv6Packet('2001:db8::1', '2001:db8::2', 6, seg6))],
    ['null', LINKTYPE.NULL, [2, 0, 0, 0, ...v4]],
    ['loop', LINKTYPE.LOOP, [0, 0, 0, 2, ...v4]],
    ['raw', LINKTYPE.RAW, v4],
    ['sll', LINKTYPE.LINUX_SLL, [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00, ...v4]],
    ['sll2', LINKTYPE.LINUX_SLL2, [0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...v4]],
  ];

  for (const [name, linkType, frame] of frames) {
    it(`${name}: same facts as decode() alone, at every cut length, whatever surrounds the frame`, () => {
      for (let cut = 0; cut <= frame.length; cut++) {
        const alone = new PacketDecoder();
        const expected = facts(alone, alone.decode(raw(linkType, frame.slice(0, cut))), 0);
        // The frame sits between bytes that would decode as more payload (or as a longer header)
        // if the decoder read past its end.
        for (const fill of [0x00, 0xff, 0x45]) {
          const base = 37;
          const buf = new Uint8Array(base + cut + 64).fill(fill);
          buf.set(frame.slice(0, cut), base);
          const d = new PacketDecoder();
          expect(facts(d, d.decodeFrame(buf, base, cut, linkType, 1), base), `${name} cut ${cut} fill ${fill}`).toEqual(expected);
        }
      }
    });
  }

  it('keeps unsigned seq/ack/addresses past 2^31 exact', () => {
    const d = new PacketDecoder();
    expect(d.decode(raw(LINKTYPE.IPV6, ipv6Packet('2001:db8::1', '2001:db8::2', 6, seg6)))).toBe(true);
    expect([d.info.seq, d.info.ack]).toEqual([0xfffffff0, 0x80000001]);
    const hi = tcpSegment({ src: '200.1.2.3', dst: '250.0.0.1', sport: 1, dport: 2, seq: 0x80000000, flags: 0x18, payload: [1] });
    expect(d.decode(raw(LINKTYPE.RAW, ipv4Packet('200.1.2.3', '250.0.0.1', 6, hi)))).toBe(true);
    expect([d.info.src4, d.info.dst4, d.info.seq]).toEqual([0xc8010203, 0xfa000001, 0x80000000]);
  });
});
