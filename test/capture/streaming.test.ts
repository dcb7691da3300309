/**
 * Streaming properties (STYLE.md habit 11): the same bytes pushed in every chunk size, at random
 * split points and cut at every offset give the same packets; a cut inside a record is reported
 * as `truncated`, never thrown. Non-captures and unreadable inputs give the stable error codes.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CaptureReader, CaptureError, readCapture } from '../../collectors/capture/reader.js';
import { writeCapture } from '../../collectors/capture/writer.js';
import { CORPUS, fingerprint, prng, readChunked, readSplit } from './helpers.js';

/** A multi-section pcapng: LE section (Ethernet + null, µs/ns), then BE section (raw IP, 2^-20 s). */
function multiSection(): Uint8Array {
  const rnd = prng(7);
  const data = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
  const a = writeCapture(
    [
      { tsSec: 1_700_000_000, tsNsec: 123_456_000, data: data(60) },
      { tsSec: 1_700_000_001, tsNsec: 999_999_999, data: data(33), origLen: 1500, ifIndex: 1 },
      { tsSec: 1_700_000_002, tsNsec: 5, data: data(0), ifIndex: 1 },
    ],
    { format: 'pcapng', interfaces: [{ linkType: 1, name: 'eth0' }, { linkType: 0, tsresol: 9 }] },
  );
  const b = writeCapture(
    [
      { tsSec: 1_800_000_000, tsNsec: 500_000_000, data: data(101) },
      { tsSec: 1_800_000_003, tsNsec: 0, data: data(7) },
    ],
    { format: 'pcapng', bigEndian: true, interfaces: [{ linkType: 101, tsresol: 0x80 | 20 }] },
  );
  return Buffer.concat([a, b]);
}

/** Independent walk of the unit boundaries (end offsets) and which of them end a packet. */
function unitEnds(buf: Uint8Array): { ends: number[]; packetEnds: number[] } {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const ends: number[] = [];
  const packetEnds: number[] = [];
  if (buf[0] === 0x0a) {
    let le = true;
    for (let o = 0; o < buf.length; ) {
      if (dv.getUint32(o) === 0x0a0d0d0a) le = dv.getUint32(o + 8, true) === 0x1a2b3c4d;
      const type = dv.getUint32(o, le);
      const len = dv.getUint32(o + 4, le);
      o += len;
      ends.push(o);
      if (type === 6 || type === 3 || type === 2) packetEnds.push(o);
    }
  } else {
    const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
    ends.push(24);
    for (let o = 24; o < buf.length; ) {
      o += 16 + dv.getUint32(o + 8, le);
      ends.push(o);
      packetEnds.push(o);
    }
  }
  return { ends, packetEnds };
}

const inputs: Record<string, Uint8Array> = {
  'pcap (LE, µs, Ethernet)': readFileSync(join(CORPUS, 'suricata-verify/mqtt31-pub-qos1__input.pcap')),
  'pcapng (LE, Ethernet, options)': readFileSync(join(CORPUS, 'nDPI/cfgs__default__pcap__mqtt.pcap')),
  'pcapng (two sections, LE then BE)': multiSection(),
  'pcap (BE, ns)': writeCapture(
    [
      { tsSec: 1, tsNsec: 2, data: Uint8Array.of(1, 2, 3) },
      { tsSec: 4_000_000_000, tsNsec: 999_999_999, data: new Uint8Array(70).fill(9), origLen: 9000 },
    ],
    { bigEndian: true, nanosecond: true, linkType: 228 },
  ),
};

