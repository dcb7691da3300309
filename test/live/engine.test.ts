/**
 * The live engine without root: frames of samples/plant-demo.pcap come from a burst source in
 * place of libpcap; sharding, the rings, the real worker threads (compiled once), output,
 * rotation and the drop accounting are the real code.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCapture } from '../../collectors/capture/reader.js';
import { LiveCapture } from '../../collectors/live/engine.js';
import { LiveError } from '../../collectors/live/errors.js';
import { checkInterface, loadCap } from '../../collectors/live/source.js';
import { buildLiveCli, ROOT } from './build.js';
import { burstSource, collector, decodeLines, loadFrames, pausableSource, type Frame } from './helpers.js';

const SAMPLE = join(ROOT, 'samples/plant-demo.pcap');
let linkType = 1;
let frames: Frame[] = [];
let reference: string[] = [];
let workerUrl: URL;
let buildDir = '';
const tmp = mkdtempSync(join(tmpdir(), 'otw-live-'));

beforeAll(async () => {
  ({ linkType, frames } = await loadFrames(SAMPLE));
  reference = await decodeLines(SAMPLE);
  const entry = await buildLiveCli('engine');
  buildDir = join(entry, '..', '..', '..');
  workerUrl = pathToFileURL(join(buildDir, 'collectors', 'live', 'worker.js'));
});

afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  if (buildDir) rmSync(buildDir, { recursive: true, force: true });
});

/** Counters as the interface would show them: `extra` frames more than the source delivered. */
function countersFor(src: Frame[], extra = 0) {
  let calls = 0;
  return () => ({ rxPackets: calls++ === 0 ? 0 : src.length + extra, rxDropped: 0 });
}

