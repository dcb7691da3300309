/**
 * Helpers for the live-capture tests: the frames of a capture file, a packet source that delivers
 * them in place of libpcap (everything after the source is the real code), and the reference
 * output of the file decoder.
 */
import { readCapture } from '../../collectors/capture/reader.js';
import { decodeCapture } from '../../collectors/pipeline.js';
import { defaultProtocols } from '../../collectors/protocols.js';
import type { FrameSink, PacketSource } from '../../collectors/live/source.js';
import type { LiveOptions } from '../../collectors/live/engine.js';

export interface Frame {
  data: Uint8Array;
  origLen: number;
  tsSec: number;
  tsNsec: number;
}

export async function loadFrames(file: string): Promise<{ linkType: number; frames: Frame[] }> {
  const frames: Frame[] = [];
  let linkType = -1;
  await readCapture(file, (p) => {
    linkType = p.linkType;
    frames.push({ data: p.data.slice(), origLen: p.origLen, tsSec: p.tsSec, tsNsec: p.tsNsec });
  });
  return { linkType, frames };
}

/**
 * A source that delivers `frames` in one synchronous burst right after it is opened (the way
 * libpcap hands over a batch), then reports `done`.
 */
export function burstSource(linkType: number, frames: Frame[]): { open: NonNullable<LiveOptions['openSource']>; done: Promise<void>; closed: () => boolean } {
  let closed = false;
  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  const open = async (_o: unknown, sink: FrameSink): Promise<PacketSource> => {
    setImmediate(() => {
      for (const f of frames) {
        if (closed) break;
        sink(f.data, f.origLen, f.tsSec, f.tsNsec);
      }
      finish();
    });
    return {
      linkType,
      name: 'burst',
      close: () => {
        closed = true;
      },
    };
  };
  return { open, done, closed: () => closed };
}

/** A collecting output stream (what the engine writes as stdout). */
export function collector(): { out: NodeJS.WritableStream; text: () => string } {
  const chunks: string[] = [];
  const out = {
    writableLength: 0,
    write(s: string) {
      chunks.push(s);
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  return { out, text: () => chunks.join('') };
}

/** `otwatch decode --format ndjson` of a file, as lines. */
export async function decodeLines(file: string): Promise<string[]> {
  const lines: string[] = [];
  await decodeCapture(file, (ev) => lines.push(JSON.stringify(ev)), { protocols: defaultProtocols() });
  return lines;
}

/**
 * A source that behaves like the patched binding: frames in batches of `batch` (one event-loop
 * turn each, `batchEnd` after each), and pause()/resume() that stop and restart delivery after
 * the batch in progress, the way frames then wait in the kernel buffer. With `honourPause` false
 * it counts pauses but goes on delivering (a misbehaving source: the backlog bound must hold).
 */
export function pausableSource(linkType: number, frames: Frame[], batch: number, honourPause = true): { open: NonNullable<LiveOptions['openSource']>; done: Promise<void>; pauses: () => number } {
  let closed = false;
  let paused = false;
  let pauses = 0;
  let next = 0;
  let finish!: () => void;
  const done = new Promise<void>((r) => {
    finish = r;
  });
  const open = async (o: { batchEnd?: () => void }, sink: FrameSink): Promise<PacketSource> => {
    const turn = () => {
      if (closed || (paused && honourPause)) return;
      for (const end = Math.min(frames.length, next + batch); next < end; next++) {
        const f = frames[next];
        sink(f.data, f.origLen, f.tsSec, f.tsNsec);
      }
      o.batchEnd?.();
      if (next < frames.length) setImmediate(turn);
      else finish();
    };
    setImmediate(turn);
    return {
      linkType,
      name: 'pausable',
      pause: () => {
        if (!paused) pauses++;
        paused = true;
      },
      resume: () => {
        if (!paused) return;
        paused = false;
        if (honourPause) setImmediate(turn);
      },
      close: () => {
        closed = true;
      },
    };
  };
  return { open, done, pauses: () => pauses };
}