describe.each(Object.entries(inputs))('%s', (_name, buf) => {
  const ref = readSplit(buf);
  const refPrint = fingerprint(ref.packets);

  it('reads completely as one chunk', () => {
    expect(ref.summary.truncated).toBeNull();
    expect(ref.packets.length).toBe(unitEnds(buf).packetEnds.length);
    expect(ref.packets.length).toBeGreaterThan(1);
    expect(ref.packets.map((p) => p.frame)).toEqual(ref.packets.map((_, i) => i + 1));
  });

  it('gives identical packets for every chunk size 1..300 and the whole length', () => {
    for (let size = 1; size <= Math.min(300, buf.length); size++) {
      const got = readChunked(buf, size);
      expect(fingerprint(got.packets)).toBe(refPrint);
      expect(got.summary).toEqual(ref.summary);
    }
  });

  it('gives identical packets at 300 sets of random split points', () => {
    const rnd = prng(buf.length);
    for (let i = 0; i < 300; i++) {
      const n = Math.floor(rnd() * 12);
      const cuts = Array.from({ length: n }, () => Math.floor(rnd() * (buf.length + 1))).sort((a, b) => a - b);
      const got = readSplit(buf, cuts);
      expect(fingerprint(got.packets)).toBe(refPrint);
      expect(got.summary).toEqual(ref.summary);
    }
  });

  it('cut at every offset: no throw, the complete packets, truncated iff mid-unit', () => {
    const { ends, packetEnds } = unitEnds(buf);
    expect(ends[ends.length - 1]).toBe(buf.length);
    for (let cut = 0; cut <= buf.length; cut++) {
      // Also split the cut input in two, so carry assembly is exercised at the cut.
      const got = readSplit(buf.subarray(0, cut), cut > 2 ? [cut >> 1] : []);
      const complete = packetEnds.filter((e) => e <= cut).length;
      expect(fingerprint(got.packets)).toBe(fingerprint(ref.packets.slice(0, complete)));
      const atBoundary = cut === 0 || ends.includes(cut);
      if (atBoundary) expect(got.summary.truncated).toBeNull();
      else {
        expect(got.summary.truncated).not.toBeNull();
        const start = Math.max(0, ...ends.filter((e) => e <= cut));
        expect(got.summary.truncated!.offset).toBe(start);
        expect(got.summary.truncated!.reason).toMatch(/input ended inside/);
      }
      expect(got.summary.format).toBe(cut < 4 ? null : ref.summary.format);
    }
  });
});

describe('records spanning chunks', () => {
  it('zero-copy views into the pushed chunk when a record lies inside it; copies otherwise', () => {
    const buf = inputs['pcap (LE, µs, Ethernet)'];
    const views: boolean[] = [];
    const r = new CaptureReader((p) => views.push(p.data.buffer === buf.buffer));
    r.push(buf.subarray(0, 200));
    r.push(buf.subarray(200));
    r.end();
    expect(views.filter((v) => !v).length).toBe(1); // only the record cut at 200 was assembled
    expect(views.filter((v) => v).length).toBe(views.length - 1);
  });

  it('the carry buffer never grows past maxRecordSize (+ one record header)', () => {
    const big = writeCapture([{ tsSec: 0, tsNsec: 0, data: new Uint8Array(100_000) }]);
    const r = new CaptureReader(() => {}, { maxRecordSize: 100_016 });
    for (let o = 0; o < big.length; o += 1000) r.push(big.subarray(o, o + 1000));
    expect(r.end().packets).toBe(1);
    expect(r.bufferedCapacity()).toBeLessThanOrEqual(100_016 + 16);
    const r2 = new CaptureReader(() => {}, { maxRecordSize: 100_015 });
    expect(() => r2.push(big)).toThrow(expect.objectContaining({ code: 'OTW_ERR_CAPTURE_CORRUPT', offset: 24 }));
    expect(r2.bufferedCapacity()).toBeLessThanOrEqual(100_015 + 16);
  });
});