describe('live engine', () => {
  it('decodes on the capture thread exactly like otwatch decode (same lines, same order)', async () => {
    expect(reference.length).toBeGreaterThan(100);
    const src = burstSource(linkType, frames);
    const c = collector();
    const live = await LiveCapture.start({ iface: 'test0', format: 'ndjson', out: c.out, workers: 0, openSource: src.open, counters: countersFor(frames) });
    await src.done;
    const s = await live.stop();
    expect(c.text().trimEnd().split('\n')).toEqual(reference);
    expect(s).toMatchObject({ received: frames.length, notCaptured: 0, ifaceDropped: 0, queueDropped: 0, outputDropped: 0, messages: reference.length });
    expect(src.closed()).toBe(true);
  });

  it('decodes on two workers: every message once, each flow in order, no drop with a queue that holds the burst', async () => {
    const src = burstSource(linkType, frames);
    const c = collector();
    const live = await LiveCapture.start(
      { iface: 'test0', format: 'ndjson', out: c.out, workers: 2, queuePackets: frames.length, openSource: src.open, counters: countersFor(frames) },
      workerUrl,
    );
    await src.done;
    const s = await live.stop();
    const got = c.text().trimEnd().split('\n');
    expect([...got].sort()).toEqual([...reference].sort());
    // Per flow, the order is the file's order (a flow lives in one worker).
    const byFlow = (lines: string[]) => {
      const m = new Map<string, string[]>();
      for (const l of lines) {
        const f = (JSON.parse(l) as { flow: { src: string; sport: number; dst: string; dport: number } }).flow;
        const k = [`${f.src}:${f.sport}`, `${f.dst}:${f.dport}`].sort().join(' ');
        m.set(k, [...(m.get(k) ?? []), l]);
      }
      return m;
    };
    expect(byFlow(got)).toEqual(byFlow(reference));
    expect(s.queueDropped).toBe(0);
    expect(s.queueDroppedByWorker).toEqual([0, 0]);
    expect(s.pipeline.reduce((a, p) => a + p.packets, 0)).toBe(frames.length);
    // Both workers got flows (the sample has several).
    expect(s.pipeline.every((p) => p.packets > 0)).toBe(true);
    expect(s.messages).toBe(reference.length);
  });

  it('counts and reports what a tiny queue drops: received = decoded + dropped', async () => {
    const src = burstSource(linkType, frames);
    const c = collector();
    const live = await LiveCapture.start(
      { iface: 'test0', format: 'ndjson', out: c.out, workers: 1, queuePackets: 1, openSource: src.open, counters: countersFor(frames) },
      workerUrl,
    );
    await src.done;
    const s = await live.stop();
    const decoded = s.pipeline.reduce((a, p) => a + p.packets, 0);
    // The burst is pushed faster than one worker pops: a queue of one frame must lose most of it.
    expect(s.queueDropped).toBeGreaterThan(0);
    expect(decoded + s.queueDropped).toBe(s.received);
    expect(s.received).toBe(frames.length);
    expect(s.messages).toBeLessThan(reference.length);
    expect(c.text().trimEnd().split('\n').filter(Boolean).length).toBe(s.messages);
  });

  it('pauses a source that can pause when a queue is full, so a tiny queue loses nothing and the output is what decode gives', async () => {
    const src = pausableSource(linkType, frames, 64);
    const c = collector();
    const live = await LiveCapture.start(
      { iface: 'test0', format: 'ndjson', out: c.out, workers: 1, queuePackets: 64, openSource: src.open, counters: countersFor(frames) },
      workerUrl,
    );
    await src.done;
    const s = await live.stop();
    // The burst outruns the worker: the source had to wait, and nothing was lost.
    expect(src.pauses()).toBeGreaterThan(0);
    expect(s).toMatchObject({ received: frames.length, queueDropped: 0, messages: reference.length });
    expect(s.pipeline.reduce((a, p) => a + p.packets, 0)).toBe(frames.length);
    // One worker: the file's order exactly.
    expect(c.text().trimEnd().split('\n')).toEqual(reference);
  });

  it('bounds the backlog: frames a source delivers while asked to pause are dropped and counted once it is full', async () => {
    const src = pausableSource(linkType, frames, 64, false);
    const c = collector();
    const live = await LiveCapture.start(
      { iface: 'test0', format: 'ndjson', out: c.out, workers: 1, queuePackets: 1, backlogFrames: 8, openSource: src.open, counters: countersFor(frames) },
      workerUrl,
    );
    await src.done;
    const s = await live.stop();
    const decoded = s.pipeline.reduce((a, p) => a + p.packets, 0);
    expect(src.pauses()).toBeGreaterThan(0);
    expect(s.queueDropped).toBeGreaterThan(0);
    expect(decoded + s.queueDropped).toBe(frames.length);
    expect(s.received).toBe(frames.length);
    expect(c.text().trimEnd().split('\n').filter(Boolean).length).toBe(s.messages);
  });

  it('reports frames the interface received but we never got as kernel drops', async () => {
    const src = burstSource(linkType, frames);
    const live = await LiveCapture.start({ iface: 'test0', format: 'ndjson', out: collector().out, workers: 0, openSource: src.open, counters: countersFor(frames, 17) });
    await src.done;
    const s = await live.stop();
    expect(s.notCaptured).toBe(17);
    const filtered = burstSource(linkType, frames);
    const live2 = await LiveCapture.start({ iface: 'test0', filter: 'tcp', format: 'ndjson', out: collector().out, workers: 0, openSource: filtered.open, counters: countersFor(frames, 17) });
    await filtered.done;
    // With a BPF filter the interface counters cannot tell: reported as unknown, not as 0.
    expect((await live2.stop()).notCaptured).toBeNull();
  });

  it('takes kernel and interface drops from pcap_stats() when the binding has it, filter or not', async () => {
    const src = burstSource(linkType, frames);
    const open: NonNullable<Parameters<typeof LiveCapture.start>[0]['openSource']> = async (o, sink) => {
      const s = await src.open(o, sink);
      return { ...s, pcapStats: () => ({ received: frames.length + 5, dropped: 5, ifDropped: 2 }) };
    };
    const live = await LiveCapture.start({ iface: 'test0', filter: 'tcp', format: 'ndjson', out: collector().out, workers: 0, openSource: open, counters: countersFor(frames, 40) });
    await src.done;
    const s = await live.stop();
    expect(s).toMatchObject({ dropSource: 'pcap_stats', notCaptured: 5, ifaceDropped: 2, received: frames.length });
  });

  it('keeps the newest frames in rotating pcapng files within the size and count', async () => {
    const dir = join(tmp, 'rotate');
    const src = burstSource(linkType, frames);
    const live = await LiveCapture.start({
      iface: 'test0',
      format: 'ndjson',
      out: collector().out,
      workers: 0,
      openSource: src.open,
      counters: countersFor(frames),
      rotate: { dir, totalMB: 0.15, files: 2 },
    });
    await src.done;
    const s = await live.stop();
    const r = s.rotate!;
    expect(r.error).toBeNull();
    expect(r.packetsWritten).toBe(frames.length);
    expect(r.packetsDropped).toBe(0);
    expect(r.filesCreated).toBeGreaterThan(2);
    const files = readdirSync(dir).sort();
    expect(files.length).toBe(2);
    expect(r.filesCreated - r.filesDeleted).toBe(2);
    const kept: Frame[] = [];
    for (const f of files) {
      await readCapture(join(dir, f), (p) => kept.push({ data: p.data.slice(), origLen: p.origLen, tsSec: p.tsSec, tsNsec: p.tsNsec }));
    }
    // The kept files hold exactly the last frames, bytes and timestamps intact.
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(frames.length);
    const tail = frames.slice(frames.length - kept.length);
    expect(kept.map((k) => [k.tsSec, k.tsNsec, Buffer.from(k.data).toString('hex')])).toEqual(tail.map((k) => [k.tsSec, k.tsNsec, Buffer.from(k.data).toString('hex')]));
  });

  it('rejects bad options with a LiveError naming them', async () => {
    const open = burstSource(linkType, []).open;
    await expect(LiveCapture.start({ iface: 'x', format: 'ndjson', out: collector().out, workers: -1, openSource: open })).rejects.toThrow(/workers/);
    await expect(LiveCapture.start({ iface: 'x', format: 'ndjson', out: collector().out, queuePackets: 0, openSource: open })).rejects.toThrow(/queue/);
    await expect(
      LiveCapture.start({ iface: 'x', format: 'ndjson', out: collector().out, workers: 1, openSource: open }, new URL('file:///nonexistent/worker.js')),
    ).rejects.toThrow(/--workers 0/);
  });
});

describe('live source checks', () => {
  it('names apt-get install libpcap-dev and a rebuild when the binding cannot load', async () => {
    const e = await loadCap('otwatch-no-such-binding').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LiveError);
    expect((e as LiveError).code).toBe('OTW_ERR_LIBPCAP');
    expect((e as Error).message).toMatch(/apt-get install libpcap-dev.*npm rebuild cap/);
  });

  it('refuses an interface with addresses unless allowed, and an unknown one', () => {
    // Loopback always has 127.0.0.1.
    expect(() => checkInterface('lo', false)).toThrow(/has addresses \(.*127\.0\.0\.1.*--allow-addressed/);
    expect(() => checkInterface('lo', true)).not.toThrow();
    expect(() => checkInterface('otw-nosuch0', false)).toThrow(/no such interface/);
    expect(() => checkInterface('../etc', false)).toThrow(/no such interface/);
  });
});
