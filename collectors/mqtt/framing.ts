/**
 * Framing of one connection's two byte streams into MQTT messages (§2.1 fixed header): partial
 * messages across segments, oversize messages skipped unbuffered, resynchronisation after a gap or
 * a broken header. Complete messages go to a `FrameSink`; no event is built here.
 */
import { PACKET_NAMES, type MalformedCode } from './codes.js';
import { decodeFixedHeader } from './packets.js';
import { ANY_TYPE_MASK, findSync } from './sync.js';
import { readVarint } from './wire.js';

/** Receiver of framed messages and framing records. */
export interface FrameSink {
  /** A complete message b[at, at+total) with a fixed header of `hl` bytes; `base` is the stream offset of b[0]. */
  message(side: 0 | 1, b: Uint8Array, at: number, hl: number, total: number, base: number): void;
  malformed(side: 0 | 1, error: MalformedCode, offset: number, fields: Record<string, unknown>): void;
  /** A message over the size limit, skipped without buffering. */
  oversize(side: 0 | 1, type: number, total: number, offset: number): void;
}

/** Per-direction framing state. */
export class Side {
  /** Partial message (or resync window) bytes; `pendBase` is the stream offset of pend[0]. */
  pend: Uint8Array = new Uint8Array(0);
  pendLen = 0;
  pendBase = 0;
  /** Bytes still to skip (rest of an oversize message). */
  skip = 0;
  /** Looking for a frame boundary (mid-stream start, after a gap or a broken header). */
  hunting: boolean;
  /** Stream offset of the next byte delivered to this side (gaps included). */
  offset = 0;
  constructor(hunting: boolean) {
    this.hunting = hunting;
  }
  ensure(cap: number): void {
    if (this.pend.length >= cap) return;
    const n = new Uint8Array(Math.max(cap, Math.min(this.pend.length * 2, cap * 2), 256));
    n.set(this.pend.subarray(0, this.pendLen));
    this.pend = n;
  }
}

/** Both directions of a connection. */
export class Framer {
  readonly sides: [Side, Side];

  constructor(
    private readonly sink: FrameSink,
    private readonly maxMessageSize: number,
    private readonly maxResyncBytes: number,
    /** True when the connection start was not captured: look for a frame boundary first. */
    hunting: boolean,
  ) {
    this.sides = [new Side(hunting), new Side(hunting)];
  }

  /** Feed the next bytes of one direction. */
  data(side: 0 | 1, bytes: Uint8Array): void {
    this.dataAt(side, bytes, 0, bytes.length);
  }

  /** Feed the next bytes of one direction, `buf[off, off + len)`, without a view of them. */
  dataAt(side: 0 | 1, buf: Uint8Array, off: number, len: number): void {
    const s = this.sides[side];
    const base = s.offset;
    s.offset += len;
    // Offsets in the stream are `base + index`: with `base - off`, buf[off] is at stream offset `base`.
    this.ingest(side, s, buf, off, off + len, base - off);
  }

  /** `length` bytes lost; false when the stream must be resynchronised. */
  gap(side: 0 | 1, length: number): boolean {
    const s = this.sides[side];
    s.offset += length;
    if (s.skip >= length) {
      // The gap falls inside an oversize message being skipped: still in sync.
      s.skip -= length;
      return true;
    }
    this.lose(side);
    return false;
  }

  /** Forget the partial state of a direction and look for the next frame boundary. */
  lose(side: 0 | 1): void {
    const s = this.sides[side];
    s.skip = 0;
    s.pendLen = 0;
    s.hunting = true;
  }

  /** The partial message a direction holds at the end (its header, when complete), then forget it. */
  takePartial(side: 0 | 1): { type: number; length: number | null; captured: number } | null {
    const s = this.sides[side];
    const n = s.pendLen;
    s.pendLen = 0;
    if (n === 0 || s.hunting) return null;
    const h = decodeFixedHeader(s.pend, 0, n);
    return { type: h.ok ? h.value.type : s.pend[0] >> 4, length: h.ok ? h.value.headerLength + h.value.remaining : null, captured: n };
  }

  /** Frame bytes[start, n); `base` is the stream offset of bytes[0]. */
  private ingest(side: 0 | 1, s: Side, bytes: Uint8Array, start: number, n: number, base: number): void {
    let pos = start;
    if (s.skip > 0) {
      const k = Math.min(s.skip, n - pos);
      s.skip -= k;
      pos += k;
    }
    while (pos < n) {
      if (s.hunting) {
        this.append(s, bytes, pos, n, base);
        this.resync(side, s);
        return;
      }
      if (s.pendLen > 0) {
        pos = this.completePending(side, s, bytes, pos, n);
        continue;
      }
      const r = this.run(side, s, bytes, pos, n, base);
      if (s.hunting) {
        pos = r;
        continue;
      }
      if (s.skip > 0) return;
      if (r < n) {
        s.ensure(Math.min(n - r, this.maxMessageSize + 5));
        s.pend.set(bytes.subarray(r, n), 0);
        s.pendLen = n - r;
        s.pendBase = base + r;
      }
      return;
    }
  }

