/**
 * A single-producer single-consumer ring of copied frames in SharedArrayBuffers: the capture
 * thread pushes, one decode worker pops. The producer never blocks and never grows memory: when
 * the ring is full (in bytes or in packets) `push` returns false and the caller counts the loss.
 *
 * Layout: a control block (Int32Array) and a data block. Records are 4-byte aligned:
 * `[capLen u32][origLen u32][tsSec u32][tsNsec u32][frame u32][bytes…]`. A record never wraps:
 * when it does not fit before the end of the data block, the producer writes a wrap marker
 * (capLen = 0xffffffff) and starts again at 0. The producer always keeps 4 bytes free at the end,
 * so the marker fits and `tail` never reaches the end of the block.
 *
 * Memory ordering: the producer writes the record, then publishes `tail` with Atomics.store; the
 * consumer reads `tail` with Atomics.load before the record, and publishes `head` after it.
 */

/** Indices into the control block. */
const HEAD = 0;
const TAIL = 1;
/** Bumped by the producer when it publishes records, so that a waiting consumer wakes up. */
const SEQ = 2;
/** Set by the producer: no more records will come; the consumer drains and ends. */
const STOP = 3;
/** Records pushed / popped (wrapping 32-bit counters: their difference is the depth). */
const PUSHED = 4;
const POPPED = 5;
/** Output bytes a worker has posted that the main thread has not written yet. */
export const OUT_PENDING = 6;
const CTRL_WORDS = 8;

const HDR = 20;
const WRAP = 0xffffffff;

export interface RingBuffers {
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  /** Most records the ring holds at once. */
  maxPackets: number;
}

/** Shared buffers for a ring holding up to `maxPackets` records or `bytes` bytes. */
export function createRing(maxPackets: number, bytes: number): RingBuffers {
  if (!Number.isInteger(maxPackets) || maxPackets < 1) throw new RangeError('ring: maxPackets must be a positive integer');
  const size = Math.max(4096, (Math.ceil(bytes) + 3) & ~3);
  return { ctrl: new SharedArrayBuffer(CTRL_WORDS * 4), data: new SharedArrayBuffer(size), maxPackets };
}

/** What `pop` fills in. The `data` view is valid until the next `pop` or `release`. */
export interface RingRecord {
  data: Uint8Array;
  origLen: number;
  tsSec: number;
  tsNsec: number;
  frame: number;
}

abstract class RingEnd {
  protected readonly ctrl: Int32Array;
  protected readonly bytes: Uint8Array;
  protected readonly words: Uint32Array;
  protected readonly size: number;
  protected readonly maxPackets: number;

  constructor(r: RingBuffers) {
    this.ctrl = new Int32Array(r.ctrl);
    this.bytes = new Uint8Array(r.data);
    this.words = new Uint32Array(r.data);
    this.size = r.data.byteLength;
    this.maxPackets = r.maxPackets;
  }

  /** Records in the ring now. */
  depth(): number {
    return (Atomics.load(this.ctrl, PUSHED) - Atomics.load(this.ctrl, POPPED)) | 0;
  }

  /** Bytes in use now. */
  usedBytes(): number {
    const h = Atomics.load(this.ctrl, HEAD);
    const t = Atomics.load(this.ctrl, TAIL);
    return t >= h ? t - h : this.size - h + t;
  }

  get capacityBytes(): number {
    return this.size;
  }

  get capacityPackets(): number {
    return this.maxPackets;
  }
}

export class RingProducer extends RingEnd {
  private tail = 0;
  private pushed = 0;
  private unpublished = false;

