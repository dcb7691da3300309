/** Shared helpers of the capture-reader tests: tshark as the reference, packet collection. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { RawPacket } from '../../collectors/types.js';
import { CaptureReader, type CaptureSummary } from '../../collectors/capture/reader.js';
import { CORPUS_DIR } from '../support/corpus.js';

const run = promisify(execFile);

export const CORPUS = CORPUS_DIR;

/** Every capture file of the shared corpus (sorted, absolute paths). */
export function corpusFiles(): string[] {
  const out: string[] = [];
  for (const d of readdirSync(CORPUS, { withFileTypes: true })) {
    if (!d.isDirectory()) continue;
    for (const f of readdirSync(join(CORPUS, d.name))) if (/\.(pcap|pcapng|cap)$/.test(f)) out.push(join(CORPUS, d.name, f));
  }
  return out.sort();
}

export interface RefFrame {
  frame: number;
  sec: number;
  nsec: number;
  len: number;
  capLen: number;
}

/** Parse tshark's frame.time_epoch ("1461170596.223360000") into integer seconds and ns. */
export function parseEpoch(s: string): { sec: number; nsec: number } {
  const neg = s.startsWith('-');
  const [a, b = ''] = (neg ? s.slice(1) : s).split('.');
  const sec = Number(a);
  const nsec = Number((b + '000000000').slice(0, 9));
  return neg ? { sec: -sec - (nsec ? 1 : 0), nsec: nsec ? 1e9 - nsec : 0 } : { sec, nsec };
}

/** tshark's view of every frame: number, epoch time, wire length, captured length. */
export async function tsharkFrames(file: string): Promise<RefFrame[]> {
  const { stdout } = await run(
    'tshark',
    ['-n', '-r', file, '-T', 'fields', '-E', 'separator=\t', '-e', 'frame.number', '-e', 'frame.time_epoch', '-e', 'frame.len', '-e', 'frame.cap_len'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [n, t, len, cap] = l.split('\t');
      const { sec, nsec } = parseEpoch(t);
      return { frame: Number(n), sec, nsec, len: Number(len), capLen: Number(cap) };
    });
}

export async function tool(cmd: string, args: string[]): Promise<string> {
  const { stdout } = await run(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** A RawPacket copied out of the callback (the reader reuses its object and buffer). */
export interface Pkt {
  frame: number;
  tsSec: number;
  tsNsec: number;
  origLen: number;
  linkType: number;
  ifIndex: number;
  data: Uint8Array;
}

export function copyPacket(p: RawPacket): Pkt {
  return { frame: p.frame, tsSec: p.tsSec, tsNsec: p.tsNsec, origLen: p.origLen, linkType: p.linkType, ifIndex: p.ifIndex, data: new Uint8Array(p.data) }; // a copy (Buffer#slice would be a view)
}

/** Push `buf` through a CaptureReader cut at the given split points; returns packets and summary. */
export function readSplit(buf: Uint8Array, cuts: number[] = [], maxRecordSize?: number): { packets: Pkt[]; summary: CaptureSummary } {
  const packets: Pkt[] = [];
  const r = new CaptureReader((p) => packets.push(copyPacket(p)), maxRecordSize ? { maxRecordSize } : {});
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    r.push(buf.subarray(prev, c));
    prev = c;
  }
  return { packets, summary: r.end() };
}

/** Push `buf` in chunks of `size` bytes. */
export function readChunked(buf: Uint8Array, size: number): { packets: Pkt[]; summary: CaptureSummary } {
  const cuts: number[] = [];
  for (let o = size; o < buf.length; o += size) cuts.push(o);
  return readSplit(buf, cuts);
}

export { prng } from '../support/prng.js';

/** A digest of packets (metadata and contents), to compare many runs quickly. */
export function fingerprint(packets: Pkt[]): string {
  const h = createHash('sha256');
  for (const p of packets) {
    h.update(`${p.frame}|${p.tsSec}|${p.tsNsec}|${p.origLen}|${p.linkType}|${p.ifIndex}|${p.data.length}|`);
    h.update(p.data);
  }
  return `${packets.length}:${h.digest('hex')}`;
}

/**
 * Every frame's bytes as tshark shows them (`-x`). Packets are separated by blank lines; a packet
 * with several data sources starts with "Frame (N bytes):" and its other sources follow under
 * their own "... (N bytes):" headers, which are skipped.
 */
export async function tsharkBytes(file: string): Promise<Uint8Array[]> {
  const text = await tool('tshark', ['-n', '-r', file, '-x']);
  const out: Uint8Array[] = [];
  for (const block of text.split('\n\n')) {
    if (block.trim() === '') continue;
    const bytes: number[] = [];
    const lines = block.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      if (/bytes\):$/.test(l)) {
        if (i === 0) continue; // "Frame (N bytes):"
        break; // a reassembled or decompressed source: not the frame
      }
      const m = /^[0-9a-f]{4,} {2}((?:[0-9a-f]{2} ?){1,16})/.exec(l);
      if (!m) throw new Error(`unexpected tshark -x line: ${l}`);
      for (const h of m[1].trim().split(' ')) bytes.push(parseInt(h, 16));
    }
    out.push(Uint8Array.from(bytes));
  }
  return out;
}
