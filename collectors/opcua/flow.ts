/**
 * Per-flow OPC UA decoder, the StreamConsumer the dispatcher feeds: chunk framing on each side's
 * byte stream (buffering, resynchronisation after a gap or in mid-stream, oversize chunks skipped
 * unbuffered). It is the top of four layers, one job per file:
 *
 * - flow.ts (this file): bytes to complete chunks;
 * - channels.ts: chunks by message type, secure channels (policy, mode, sequence numbers,
 *   multi-chunk reassembly);
 * - service.ts: message bodies (type id, headers, service fields), request/response pairing,
 *   certificates;
 * - output.ts: capture time, flow reference and the event builders.
 *
 * Wire data never throws out of here: the framing, header and body decoders are total (a failed
 * read becomes MALFORMED_BODY in body.ts), and the flow boundary catches anything else as INTERNAL.
 */
import type { EventSink, FlowContext, FlowEnd, StreamConsumer } from '../types.js';
import { OpcuaChannels } from './channels.js';
import { HEADER_SIZE, MIN_MSG_SIZE, parseHeader } from './framing.js';
import type { OpcuaOptions } from './options.js';
import { u32le } from './reader.js';

interface Side {
  buf: Uint8Array;
  len: number;
  /** Stream offset of buf[0] (or of the next byte when len is 0). */
  base: number;
  synced: boolean;
  skip: number;
  skipped: number;
  started: boolean;
}

const EMPTY = new Uint8Array(0);

export class OpcuaFlow extends OpcuaChannels implements StreamConsumer {
  private readonly sides: [Side, Side];

  constructor(ctx: FlowContext, emit: EventSink, o: OpcuaOptions) {
    super(ctx, emit, o);
    const side = (): Side => ({ buf: EMPTY, len: 0, base: 0, synced: false, skip: 0, skipped: 0, started: false });
    this.sides = [side(), side()];
  }

  protected streamBase(sideNo: 0 | 1): number {
    return this.sides[sideNo].base;
  }

  data(sideNo: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    this.frame = frame;
    const s = this.sides[sideNo];
    if (s.skip > 0) {
      const n = Math.min(s.skip, bytes.length);
      s.skip -= n;
      s.base += n;
      bytes = bytes.subarray(n);
    }
    if (bytes.length === 0) return;
    let buf: Uint8Array;
    let end: number;
    if (s.len === 0) {
      buf = bytes; // zero-copy: most segments hold whole chunks
      end = bytes.length;
    } else {
      this.ensure(s, s.len + bytes.length);
      s.buf.set(bytes, s.len);
      s.len += bytes.length;
      buf = s.buf;
      end = s.len;
    }
    let used: number;
    try {
      used = this.parse(sideNo, s, buf, end);
    } catch (e) {
      // Defensive: a bug must not take the process down; report it and drop this side's buffer.
      this.malformed(sideNo, 'INTERNAL', s.base, String((e as Error)?.message ?? e).slice(0, 200));
      s.synced = false;
      used = end;
    }
    const rest = end - used;
    if (rest === 0) {
      s.len = 0;
      // Give a large buffer back once it is empty: idle flows must not keep a chunk's worth each.
      if (s.buf.length > 65536) s.buf = EMPTY;
    }
    else if (buf === s.buf) {
      s.buf.copyWithin(0, used, end);
      s.len = rest;
    } else {
      this.ensure(s, rest);
      s.buf.set(buf.subarray(used, end), 0);
      s.len = rest;
    }
    s.base += used;
  }

  gap(sideNo: 0 | 1, length: number, tsSec: number, tsNsec: number): void {
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    const s = this.sides[sideNo];
    // What is buffered can no longer be completed: resynchronise on the next chunk header.
    s.base += s.len + length;
    s.len = 0;
    s.skip = 0;
    s.synced = false;
    s.started = true;
    for (const ch of this.channels.values()) {
      for (const k of [...ch.partial[sideNo].keys()]) this.dropPartial(ch.partial[sideNo], k);
    }
  }

  end(_reason: FlowEnd, tsSec: number, tsNsec: number): void {
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    for (const p of this.pending.values()) this.unanswered(p, 'end');
    this.pending.clear();
    for (const s of this.sides) {
      s.len = 0;
      s.buf = EMPTY;
    }
  }