  /**
   * Copy one frame into the ring. False when it does not fit (ring full, or a frame larger than
   * the ring): nothing is written and the caller counts the drop.
   */
  push(data: Uint8Array, origLen: number, tsSec: number, tsNsec: number, frame: number): boolean {
    if (((this.pushed - Atomics.load(this.ctrl, POPPED)) | 0) >= this.maxPackets) return false;
    const need = (HDR + data.length + 3) & ~3;
    const head = Atomics.load(this.ctrl, HEAD);
    let at = this.tail;
    if (at >= head) {
      // Free: [at, size-4) then [0, head-1).
      if (need > this.size - 4 - at) {
        if (need >= head) return false;
        this.words[at >> 2] = WRAP;
        at = 0;
      }
    } else if (need >= head - at) {
      return false;
    }
    const w = at >> 2;
    this.words[w] = data.length;
    this.words[w + 1] = origLen;
    this.words[w + 2] = tsSec;
    this.words[w + 3] = tsNsec;
    this.words[w + 4] = frame;
    this.bytes.set(data, at + HDR);
    this.tail = at + need;
    this.pushed = (this.pushed + 1) | 0;
    Atomics.store(this.ctrl, TAIL, this.tail);
    Atomics.store(this.ctrl, PUSHED, this.pushed);
    this.unpublished = true;
    return true;
  }

  /** Wake the consumer if records were pushed since the last call (one notify per batch). */
  publish(): void {
    if (!this.unpublished) return;
    this.unpublished = false;
    Atomics.add(this.ctrl, SEQ, 1);
    Atomics.notify(this.ctrl, SEQ);
  }

  /** No more records: the consumer drains the ring and ends. */
  stop(): void {
    Atomics.store(this.ctrl, STOP, 1);
    this.unpublished = true;
    this.publish();
  }

  /** Output bytes posted by the consumer and not yet written (see OUT_PENDING). */
  outputWritten(bytes: number): void {
    Atomics.sub(this.ctrl, OUT_PENDING, bytes);
  }
}

export class RingConsumer extends RingEnd {
  private head = 0;
  private popped = 0;
  readonly record: RingRecord = { data: new Uint8Array(0), origLen: 0, tsSec: 0, tsNsec: 0, frame: 0 };
  /** Where head moves when the last popped record is released; -1: nothing to release. */
  private pendingRelease = -1;

  /** The next record into `this.record`, or false when the ring is empty. */
  pop(): boolean {
    this.release();
    const tail = Atomics.load(this.ctrl, TAIL);
    if (this.head === tail) return false;
    let at = this.head;
    if (this.words[at >> 2] === WRAP) at = 0;
    const w = at >> 2;
    const len = this.words[w];
    const r = this.record;
    r.origLen = this.words[w + 1];
    r.tsSec = this.words[w + 2];
    r.tsNsec = this.words[w + 3];
    r.frame = this.words[w + 4];
    r.data = this.bytes.subarray(at + HDR, at + HDR + len);
    // The space is given back on the next pop (the view must stay valid until then).
    this.pendingRelease = at + ((HDR + len + 3) & ~3);
    this.head = at;
    return true;
  }

  /** Give the last popped record's space back to the producer. */
  release(): void {
    if (this.pendingRelease < 0) return;
    this.head = this.pendingRelease;
    this.pendingRelease = -1;
    this.popped = (this.popped + 1) | 0;
    Atomics.store(this.ctrl, HEAD, this.head);
    Atomics.store(this.ctrl, POPPED, this.popped);
  }

  stopped(): boolean {
    return Atomics.load(this.ctrl, STOP) === 1;
  }

  /** Block until the producer publishes or `timeoutMs` passes (worker threads only). */
  wait(timeoutMs: number): void {
    const seq = Atomics.load(this.ctrl, SEQ);
    if (Atomics.load(this.ctrl, TAIL) !== this.head || this.stopped()) return;
    Atomics.wait(this.ctrl, SEQ, seq, timeoutMs);
  }

  /** Account output bytes posted to the main thread; returns the total not yet written. */
  outputPosted(bytes: number): number {
    return Atomics.add(this.ctrl, OUT_PENDING, bytes) + bytes;
  }

  outputPending(): number {
    return Atomics.load(this.ctrl, OUT_PENDING);
  }
}
