/**
 * Frames the capture thread holds for one worker while that worker's ring is full.
 *
 * With the patched binding, a full ring pauses reading (see engine.ts): frames then wait in the
 * kernel capture buffer, which is large, already allocated, and counted by pcap_stats() when it
 * overflows. Only the frames of the batch already in hand when the ring filled need a place to
 * wait: this backlog, bounded by a frame count (a batch is at most 256 KiB, so the bytes are
 * bounded too). Frames for a worker with a non-empty backlog go to the backlog as well, so the
 * worker still sees them in capture order.
 */
import type { RingProducer } from './ring.js';

interface Held {
  data: Uint8Array;
  origLen: number;
  tsSec: number;
  tsNsec: number;
  frame: number;
}

export class FrameBacklog {
  private items: Held[] = [];
  private head = 0;

  /** @param max most frames held at once; `add` refuses more. */
  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 0) throw new RangeError('backlog: max must be a non-negative integer');
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Copy a frame in (the source's view is reused after the callback); false when full. */
  add(data: Uint8Array, origLen: number, tsSec: number, tsNsec: number, frame: number): boolean {
    if (this.length >= this.max) return false;
    this.items.push({ data: data.slice(), origLen, tsSec, tsNsec, frame });
    return true;
  }

  /** Move held frames, oldest first, into `ring` until it is full; true when none are left. */
  flushInto(ring: RingProducer): boolean {
    while (this.head < this.items.length) {
      const f = this.items[this.head];
      if (!ring.push(f.data, f.origLen, f.tsSec, f.tsNsec, f.frame)) break;
      this.head++;
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
      return true;
    }
    // Compact now and then so that the array does not keep delivered frames alive.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return false;
  }

  /** Forget every held frame (when stopping without a reader); returns how many there were. */
  clear(): number {
    const n = this.length;
    this.items = [];
    this.head = 0;
    return n;
  }
}