describe('not a capture, unreadable inputs', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'otw-notcap-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, Uint8Array][] = [
    ['a text file', Buffer.from('Hello, this is not a capture.\n')],
    ['an empty file', new Uint8Array(0)],
    ['a file of 3 bytes of a pcap magic', Uint8Array.of(0xd4, 0xc3, 0xb2)],
    ['a gzip file', Uint8Array.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3)],
    ['a pcap magic with one byte wrong', Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa2, 0, 0, 0, 0)],
  ];
  for (const [name, bytes] of cases) {
    it(`${name} → OTW_ERR_NOT_A_CAPTURE naming the file`, async () => {
      const f = join(dir, name.replace(/\W+/g, '_'));
      writeFileSync(f, bytes);
      await expect(readCapture(f, () => {})).rejects.toSatisfy(
        (e: unknown) => e instanceof CaptureError && e.code === 'OTW_ERR_NOT_A_CAPTURE' && e.message.includes(f),
      );
      await expect(readCapture(Readable.from([Buffer.from(bytes)]), () => {})).rejects.toMatchObject({ code: 'OTW_ERR_NOT_A_CAPTURE' });
    });
  }

  it('push() throws NOT_A_CAPTURE at the first byte that cannot start a magic', () => {
    const r = new CaptureReader(() => {});
    r.push(Uint8Array.of(0xa1));
    expect(() => r.push(Uint8Array.of(0xb2, 0x00))).toThrow(expect.objectContaining({ code: 'OTW_ERR_NOT_A_CAPTURE' }));
    // The reader stays failed.
    expect(() => r.push(Uint8Array.of(0))).toThrow(CaptureError);
  });

  it('a missing file → OTW_ERR_CAPTURE_IO naming the file and ENOENT', async () => {
    const f = join(dir, 'missing.pcap');
    await expect(readCapture(f, () => {})).rejects.toSatisfy(
      (e: unknown) => e instanceof CaptureError && e.code === 'OTW_ERR_CAPTURE_IO' && e.message.includes(f) && e.message.includes('ENOENT'),
    );
  });

  it('a directory → OTW_ERR_CAPTURE_IO', async () => {
    const d = join(dir, 'sub');
    mkdirSync(d);
    await expect(readCapture(d, () => {})).rejects.toMatchObject({ code: 'OTW_ERR_CAPTURE_IO' });
  });

  it('a stream that fails → OTW_ERR_CAPTURE_IO; an error from onPacket passes through unchanged', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    await expect(readCapture(failing, () => {})).rejects.toMatchObject({ code: 'OTW_ERR_CAPTURE_IO', message: expect.stringMatching(/disk on fire/) });
    const mine = new Error('consumer bug');
    await expect(
      readCapture(Readable.from([Buffer.from(inputs['pcap (BE, ns)'])]), () => {
        throw mine;
      }),
    ).rejects.toBe(mine);
  });

  it('a corrupt file → OTW_ERR_CAPTURE_CORRUPT naming the file, with the offset', async () => {
    const buf = Buffer.from(inputs['pcap (LE, µs, Ethernet)']);
    buf.writeUInt32LE(0x7fffffff, 24 + 8); // first record: incl_len 2 GiB
    const f = join(dir, 'hostile.pcap');
    writeFileSync(f, buf);
    await expect(readCapture(f, () => {})).rejects.toSatisfy(
      (e: unknown) => e instanceof CaptureError && e.code === 'OTW_ERR_CAPTURE_CORRUPT' && e.offset === 24 && e.message.includes(f),
    );
  });
});

describe("readCapture('-')", () => {
  it('reads standard input', async () => {
    const buf = inputs['pcap (BE, ns)'];
    const desc = Object.getOwnPropertyDescriptor(process, 'stdin')!;
    Object.defineProperty(process, 'stdin', { configurable: true, get: () => Readable.from([Buffer.from(buf.subarray(0, 50)), Buffer.from(buf.subarray(50))]) });
    try {
      const frames: number[] = [];
      const s = await readCapture('-', (p) => frames.push(p.frame));
      expect(s).toMatchObject({ format: 'pcap', packets: 2, truncated: null });
      expect(frames).toEqual([1, 2]);
    } finally {
      Object.defineProperty(process, 'stdin', desc);
    }
  });
});
