/**
 * Differential tests against tshark on every capture of the shared corpus, and on variants of
 * them: converted by editcap (pcapng, ns pcap), merged by mergecap (two link types), and
 * re-written big-endian by our writer.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { readCapture, type CaptureSummary } from '../../collectors/capture/reader.js';
import { writeCapture } from '../../collectors/capture/writer.js';
import { copyPacket, corpusFiles, tool, tsharkBytes, tsharkFrames, type Pkt, type RefFrame } from './helpers.js';

const files = corpusFiles();
let tmp = '';
const expected = new Map<string, RefFrame[]>();
const ours = new Map<string, { packets: Pkt[]; summary: CaptureSummary }>();

async function readFile(file: string | NodeJS.ReadableStream): Promise<{ packets: Pkt[]; summary: CaptureSummary }> {
  const packets: Pkt[] = [];
  const summary = await readCapture(file, (p) => packets.push(copyPacket(p)));
  return { packets, summary };
}

function compare(got: { packets: Pkt[]; summary: CaptureSummary }, ref: RefFrame[]): void {
  expect(got.summary.truncated).toBeNull();
  expect(got.summary.packets).toBe(ref.length);
  expect(got.packets.length).toBe(ref.length);
  const mine = got.packets.map((p) => ({ frame: p.frame, sec: p.tsSec, nsec: p.tsNsec, len: p.origLen, capLen: p.data.length }));
  expect(mine).toEqual(ref);
  expect(got.summary.bytes).toBe(ref.reduce((s, r) => s + r.capLen, 0));
}

function sameContents(a: Pkt[], b: Pkt[]): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    expect(a[i].linkType).toBe(b[i].linkType);
    expect(Buffer.compare(a[i].data, b[i].data)).toBe(0);
  }
}

/** Run `fn` over items two at a time (the machine has 2 cores). */
async function pool<T>(items: T[], fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async (): Promise<void> => {
    while (i < items.length) await fn(items[i++]);
  };
  await Promise.all([worker(), worker()]);
}

/**
 * tshark takes ~0.3 s to start, so it runs once, on all corpus files concatenated by mergecap
 * (`-a`: records in file order, unchanged); capinfos' per-file counts cut its output back into
 * files, frame numbers renumbered from 1. A few files are also checked with tshark one by one.
 */
async function tsharkAll(): Promise<void> {
  const all = join(tmp, 'all.pcapng');
  await tool('mergecap', ['-a', '-F', 'pcapng', '-w', all, ...files]);
  const counts = (await tool('capinfos', ['-T', '-r', '-c', ...files]))
    .trim()
    .split('\n')
    .map((l) => Number(l.split('\t')[1]));
  expect(counts.length).toBe(files.length);
  const frames = await tsharkFrames(all);
  expect(frames.length).toBe(counts.reduce((a, b) => a + b, 0));
  let at = 0;
  files.forEach((f, i) => {
    expected.set(
      f,
      frames.slice(at, at + counts[i]).map((r, k) => ({ ...r, frame: k + 1 })),
    );
    at += counts[i];
  });
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'otw-capture-'));
  await tsharkAll();
  await pool(files, async (f) => {
    ours.set(f, await readFile(f));
    await tool('editcap', ['-F', 'pcapng', f, join(tmp, basename(f) + '.pcapng')]);
    await tool('editcap', ['-F', 'nsecpcap', f, join(tmp, basename(f) + '.ns.pcap')]);
  });
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('corpus against tshark', () => {
  it('has captures in both formats and both link types', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    const formats = new Set([...ours.values()].map((o) => o.summary.format));
    expect(formats).toEqual(new Set(['pcap', 'pcapng']));
    const lts = new Set([...ours.values()].flatMap((o) => o.summary.interfaces.map((i) => i.linkType)));
    expect(lts.has(1) && lts.has(0)).toBe(true);
  });

  for (const f of files) {
    it(`${basename(f)}: frames, timestamps and lengths equal tshark's`, () => {
      compare(ours.get(f)!, expected.get(f)!);
    });
  }

  it('packet contents equal tshark -x for every frame of the corpus', async () => {
    const ref = await tsharkBytes(join(tmp, 'all.pcapng'));
    const mine = files.flatMap((f) => ours.get(f)!.packets.map((p) => p.data));
    expect(ref.length).toBe(mine.length);
    let differing = 0;
    for (let i = 0; i < ref.length; i++) if (Buffer.compare(ref[i], mine[i]) !== 0) differing++;
    expect(differing).toBe(0);
  });

  it('tshark run on single files agrees with the concatenated run', async () => {
    for (const f of [files[0], files[files.length - 1], files[Math.floor(files.length / 2)]]) {
      const ref = await tsharkFrames(f);
      expect(ref).toEqual(expected.get(f));
      compare(ours.get(f)!, ref);
    }
  });
});

