/**
 * One direction of a TCP connection: turns segments in capture order into an in-order byte
 * stream. Handles out-of-order segments, retransmissions and overlaps (the first copy of a byte
 * wins), sequence wrap-around, pick-up in mid-stream and gaps (a hole that will not be filled is
 * delivered as a gap marker with its length, then the stream goes on).
 *
 * Positions are kept as absolute stream offsets (JS numbers, exact up to 2^53 bytes) so that
 * sequence-number wrap-around never needs special cases: a segment's offset is derived from the
 * signed 32-bit distance between its sequence number and the next expected one.
 */

/** Receives what a direction delivers. Implemented by the flow. */
export interface DirectionSink {
  deliver(dir: TcpDirection, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void;
  /** The in-order path: the bytes are `buf[start, start + len)`, and no view of them was made. */
  deliverAt(dir: TcpDirection, buf: Uint8Array, start: number, len: number, tsSec: number, tsNsec: number, frame: number): void;
  deliverGap(dir: TcpDirection, length: number, tsSec: number, tsNsec: number): void;
  /** Out-of-order bytes are about to be buffered: returns false when a global cap forbids it. */
  reserve(bytes: number): boolean;
  release(bytes: number): void;
}

interface Segment {
  off: number;
  data: Uint8Array;
  tsSec: number;
  tsNsec: number;
  frame: number;
}

const TWO32 = 4294967296;

/**
 * A view of `len` bytes of `buf` from `start`. The constructor is about twice as fast as
 * `subarray` in V8 (no species lookup), and this is made once per delivered segment.
 */
function view(buf: Uint8Array, start: number, len: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + start, len);
}

export class TcpDirection {
  /** 0 or 1: the flow side this direction carries bytes from. */
  readonly side: 0 | 1;
  started = false;
  /**
   * The sequence number at stream offset 0 and the next expected one, as signed 32-bit integers
   * (`| 0`): V8 keeps those as small integers in the object itself (an unsigned value past 2^31
   * would be a heap number). Sequence arithmetic is modulo 2^32 either way.
   */
  nextSeq = 0;
  private seq0 = 0;
  /** Next expected stream offset. */
  nextOff = 0;
  /** Bytes buffered out of order; zero exactly when nothing is (no empty segment is buffered). */
  pendingBytes = 0;
  /** Stream offset of the FIN, -1 until one is seen. */
  finOff = -1;
  /** Counters. */
  deliveredBytes = 0;
  gapBytes = 0;
  gaps = 0;
  retransmittedBytes = 0;
  outOfOrderSegments = 0;
  /** Acks from the peer that covered the current hole (see ackCovers). */
  private holeAcks = 0;
  /** Highest stream offset the peer has acknowledged (-1: none seen yet). */
  peerAck = -1;
  /** Out-of-order segments, sorted by offset. The hot paths test pendingBytes instead (one cache line less). */
  private pending: Segment[] = [];

  constructor(side: 0 | 1, private readonly sink: DirectionSink, private readonly maxPending: number) {
    this.side = side;
  }

  /** Start the stream at a sequence number (after a SYN: its seq + 1; mid-stream: the first seq seen). */
  start(seq: number): void {
    this.started = true;
    this.seq0 = seq | 0;
    this.nextSeq = seq | 0;
    this.nextOff = 0;
  }

  /**
   * Take back the state the flow table's fast lane advanced (flowhot.ts) while this direction was
   * quiet: the segments it delivered were in order, so they moved `nextOff`/`nextSeq` and
   * `deliveredBytes` alike; its acks may have raised `peerAck`.
   */
  resume(nextSeq: number, nextOff: number, peerAck: number): void {
    if (nextOff !== this.nextOff) {
      this.deliveredBytes += nextOff - this.nextOff;
      this.nextOff = nextOff;
      this.holeAcks = 0; // as each in-order delivery does
    }
    this.nextSeq = nextSeq | 0;
    if (peerAck > this.peerAck) this.peerAck = peerAck;
  }

  /** Stream offset of a sequence number, relative to the next expected byte. */
  offsetOf(seq: number): number {
    return this.nextOff + ((seq - this.nextSeq) | 0);
  }

