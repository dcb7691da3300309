/**
 * Measures the two ways to hand frames from the capture thread to a decode worker:
 * - ring: the SharedArrayBuffer SPSC ring of ring.ts (copy in, copy-free view out);
 * - batch: frames copied into 256 KiB ArrayBuffers transferred with postMessage.
 * The producer pushes N frames of `size` bytes as fast as it can, retrying (not dropping) when the
 * ring is full, so both figures are end-to-end frames/s including the consumer's reads.
 *
 * Run the compiled file: `node dist/collectors/live/ring-bench.js [frames] [size]`.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { createRing, RingConsumer, RingProducer, type RingBuffers } from './ring.js';

interface Init {
  mode: 'ring' | 'batch';
  ring?: RingBuffers;
  frames: number;
}

const BATCH = 256 * 1024;

function consumer(init: Init): void {
  const port = parentPort!;
  let n = 0;
  let sum = 0;
  if (init.mode === 'ring') {
    const c = new RingConsumer(init.ring!);
    while (n < init.frames) {
      if (c.pop()) {
        sum += c.record.data[0] + c.record.data.length;
        n++;
      } else c.wait(50);
    }
    c.release();
    port.postMessage({ n, sum });
    return;
  }
  port.on('message', (buf: ArrayBuffer) => {
    const v = new DataView(buf);
    const b = new Uint8Array(buf);
    let o = 0;
    while (o + 4 <= buf.byteLength) {
      const len = v.getUint32(o, true);
      if (len === 0) break;
      sum += b[o + 4] + len;
      n++;
      o += 4 + ((len + 3) & ~3);
    }
    if (n >= init.frames) {
      port.postMessage({ n, sum });
      port.close();
    }
  });
}

async function measure(mode: 'ring' | 'batch', frames: number, size: number): Promise<number> {
  const frame = new Uint8Array(size).fill(7);
  const ring = mode === 'ring' ? createRing(8192, 8192 * 2048) : undefined;
  const w = new Worker(new URL(import.meta.url), { workerData: { mode, ring, frames } satisfies Init });
  const done = new Promise<void>((resolve) => w.once('message', () => resolve()));
  const t0 = process.hrtime.bigint();
  if (ring) {
    const p = new RingProducer(ring);
    for (let i = 0; i < frames; i++) {
      while (!p.push(frame, size, 0, 0, i)) p.publish();
      if ((i & 63) === 0) p.publish();
    }
    p.publish();
  } else {
    let buf = new ArrayBuffer(BATCH);
    let b = new Uint8Array(buf);
    let v = new DataView(buf);
    let o = 0;
    const rec = 4 + ((size + 3) & ~3);
    for (let i = 0; i < frames; i++) {
      if (o + rec + 4 > BATCH) {
        w.postMessage(buf, [buf]);
        buf = new ArrayBuffer(BATCH);
        b = new Uint8Array(buf);
        v = new DataView(buf);
        o = 0;
      }
      v.setUint32(o, size, true);
      b.set(frame, o + 4);
      o += rec;
    }
    w.postMessage(buf, [buf]);
  }
  await done;
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  await w.terminate();
  return frames / secs;
}

if (isMainThread) {
  const frames = Number(process.argv[2] ?? 2_000_000);
  const size = Number(process.argv[3] ?? 160);
  for (const mode of ['ring', 'batch'] as const) {
    const rate = await measure(mode, frames, size);
    process.stdout.write(`${mode}: ${(rate / 1e6).toFixed(2)} M frames/s (${frames} frames of ${size} bytes)\n`);
  }
} else {
  consumer(workerData as Init);
}
