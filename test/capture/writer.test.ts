/** PcapWriter: streaming output with backpressure, and tshark reading what it writes. */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCapture } from '../../collectors/capture/reader.js';
import { PcapWriter, writeCapture, type PcapWriterOptions } from '../../collectors/capture/writer.js';
import { copyPacket, fingerprint, prng, tool, tsharkFrames, type Pkt } from './helpers.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'otw-writer-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function records(n: number, ifaces: number, seed: number): { tsSec: number; tsNsec: number; data: Uint8Array; origLen: number; ifIndex: number }[] {
  const rnd = prng(seed);
  return Array.from({ length: n }, (_, i) => {
    const data = new Uint8Array(Math.floor(rnd() * 300));
    let x = Math.floor(rnd() * 0xffffffff);
    for (let k = 0; k < data.length; k++) data[k] = x = (Math.imul(x, 1103515245) + 12345) >>> 8;
    return { tsSec: 1_600_000_000 + i, tsNsec: Math.floor(rnd() * 1e9), data, origLen: data.length + Math.floor(rnd() * 3), ifIndex: i % ifaces };
  });
}

async function readAll(file: string): Promise<Pkt[]> {
  const out: Pkt[] = [];
  await readCapture(file, (p) => out.push(copyPacket(p)));
  return out;
}

describe('PcapWriter streaming', () => {
  for (const format of ['pcap', 'pcapng'] as const) {
    it(`${format}: 20k records through a file stream (several 1 MiB batches) read back identically`, async () => {
      const recs = records(20_000, format === 'pcap' ? 1 : 2, 3);
      const opts: PcapWriterOptions = format === 'pcap' ? { nanosecond: true } : { format, interfaces: [{ linkType: 1, tsresol: 9 }, { linkType: 0, tsresol: 9 }] };
      const file = join(dir, `stream.${format}`);
      const w = new PcapWriter(opts, createWriteStream(file, { highWaterMark: 64 * 1024 }));
      let waits = 0;
      for (const r of recs) {
        const p = w.write(r.tsSec, r.tsNsec, r.data, r.origLen, r.ifIndex);
        if (p) {
          waits++;
          await p;
        }
      }
      await w.end();
      expect(waits).toBeGreaterThan(0); // the stream pushed back at least once
      const got = await readAll(file);
      const want: Pkt[] = recs.map((r, i) => ({ ...r, frame: i + 1, linkType: format === 'pcap' ? 1 : r.ifIndex === 0 ? 1 : 0 }));
      expect(fingerprint(got)).toBe(fingerprint(want));
      expect((await tool('capinfos', ['-T', '-r', '-c', file])).trim().split('\t')[1]).toBe('20000');
    });
  }

  it('an empty capture still gets its header', async () => {
    const file = join(dir, 'empty.pcapng');
    const w = new PcapWriter({ format: 'pcapng' }, createWriteStream(file));
    await w.end();
    const s = await readCapture(file, () => {});
    expect(s).toMatchObject({ format: 'pcapng', packets: 0, truncated: null, interfaces: [{ linkType: 1 }] });
  });
});

describe('tshark reads PcapWriter output as we do', () => {
  const cases: [string, PcapWriterOptions][] = [
    ['pcap µs LE', {}],
    ['pcap ns BE', { nanosecond: true, bigEndian: true }],
    ['pcapng EPB, two interfaces, ns and µs, BE', { format: 'pcapng', bigEndian: true, interfaces: [{ linkType: 1, tsresol: 9, name: 'a' }, { linkType: 0 }] }],
    ['pcapng EPB, if_tsresol 10^-3 and if_tsoffset', { format: 'pcapng', interfaces: [{ linkType: 1, tsresol: 3, tsoffset: 1_500_000_000 }, { linkType: 1 }] }],
    ['pcapng obsolete PB', { format: 'pcapng', packetBlock: 'pb', interfaces: [{ linkType: 1 }, { linkType: 1, tsresol: 9 }] }],
    ['pcapng SPB with snaplen 100', { format: 'pcapng', packetBlock: 'spb', snaplen: 100 }],
  ];
  for (const [name, opts] of cases) {
    it(name, async () => {
      const n = opts.interfaces ? opts.interfaces.length : 1;
      // An SPB has no captured length: it is the whole frame cut to the snaplen.
      const recs = records(50, n, 11).map((r) => (opts.packetBlock === 'spb' ? { ...r, origLen: r.data.length } : r));
      const file = join(dir, name.replace(/\W+/g, '_'));
      writeFileSync(file, writeCapture(recs, opts));
      const got = await readAll(file);
      const ref = await tsharkFrames(file);
      expect(got.map((p) => ({ frame: p.frame, sec: p.tsSec, nsec: p.tsNsec, len: p.origLen, capLen: p.data.length }))).toEqual(ref);
      if (opts.packetBlock === 'spb') {
        expect(Math.max(...got.map((p) => p.data.length))).toBe(100);
        expect(got.map((p) => p.origLen)).toEqual(recs.map((r) => r.data.length));
      }
    });
  }
});

describe('uncommon if_tsresol values against tshark', () => {
  it('2^-20 and 2^-30 s ticks: equal to tshark', async () => {
    for (const tsresol of [0x80 | 20, 0x80 | 30]) {
      const recs = records(20, 1, tsresol);
      const file = join(dir, `tsresol-${tsresol}.pcapng`);
      writeFileSync(file, writeCapture(recs, { format: 'pcapng', interfaces: [{ linkType: 1, tsresol }] }));
      const got = await readAll(file);
      const ref = await tsharkFrames(file);
      expect(got.map((p) => [p.tsSec, p.tsNsec])).toEqual(ref.map((r) => [r.sec, r.nsec]));
    }
  });

  it('10^-12 s ticks: seconds equal; tshark 4.0 overflows uint64 in (ticks % units) * 10^9, we do not', async () => {
    const recs = records(20, 1, 12);
    const file = join(dir, 'tsresol-12.pcapng');
    writeFileSync(file, writeCapture(recs, { format: 'pcapng', interfaces: [{ linkType: 1, tsresol: 12 }] }));
    const got = await readAll(file);
    const ref = await tsharkFrames(file);
    const units = 10n ** 12n;
    recs.forEach((r, i) => {
      // What the file holds: the 64-bit tick count (sec × 10^12 does not fit: it wraps).
      const t = BigInt.asUintN(64, BigInt(r.tsSec) * units + (BigInt(r.tsNsec) * units) / 1000000000n);
      expect(got[i].tsSec).toBe(ref[i].sec);
      expect(got[i].tsSec).toBe(Number(t / units));
      expect(got[i].tsNsec).toBe(Number(((t % units) * 1000000000n) / units)); // exact
      expect(ref[i].nsec).toBe(Number(BigInt.asUintN(64, (t % units) * 1000000000n) / units)); // tshark's overflow
    });
  });
});