  get finished(): boolean {
    return this.finOff >= 0 && this.nextOff >= this.finOff;
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /**
   * The segment whose payload is `buf[start, start + len)`: the in-order case (the next bytes,
   * nothing buffered) hands (buffer, offset, length) straight to the sink, with no copy, no view
   * and no other work.
   */
  segmentAt(seq: number, buf: Uint8Array, start: number, len: number, tsSec: number, tsNsec: number, frame: number): void {
    const next = this.nextOff;
    if (((seq - this.nextSeq) | 0) === 0 && this.pendingBytes === 0) {
      this.nextOff = next + len;
      this.nextSeq = (this.nextSeq + len) | 0;
      this.deliveredBytes += len;
      this.holeAcks = 0;
      this.sink.deliverAt(this, buf, start, len, tsSec, tsNsec, frame);
      return;
    }
    const off = next + ((seq - this.nextSeq) | 0);
    if (off + len <= next) {
      this.retransmittedBytes += len;
      return;
    }
    this.segment(seq, view(buf, start, len), tsSec, tsNsec, frame);
  }

  segment(seq: number, data: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    const len = data.length;
    const off = this.nextOff + ((seq - this.nextSeq) | 0);
    const end = off + len;
    if (end <= this.nextOff) {
      this.retransmittedBytes += len;
      return;
    }
    if (off <= this.nextOff) {
      const skip = this.nextOff - off;
      if (skip > 0) this.retransmittedBytes += skip;
      this.advance(skip === 0 ? data : data.subarray(skip), tsSec, tsNsec, frame);
      if (this.pendingBytes > 0) this.drain();
      return;
    }
    this.buffer(off, data, tsSec, tsNsec, frame);
  }

  fin(seq: number): void {
    const off = this.offsetOf(seq);
    if (this.finOff < 0 || off < this.finOff) this.finOff = off;
  }

  /**
   * The peer acknowledged `ack`. If that covers a hole in front of buffered segments, the bytes in
   * the hole reached the receiver but not us: after the second such ack (a SPAN port may show an
   * ack before the data it acknowledges) the hole is declared a gap.
   */
  ackCovers(ack: number): void {
    if (!this.started) return;
    const ackOff = this.offsetOf(ack);
    if (ackOff > this.peerAck) this.peerAck = ackOff;
    if (this.pendingBytes === 0 || ackOff <= this.nextOff) return;
    if (++this.holeAcks >= 2) this.fillHole();
  }

  /** Deliver everything buffered, with gaps for the holes (end of flow). */
  flush(): void {
    while (this.pending.length > 0) this.fillHole();
  }

  private advance(bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    const n = bytes.length;
    this.nextOff += n;
    this.nextSeq = (this.nextSeq + n) | 0;
    this.deliveredBytes += n;
    this.holeAcks = 0;
    this.sink.deliver(this, bytes, tsSec, tsNsec, frame);
  }

  /** Declare the hole before the first buffered segment a gap, then drain. */
  private fillHole(): void {
    const first = this.pending[0];
    if (first.off > this.nextOff) this.gapTo(first.off, first.tsSec, first.tsNsec);
    this.drain();
  }

  /** The bytes up to `off` are lost: deliver them as a gap and go on from `off`. */
  private gapTo(off: number, tsSec: number, tsNsec: number): void {
    const len = off - this.nextOff;
    this.nextOff = off;
    this.nextSeq = (this.seq0 + (off % TWO32)) | 0;
    this.gapBytes += len;
    this.gaps++;
    this.holeAcks = 0;
    this.sink.deliverGap(this, len, tsSec, tsNsec);
  }

  private drain(): void {
    const p = this.pending;
    let i = 0;
    while (i < p.length && p[i].off <= this.nextOff) {
      const s = p[i++];
      this.pendingBytes -= s.data.length;
      this.sink.release(s.data.length);
      const end = s.off + s.data.length;
      if (end <= this.nextOff) {
        this.retransmittedBytes += s.data.length;
        continue;
      }
      const skip = this.nextOff - s.off;
      if (skip > 0) this.retransmittedBytes += skip;
      this.advance(s.data.subarray(skip), s.tsSec, s.tsNsec, s.frame);
    }
    if (i > 0) p.splice(0, i);
  }

  private buffer(off: number, data: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    this.outOfOrderSegments++;
    if (this.peerAck >= off && this.pending.length === 0) {
      // The peer had already acknowledged the bytes before this segment when it arrived: they
      // reached the receiver but not us, and will not come. Gap now, so that this segment is
      // delivered in capture order rather than after the other side's later messages.
      this.gapTo(off, tsSec, tsNsec);
      this.advance(data, tsSec, tsNsec, frame);
      return;
    }
    const p = this.pending;
    // Same offset and no longer than a segment already buffered: a retransmission of it.
    for (let i = 0; i < p.length; i++) {
      if (p[i].off === off && p[i].data.length >= data.length) {
        this.retransmittedBytes += data.length;
        return;
      }
    }
    // Over the per-direction or global cap: give up on the hole(s) and go on from what we have.
    while (this.pending.length > 0 && (this.pendingBytes + data.length > this.maxPending || !this.sink.reserve(data.length))) {
      this.fillHole();
      if (off <= this.nextOff) {
        this.segment((this.nextSeq + (off - this.nextOff)) | 0, data, tsSec, tsNsec, frame);
        return;
      }
    }
    if (this.pending.length === 0 && (data.length > this.maxPending || !this.sink.reserve(data.length))) {
      // Nothing buffered and still no room: the hole up to this segment is a gap.
      this.gapTo(off, tsSec, tsNsec);
      this.advance(data, tsSec, tsNsec, frame);
      return;
    }
    const seg: Segment = { off, data: data.slice(), tsSec, tsNsec, frame };
    this.pendingBytes += data.length;
    // Keep the list sorted by offset; equal offsets keep arrival order (first copy wins).
    let i = p.length;
    while (i > 0 && p[i - 1].off > off) i--;
    p.splice(i, 0, seg);
  }
}