describe('editcap conversions give the same packets', () => {
  for (const f of files) {
    it(`${basename(f)} as pcapng and as ns pcap`, async () => {
      const ng = await readFile(join(tmp, basename(f) + '.pcapng'));
      expect(ng.summary.format).toBe('pcapng');
      compare(ng, expected.get(f)!);
      sameContents(ng.packets, ours.get(f)!.packets);
      const ns = await readFile(join(tmp, basename(f) + '.ns.pcap'));
      expect(ns.summary.format).toBe('pcap');
      expect(ns.summary.interfaces[0].tsresolNs).toBe(1);
      compare(ns, expected.get(f)!);
      sameContents(ns.packets, ours.get(f)!.packets);
    });
  }
});

describe('big-endian files written by PcapWriter', () => {
  for (const f of files) {
    it(`${basename(f)} big-endian pcap (ns) and pcapng (ns) read the same`, async () => {
      const src = ours.get(f)!;
      const lt = src.summary.interfaces[0].linkType;
      const recs = src.packets.map((p) => ({ tsSec: p.tsSec, tsNsec: p.tsNsec, data: p.data, origLen: p.origLen }));
      for (const format of ['pcap', 'pcapng'] as const) {
        const buf = writeCapture(recs, { format, bigEndian: true, nanosecond: true, linkType: lt });
        const file = join(tmp, `${basename(f)}.be.${format}`);
        writeFileSync(file, buf);
        const got = await readFile(file);
        expect(got.summary.format).toBe(format);
        compare(got, expected.get(f)!);
        sameContents(got.packets, src.packets);
      }
    });
  }

  it('tshark reads our big-endian output like the original (the writer is right)', async () => {
    for (const f of files.slice(0, 3)) {
      for (const format of ['pcap', 'pcapng']) {
        expect(await tsharkFrames(join(tmp, `${basename(f)}.be.${format}`))).toEqual(expected.get(f));
      }
    }
  });
});

describe('mergecap: one pcapng with an Ethernet and a null-link interface', () => {
  it('frames, interfaces and link types equal tshark', async () => {
    const eth = files.find((f) => ours.get(f)!.summary.interfaces[0].linkType === 1 && ours.get(f)!.packets.length > 20)!;
    const nul = files.find((f) => ours.get(f)!.summary.interfaces[0].linkType === 0 && ours.get(f)!.packets.length > 20)!;
    const merged = join(tmp, 'merged.pcapng');
    await tool('mergecap', ['-F', 'pcapng', '-w', merged, eth, nul]);
    const got = await readFile(merged);
    expect(got.summary.interfaces.map((i) => i.linkType)).toEqual([1, 0]);
    compare(got, await tsharkFrames(merged));
    const ref = (await tool('tshark', ['-n', '-r', merged, '-T', 'fields', '-e', 'frame.interface_id', '-e', 'frame.encap_type']))
      .trim()
      .split('\n')
      .map((l) => l.split('\t').map(Number));
    // frame.encap_type: 1 = WTAP_ENCAP_ETHERNET, 15 = WTAP_ENCAP_NULL.
    const encap: Record<number, number> = { 1: 1, 0: 15 };
    expect(got.packets.map((p) => [p.ifIndex, encap[p.linkType]])).toEqual(ref);
    expect(new Set(got.packets.map((p) => p.ifIndex))).toEqual(new Set([0, 1]));
  });
});

describe('readCapture inputs', () => {
  it('reads a Readable stream like the path', async () => {
    const f = files.find((x) => x.endsWith('mqtt-limit-2__input.pcap'))!;
    const got = await readFile(createReadStream(f, { highWaterMark: 777 }));
    compare(got, expected.get(f)!);
  });

  it('reports progress up to the file size', async () => {
    const f = files[0];
    const calls: [number, number | null][] = [];
    await readCapture(f, () => {}, { onProgress: (r, t) => calls.push([r, t]) });
    const size = Number((await tool('stat', ['-c', '%s', f])).trim());
    expect(calls.length).toBeGreaterThan(0);
    expect(calls[calls.length - 1]).toEqual([size, size]);
  });
});
