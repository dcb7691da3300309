/**
 * pcapng byte vectors. Section numbers: draft-ietf-opsawg-pcapng-02 ("PCAP Next Generation
 * (pcapng) Capture File Format"): §3.1 general block structure, §3.5 options, §4.1 SHB,
 * §4.2 IDB (if_name, if_tsresol, if_tsoffset), §4.3 EPB, §4.4 SPB, §4.5 NRB, §4.6 ISB,
 * Appendix A obsolete Packet Block.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { CaptureReader } from '../../collectors/capture/reader.js';
import { PcapWriter, writeCapture } from '../../collectors/capture/writer.js';
import { readSplit, type Pkt } from './helpers.js';

/** Little- or big-endian byte builder. */
class B {
  private readonly parts: number[] = [];
  constructor(private readonly le = true) {}
  u8(...v: number[]): this {
    this.parts.push(...v);
    return this;
  }
  u16(v: number): this {
    return this.le ? this.u8(v & 0xff, v >>> 8) : this.u8(v >>> 8, v & 0xff);
  }
  u32(v: number): this {
    const b = [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    return this.u8(...(this.le ? b.reverse() : b));
  }
  bytes(): number[] {
    return this.parts;
  }
}

/** §3.1: type, total length, body padded to 32 bits, total length again. */
function block(le: boolean, type: number, body: number[], lenOverride?: number, trailerOverride?: number): number[] {
  const padded = [...body, ...new Array((4 - (body.length % 4)) % 4).fill(0)];
  const len = 12 + padded.length;
  return new B(le)
    .u32(type)
    .u32(lenOverride ?? len)
    .u8(...padded)
    .u32(trailerOverride ?? lenOverride ?? len)
    .bytes();
}
/** §4.1: byte-order magic 0x1A2B3C4D, version 1.0, section length -1. */
const shb = (le = true, major = 1): number[] =>
  block(le, 0x0a0d0d0a, new B(le).u32(0x1a2b3c4d).u16(major).u16(0).u32(0xffffffff).u32(0xffffffff).bytes());
/** §3.5: option code, length, value padded. */
const opt = (le: boolean, code: number, val: number[]): number[] => [
  ...new B(le).u16(code).u16(val.length).bytes(),
  ...val,
  ...new Array((4 - (val.length % 4)) % 4).fill(0),
];
/** §4.2: linktype (2), reserved (2), snaplen (4), options. */
const idb = (le: boolean, linkType: number, snaplen: number, opts: number[][] = []): number[] =>
  block(le, 1, [...new B(le).u16(linkType).u16(0).u32(snaplen).bytes(), ...opts.flat(), ...(opts.length ? [0, 0, 0, 0] : [])]);
/** §4.3: interface id, ts high, ts low, captured len, original len, data. */
const epb = (le: boolean, ifid: number, hi: number, lo: number, data: number[], orig = data.length, capOverride?: number): number[] =>
  block(le, 6, [...new B(le).u32(ifid).u32(hi).u32(lo).u32(capOverride ?? data.length).u32(orig).bytes(), ...data]);

function read(bytes: number[], maxRecordSize?: number): { packets: Pkt[]; summary: ReturnType<CaptureReader['end']> } {
  return readSplit(Uint8Array.from(bytes), [], maxRecordSize);
}
function fails(bytes: number[], re: RegExp, offset?: number, maxRecordSize?: number): void {
  const r = new CaptureReader(() => {}, maxRecordSize ? { maxRecordSize } : {});
  let err: unknown;
  try {
    r.push(Uint8Array.from(bytes));
  } catch (e) {
    err = e;
  }
  expect(err).toMatchObject({ code: 'OTW_ERR_CAPTURE_CORRUPT', message: expect.stringMatching(re) });
  if (offset !== undefined) expect((err as { offset: number }).offset).toBe(offset);
  expect(r.end().truncated).toMatchObject({ reason: expect.stringMatching(re) });
}

describe('pcapng sections and interfaces', () => {
  for (const le of [true, false]) {
    it(`reads SHB/IDB/EPB written ${le ? 'little' : 'big'}-endian (§4.1 byte-order magic)`, () => {
      const { packets, summary } = read([...shb(le), ...idb(le, 1, 65535), ...epb(le, 0, 0x00060a3b, 0x12345678, [1, 2, 3], 60)]);
      expect(summary.format).toBe('pcapng');
      expect(summary.interfaces).toEqual([{ linkType: 1, snaplen: 65535, tsresolNs: 1000 }]);
      expect(packets).toHaveLength(1);
      // ticks = 0x00060a3b12345678 µs
      const ticks = (0x00060a3bn << 32n) | 0x12345678n;
      expect(packets[0]).toMatchObject({ frame: 1, ifIndex: 0, linkType: 1, origLen: 60, tsSec: Number(ticks / 1000000n), tsNsec: Number((ticks % 1000000n) * 1000n) });
      expect([...packets[0].data]).toEqual([1, 2, 3]);
    });
  }

  it('a new section resets the interface list; byte order may change between sections', () => {
    const bytes = [
      ...shb(true),
      ...idb(true, 1, 0),
      ...idb(true, 0, 0),
      ...epb(true, 1, 0, 1_000_000, [9]),
      ...shb(false),
      ...idb(false, 101, 1500),
      ...epb(false, 0, 0, 2_000_000, [8, 8]),
    ];
    const { packets, summary } = read(bytes);
    expect(packets.map((p) => [p.frame, p.ifIndex, p.linkType, p.tsSec])).toEqual([
      [1, 1, 0, 1],
      [2, 0, 101, 2],
    ]);
    expect(summary.interfaces.map((i) => i.linkType)).toEqual([1, 0, 101]);
    // Interface 1 of the first section does not exist in the second.
    fails([...bytes, ...epb(false, 1, 0, 0, [])], /interface 1 but the section has 1/, bytes.length);
  });

  it('if_name (2), if_tsresol (9) as power of 10 and of 2, if_fcslen (13), if_tsoffset (14) (§4.2)', () => {
    const le = true;
    const bytes = [
      ...shb(),
      ...idb(le, 1, 0, [opt(le, 2, [...Buffer.from('eth0')]), opt(le, 9, [9])]),
      ...idb(le, 1, 0, [opt(le, 9, [3]), opt(le, 14, new B(le).u32(1000).u32(0).bytes())]),
      ...idb(le, 1, 0, [opt(le, 9, [0x80 | 10]), opt(le, 13, [4])]),
      ...epb(le, 0, 0x17a2bacf, 0x12345678, []), // ns
      ...epb(le, 1, 0, 2_500, []), // ms, + 1000 s offset
      ...epb(le, 2, 0, 3 * 1024 + 1, []), // 2^-10 s ticks
    ];
    const { packets, summary } = read(bytes);
    expect(summary.interfaces).toEqual([
      { linkType: 1, snaplen: 0, name: 'eth0', tsresolNs: 1 },
      { linkType: 1, snaplen: 0, tsresolNs: 1e6 },
      { linkType: 1, snaplen: 0, tsresolNs: 1e9 / 1024, fcsLen: 4 },
    ]);
    const ns = (0x17a2bacfn << 32n) | 0x12345678n;
    expect(packets.map((p) => [p.tsSec, p.tsNsec])).toEqual([
      [Number(ns / 1000000000n), Number(ns % 1000000000n)],
      [1002, 500_000_000],
      [3, Math.floor(1e9 / 1024)],
    ]);
  });

  it('SPB takes interface 0 and caplen = min(origlen, snaplen, room) (§4.4); PB (Appendix A)', () => {
    const le = true;
    const spb = (orig: number, data: number[]): number[] => block(le, 3, [...new B(le).u32(orig).bytes(), ...data]);
    const pb = block(le, 2, [...new B(le).u16(1).u16(7).u32(0).u32(42_000_000).u32(2).u32(99).bytes(), 5, 6]);
    const { packets } = read([
      ...shb(),
      ...idb(le, 1, 4),
      ...idb(le, 0, 0, [opt(le, 9, [9])]),
      ...spb(10, [1, 2, 3, 4, 5, 6, 7, 8]), // snaplen 4
      ...spb(3, [1, 2, 3, 0]), // origlen 3 inside padding
      ...pb,
    ]);
    expect(packets.map((p) => [p.frame, p.ifIndex, p.linkType, p.origLen, [...p.data], p.tsSec, p.tsNsec])).toEqual([
      [1, 0, 1, 10, [1, 2, 3, 4], 0, 0],
      [2, 0, 1, 3, [1, 2, 3], 0, 0],
      [3, 1, 0, 99, [5, 6], 0, 42_000_000],
    ]);
    fails([...shb(), ...spb(1, [1])], /interface 0 but the section has 0/);
  });

  it('NRB (§4.5), ISB (§4.6), custom and unknown blocks are skipped; frame numbers count packets only', () => {
    const le = true;
    const { packets } = read([
      ...shb(),
      ...idb(le, 1, 0),
      ...block(le, 4, [0, 0, 0, 0]),
      ...epb(le, 0, 0, 1, [1]),
      ...block(le, 5, new B(le).u32(0).u32(0).u32(0).bytes()),
      ...block(le, 0x0bad, [1, 2, 3, 4, 5]),
      ...block(le, 0x12345678, []),
      ...epb(le, 0, 0, 2, [2]),
    ]);
    expect(packets.map((p) => [p.frame, p.data[0]])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('writer output with tsresol 2^-20 and if_tsoffset reads back to the floor of the tick', () => {
    const buf = writeCapture(
      [{ tsSec: 1_700_000_000, tsNsec: 123_456_789, data: Uint8Array.of(1) }],
      { format: 'pcapng', interfaces: [{ linkType: 1, tsresol: 0x80 | 20, tsoffset: 1_600_000_000 }] },
    );
    const { packets } = readSplit(buf);
    const tick = Math.floor((123_456_789 * 2 ** 20) / 1e9);
    expect(packets[0].tsSec).toBe(1_700_000_000);
    expect(packets[0].tsNsec).toBe(Math.floor((tick * 1e9) / 2 ** 20));
  });
});

describe('pcapng timestamps are exact (two 32-bit halves, integer math)', () => {
  it('matches BigInt arithmetic for any 64-bit tick count and resolution', () => {
    const resols = [0, 1, 3, 6, 7, 9, 10, 12, 0x80 | 0, 0x80 | 10, 0x80 | 20, 0x80 | 32, 0x80 | 40];
    fc.assert(
      // hi spans both paths of the decimal conversion (exact double below 2^(21+k), long division above).
      fc.property(fc.oneof(fc.integer({ min: 0, max: 0x1fffff }), fc.integer({ min: 0, max: 0x3fffffff }), fc.integer({ min: 0, max: 0xffffffff })), fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom(...resols), (hi, lo, r) => {
        const le = true;
        const { packets } = read([...shb(), ...idb(le, 1, 0, [opt(le, 9, [r])]), ...epb(le, 0, hi, lo, [])]);
        const units = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
        const t = (BigInt(hi) << 32n) | BigInt(lo);
        const sec = t / units;
        const ns = ((t % units) * 1000000000n) / units;
        // Seconds beyond 2^53 cannot be exact in a number: compare those approximately.
        if (sec < 2n ** 53n) expect(packets[0].tsSec).toBe(Number(sec));
        else expect(Math.abs(packets[0].tsSec - Number(sec)) / Number(sec)).toBeLessThan(1e-12);
        expect(packets[0].tsNsec).toBe(Number(ns));
      }),
      { numRuns: 3000, seed: 42 },
    );
  });

  it('writer round trip at ns precision for any second and nanosecond', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 999_999_999 }), fc.boolean(), (s, n, be) => {
        const buf = writeCapture([{ tsSec: s, tsNsec: n, data: new Uint8Array(0) }], { format: 'pcapng', nanosecond: true, bigEndian: be });
        const p = readSplit(buf).packets[0];
        expect([p.tsSec, p.tsNsec]).toEqual([s, n]);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});

describe('pcapng structure errors (§3.1): errors with offsets, never allocations', () => {
  const head = [...shb(), ...idb(true, 1, 0)];
  const at = head.length;
  it('trailer length differs from the header length', () => {
    fails([...head, ...block(true, 6, new Array(20).fill(0), undefined, 36)], /trailer length 36 != 32/, at + 28);
  });
  it('length not a multiple of 4, below 12, above the maximum', () => {
    fails([...head, ...new B().u32(6).u32(33).bytes()], /not a multiple of 4/, at);
    fails([...head, ...new B().u32(6).u32(8).bytes()], /length 8 < 12/, at);
    fails([...head, ...new B().u32(6).u32(0xfffffffc).bytes()], /exceeds the maximum block size/, at);
    fails([...head, ...new B().u32(6).u32(4096).bytes()], /exceeds the maximum block size 1024/, at, 1024);
  });
  it('EPB captured length beyond its block, EPB before any IDB', () => {
    fails([...head, ...epb(true, 0, 0, 0, [1, 2, 3, 4], 4, 5)], /captured length 5 exceeds its block/, at);
    fails([...shb(), ...epb(true, 0, 0, 0, [])], /interface 0 but the section has 0/);
  });
  it('SHB with a bad byte-order magic, too short, or major version 2', () => {
    const bad = shb();
    bad[8] = 0x11;
    fails(bad, /bad byte-order magic/, 0);
    fails(block(true, 0x0a0d0d0a, new B().u32(0x1a2b3c4d).bytes()), /block length 16 < 28/, 0);
    fails(shb(true, 2), /version 2\.0 is not supported/, 0);
  });
  it('a hostile length in a later block is caught before its bytes arrive', () => {
    const r = new CaptureReader(() => {});
    r.push(Uint8Array.from(head));
    expect(() => r.push(Uint8Array.from(new B().u32(6).u32(0x7ffffff0).bytes()))).toThrow(
      expect.objectContaining({ code: 'OTW_ERR_CAPTURE_CORRUPT', offset: at }),
    );
    expect(r.bufferedCapacity()).toBeLessThan(1 << 20);
  });
});

describe('PcapWriter produces the byte vectors above (generate = parse)', () => {
  for (const le of [true, false]) {
    it(`SHB + IDB + EPB, ${le ? 'little' : 'big'}-endian`, () => {
      const w = new PcapWriter({ format: 'pcapng', bigEndian: !le, interfaces: [{ linkType: 1, snaplen: 65535 }] });
      // The tick count of the first vector (µs since the epoch, late 2023).
      const ticks = (0x00060a3bn << 32n) | 0x12345678n;
      const rec = w.record(Number(ticks / 1000000n), Number((ticks % 1000000n) * 1000n), Uint8Array.of(1, 2, 3), 60);
      expect([...w.header(), ...rec]).toEqual([...shb(le), ...idb(le, 1, 65535), ...epb(le, 0, 0x00060a3b, 0x12345678, [1, 2, 3], 60)]);
    });
  }
  it('IDB options if_name, if_tsresol, if_tsoffset', () => {
    const w = new PcapWriter({ format: 'pcapng', interfaces: [{ linkType: 1, snaplen: 0, name: 'eth0', tsresol: 9, tsoffset: 1000 }] });
    const le = true;
    expect([...w.header()]).toEqual([
      ...shb(),
      ...idb(le, 1, 0, [opt(le, 2, [...Buffer.from('eth0')]), opt(le, 9, [9]), opt(le, 14, new B(le).u32(1000).u32(0).bytes())]),
    ]);
  });
});