  /** Append bytes to the pending buffer (resync window), dropping its oldest bytes past the cap. */
  private append(s: Side, bytes: Uint8Array, pos: number, n: number, base: number): void {
    const cap = this.maxResyncBytes;
    let add = n - pos;
    if (s.pendLen === 0) s.pendBase = base + pos;
    if (add > cap) {
      pos = n - cap;
      add = cap;
      s.pendLen = 0;
      s.pendBase = base + pos;
    }
    if (s.pendLen + add > cap) {
      const drop = s.pendLen + add - cap;
      s.pend.copyWithin(0, drop, s.pendLen);
      s.pendLen -= drop;
      s.pendBase += drop;
    }
    s.ensure(s.pendLen + add);
    s.pend.set(bytes.subarray(pos, n), s.pendLen);
    s.pendLen += add;
  }

  /** Look for a frame boundary in the resync window; decode from there once found. */
  private resync(side: 0 | 1, s: Side): void {
    const maxSize = Math.min(this.maxMessageSize, this.maxResyncBytes >> 1);
    while (s.hunting && s.pendLen > 0) {
      const at = findSync(s.pend, 0, s.pendLen, ANY_TYPE_MASK, maxSize);
      if (at === -1) {
        // Nothing here can start a frame; keep the last 4 bytes (a header may straddle the next segment).
        const keep = Math.min(4, s.pendLen);
        this.dropFront(s, s.pendLen - keep);
        return;
      }
      if (at < -1) {
        const wait = -2 - at;
        if (wait > 0) this.dropFront(s, wait);
        if (s.pendLen >= this.maxResyncBytes) this.dropFront(s, 1);
        return;
      }
      if (at > 0) {
        this.sink.malformed(side, 'lost_sync', s.pendBase, { skipped: at });
        this.dropFront(s, at);
      }
      s.hunting = false;
      // Decode what the window holds; keep a trailing partial message.
      const len = s.pendLen;
      s.pendLen = 0;
      const r = this.run(side, s, s.pend, 0, len, s.pendBase);
      if (s.skip > 0) return;
      const rest = len - r;
      s.pend.copyWithin(0, r, len);
      s.pendLen = rest;
      s.pendBase += r;
    }
  }

  private dropFront(s: Side, k: number): void {
    if (k <= 0) return;
    s.pend.copyWithin(0, k, s.pendLen);
    s.pendLen -= k;
    s.pendBase += k;
  }

  /** Complete the partial message in `pend` from `bytes[pos..n)`; returns the new position. */
  private completePending(side: 0 | 1, s: Side, bytes: Uint8Array, pos: number, n: number): number {
    let h = decodeFixedHeader(s.pend, 0, s.pendLen);
    while (!h.ok && 'needMore' in h) {
      if (pos >= n) return pos;
      s.ensure(s.pendLen + 1);
      s.pend[s.pendLen++] = bytes[pos++];
      h = decodeFixedHeader(s.pend, 0, s.pendLen);
    }
    if (!h.ok) {
      this.sink.malformed(side, h.error, s.pendBase, { packetType: PACKET_NAMES[s.pend[0] >> 4] });
      this.dropFront(s, 1);
      s.hunting = true;
      return pos;
    }
    const total = h.value.headerLength + h.value.remaining;
    if (total > this.maxMessageSize) {
      this.sink.oversize(side, h.value.type, total, s.pendBase);
      const remaining = total - s.pendLen;
      s.pendLen = 0;
      const k = Math.min(remaining, n - pos);
      s.skip = remaining - k;
      return pos + k;
    }
    const k = Math.min(total - s.pendLen, n - pos);
    s.ensure(total);
    s.pend.set(bytes.subarray(pos, pos + k), s.pendLen);
    s.pendLen += k;
    pos += k;
    if (s.pendLen === total) {
      s.pendLen = 0;
      this.run(side, s, s.pend, 0, total, s.pendBase);
    }
    return pos;
  }

  /**
   * Decode every complete message of b[start, end). Returns the offset of the first byte not
   * consumed (a partial message, or where resync must start when `s.hunting` was set).
   */
  private run(side: 0 | 1, s: Side, b: Uint8Array, start: number, end: number, base: number): number {
    let i = start;
    const max = this.maxMessageSize;
    while (i < end) {
      if (i + 1 >= end) return i;
      const r = readVarint(b, i + 1, end);
      if (r === -1) return i;
      if (r === -2) {
        this.sink.malformed(side, 'remaining_length_too_long', base + i, { packetType: PACKET_NAMES[b[i] >> 4] });
        s.hunting = true;
        return i + 1;
      }
      const hl = 1 + (r & 7);
      const total = hl + (r >>> 3);
      if (total > max) {
        this.sink.oversize(side, b[i] >> 4, total, base + i);
        if (i + total <= end) {
          i += total;
          continue;
        }
        s.skip = i + total - end;
        return end;
      }
      if (i + total > end) return i;
      this.sink.message(side, b, i, hl, total, base);
      i += total;
    }
    return i;
  }
}