  private ensure(s: Side, n: number): void {
    if (s.buf.length >= n) return;
    let cap = Math.max(4096, s.buf.length * 2);
    while (cap < n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(s.buf.subarray(0, s.len));
    s.buf = nb;
  }

  /** Decode every complete chunk in buf[0..end); returns the bytes consumed. */
  private parse(sideNo: 0 | 1, s: Side, buf: Uint8Array, end: number): number {
    let pos = 0;
    const maxChunk = this.o.maxChunkSize;
    while (pos < end) {
      if (!s.synced) {
        const p = this.resync(buf, pos, end);
        if (p < 0) {
          // No chunk start found: keep the last bytes, a header may straddle the segment boundary.
          const keep = Math.min(HEADER_SIZE - 1, end - pos);
          s.skipped += end - keep - pos;
          return end - keep;
        }
        s.skipped += p - pos;
        pos = p;
        if (this.candidate(buf, pos, end) !== 1) return pos; // wait for the bytes that confirm it
        s.synced = true;
        if (s.skipped > 0) this.anomaly(sideNo, 'RESYNC', { skipped: s.skipped, offset: s.base + pos });
        s.skipped = 0;
        s.started = true;
      }
      // The common chunk, a final MSG chunk of an accepted size: what parseHeader would say, read
      // without its result objects (two allocations per chunk).
      if (end - pos >= HEADER_SIZE && buf[pos] === 0x4d && buf[pos + 1] === 0x53 && buf[pos + 2] === 0x47 && buf[pos + 3] === 0x46) {
        const size = u32le(buf, pos + 4);
        if (size >= MIN_MSG_SIZE && size <= maxChunk && size <= this.o.maxMessageSize) {
          if (end - pos < size) return pos;
          s.started = true;
          this.chunk(sideNo, buf, pos, 'MSG', 'F', size);
          pos += size;
          continue;
        }
      }
      const h = parseHeader(buf, pos, end, 0xffffffff);
      if (!h.ok) {
        if ('needMore' in h) return pos;
        this.malformed(sideNo, h.error, s.base + pos);
        s.synced = false;
        pos += 1;
        continue;
      }
      const { size } = h.value;
      if (size > this.o.maxMessageSize) {
        // A size this large cannot be a chunk we accept: treat as lost framing.
        this.malformed(sideNo, 'BAD_SIZE', s.base + pos, `size ${size}`);
        s.synced = false;
        pos += 1;
        continue;
      }
      if (size > maxChunk) {
        // Oversize: report and skip its bytes, never buffer them (Suricata's TRUNCATED).
        this.emitEvent(sideNo, h.value.type, { chunk: h.value.chunk, size, error: 'CHUNK_TOO_LARGE', skippedLength: size }, 'MALFORMED');
        const avail = Math.min(size, end - pos);
        s.skip = size - avail;
        pos += avail;
        continue;
      }
      if (end - pos < size) return pos;
      s.started = true;
      this.chunk(sideNo, buf, pos, h.value.type, h.value.chunk, size);
      pos += size;
    }
    return pos;
  }

  /** First offset >= pos where a plausible chunk header starts, or -1. */
  private resync(buf: Uint8Array, pos: number, end: number): number {
    for (let p = pos; p < end; p++) {
      const c = buf[p];
      // First letters of HEL ACK ERR RHE OPN MSG CLO.
      if (c !== 0x48 && c !== 0x41 && c !== 0x45 && c !== 0x52 && c !== 0x4f && c !== 0x4d && c !== 0x43) continue;
      const v = this.candidate(buf, p, end);
      if (v !== 0) return p;
    }
    return -1;
  }

  /**
   * Is there a chunk starting at p? 1 yes, 0 no, -1 need more bytes. A header alone is weak
   * evidence in mid-stream (the letters "MSGF" may sit inside a string), so the next chunk's
   * header must follow it, or the data must end exactly where the chunk does.
   */
  private candidate(buf: Uint8Array, p: number, end: number): number {
    const h = parseHeader(buf, p, end, this.o.maxChunkSize);
    if (!h.ok) return 'needMore' in h ? -1 : 0;
    const { type, size } = h.value;
    if ((type === 'MSG' || type === 'CLO') && this.channels.size > 0) {
      if (end - p < 12) return -1;
      if (!this.channels.has(u32le(buf, p + 8))) return 0;
    }
    const next = p + size;
    if (next === end) return 1;
    if (next > end) return -1;
    if (end - next < HEADER_SIZE) return -1;
    return parseHeader(buf, next, end, this.o.maxChunkSize).ok ? 1 : 0;
  }
}
