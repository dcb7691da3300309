/**
 * Classic pcap byte vectors. Section numbers: draft-ietf-opsawg-pcap-04 ("PCAP Capture File
 * Format"): §4 file header (magic 0xA1B2C3D4 µs / 0xA1B23C4D ns, SnapLen, LinkType and
 * additional information with the FCS bits), §5 packet record (timestamps, captured and
 * original packet length).
 */
import { describe, it, expect } from 'vitest';
import { CaptureReader } from '../../collectors/capture/reader.js';
import { PcapWriter, writeCapture } from '../../collectors/capture/writer.js';
import { readSplit } from './helpers.js';

function header(magic: number[], snaplen: number[], linktype: number[]): number[] {
  return [...magic, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...snaplen, ...linktype];
}

describe('pcap file header (§4)', () => {
  it('LE µs: d4 c3 b2 a1', () => {
    const bytes = [
      ...header([0xd4, 0xc3, 0xb2, 0xa1], [0xff, 0xff, 0, 0], [1, 0, 0, 0]),
      // §5 record: ts_sec 0x5f000001, ts_usec 999999, caplen 2, len 60
      ...[0x01, 0, 0, 0x5f, 0x3f, 0x42, 0x0f, 0, 2, 0, 0, 0, 60, 0, 0, 0, 0xaa, 0xbb],
    ];
    const { packets, summary } = readSplit(Uint8Array.from(bytes));
    expect(summary).toMatchObject({ format: 'pcap', packets: 1, bytes: 2, interfaces: [{ linkType: 1, snaplen: 65535, tsresolNs: 1000 }] });
    expect(packets[0]).toMatchObject({ frame: 1, tsSec: 0x5f000001, tsNsec: 999_999_000, origLen: 60, linkType: 1, ifIndex: 0 });
    expect([...packets[0].data]).toEqual([0xaa, 0xbb]);
  });

  it('BE ns: a1 b2 3c 4d; ts_sec as unsigned 32 bits', () => {
    const bytes = [
      ...header([0xa1, 0xb2, 0x3c, 0x4d], [0, 0, 0, 100], [0, 0, 0, 0]),
      ...[0xff, 0xff, 0xff, 0xff, 0x3b, 0x9a, 0xc9, 0xff, 0, 0, 0, 0, 0, 0, 0, 4],
    ];
    const { packets, summary } = readSplit(Uint8Array.from(bytes));
    expect(summary.interfaces).toEqual([{ linkType: 0, snaplen: 100, tsresolNs: 1 }]);
    expect(packets[0]).toMatchObject({ tsSec: 0xffffffff, tsNsec: 999_999_999, origLen: 4, linkType: 0 });
    expect(packets[0].data.length).toBe(0);
  });

  it('the FCS bits of the link-type field are masked off (LT_FCS_LENGTH_PRESENT, LT_FCS_LENGTH)', () => {
    // 0x24000001: FCS present (bit 26), FCS length 2 × 16 bits, link type 1.
    const bytes = header([0xd4, 0xc3, 0xb2, 0xa1], [0, 0, 4, 0], [0x01, 0, 0, 0x24]);
    const { summary } = readSplit(Uint8Array.from(bytes));
    expect(summary.interfaces[0]).toMatchObject({ linkType: 1, fcsLen: 4 });
    const w = writeCapture([], { linkType: 105, fcsLen: 4 });
    expect(w.readUInt32LE(20)).toBe(0x24000069);
    expect(readSplit(w).summary.interfaces[0].linkType).toBe(105);
  });

  it('a sub-second field of 1 s or more carries into the seconds', () => {
    const bytes = [...header([0xd4, 0xc3, 0xb2, 0xa1], [0, 0, 4, 0], [1, 0, 0, 0]), ...[10, 0, 0, 0, 0x40, 0x42, 0x0f, 0, 0, 0, 0, 0, 0, 0, 0, 0]];
    expect(readSplit(Uint8Array.from(bytes)).packets[0]).toMatchObject({ tsSec: 11, tsNsec: 0 });
  });

  it('captured length above snaplen is accepted (as libpcap and Wireshark do), origLen may be smaller', () => {
    const buf = writeCapture([{ tsSec: 1, tsNsec: 0, data: new Uint8Array(200), origLen: 10 }], { snaplen: 100 });
    const { packets } = readSplit(buf);
    expect([packets[0].data.length, packets[0].origLen]).toEqual([200, 10]);
  });
});

describe('pcap records (§5): lengths are checked before buffering', () => {
  const hdr = writeCapture([]);
  it('incl_len above maxRecordSize → CORRUPT with the record offset; nothing allocated', () => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(0xffffffff, 8);
    const r = new CaptureReader(() => {});
    r.push(hdr);
    expect(() => r.push(rec)).toThrow(expect.objectContaining({ code: 'OTW_ERR_CAPTURE_CORRUPT', offset: 24 }));
    expect(r.bufferedCapacity()).toBeLessThan(1 << 20);
    expect(r.end().truncated).toMatchObject({ offset: 24, reason: expect.stringMatching(/exceeds the maximum record size/) });
  });

  it('a record of exactly maxRecordSize (header included) is read, one byte more is not', () => {
    const w = new PcapWriter();
    const ok = Buffer.concat([hdr, w.record(0, 0, new Uint8Array(1000))]);
    expect(readSplit(ok, [30], 1016).summary.packets).toBe(1);
    expect(() => readSplit(ok, [30], 1015)).toThrow(expect.objectContaining({ code: 'OTW_ERR_CAPTURE_CORRUPT' }));
  });

  it('rejects a maxRecordSize option out of range', () => {
    expect(() => new CaptureReader(() => {}, { maxRecordSize: 10 })).toThrow(RangeError);
    expect(() => new CaptureReader(() => {}, { maxRecordSize: 1.5e9 * 2 })).toThrow(RangeError);
  });

  it('µs and ns writers round-trip timestamps at their precision, both byte orders', () => {
    for (const bigEndian of [false, true]) {
      for (const nanosecond of [false, true]) {
        const buf = writeCapture([{ tsSec: 1_700_000_000, tsNsec: 123_456_789, data: Uint8Array.of(1, 2) }], { bigEndian, nanosecond });
        const p = readSplit(buf).packets[0];
        expect([p.tsSec, p.tsNsec]).toEqual([1_700_000_000, nanosecond ? 123_456_789 : 123_456_000]);
      }
    }
  });
});

describe('an exception from onPacket', () => {
  it('propagates unchanged and leaves the reader failed (no packet delivered twice)', () => {
    const buf = writeCapture([1, 2, 3].map((i) => ({ tsSec: i, tsNsec: 0, data: Uint8Array.of(i) })));
    const seen: number[] = [];
    const boom = new Error('consumer bug');
    const r = new CaptureReader((p) => {
      seen.push(p.frame);
      if (p.frame === 2) throw boom;
    });
    expect(() => r.push(buf)).toThrow(boom);
    expect(() => r.push(Uint8Array.of(0))).toThrow(/onPacket threw \(consumer bug\)/);
    expect(seen).toEqual([1, 2]);
    expect(r.end().truncated).toMatchObject({ reason: expect.stringMatching(/onPacket threw/) });
  });
});
