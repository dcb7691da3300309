import { describe, expect, it } from 'vitest';
import { FrameBacklog } from './backlog.js';
import { createRing, RingConsumer, RingProducer } from './ring.js';

describe('frame backlog', () => {
  it('holds copies up to its bound, then moves them into the ring oldest first as room appears', () => {
    const buffers = createRing(2, 4096);
    const prod = new RingProducer(buffers);
    const cons = new RingConsumer(buffers);
    const bl = new FrameBacklog(3);
    const view = new Uint8Array([1, 2, 3]);
    for (let i = 0; i < 3; i++) {
      view[0] = i;
      expect(bl.add(view, 3, 100 + i, 0, i + 1)).toBe(true);
    }
    // Full: refused (the caller counts the drop).
    expect(bl.add(view, 3, 0, 0, 9)).toBe(false);
    expect(bl.length).toBe(3);
    // The ring takes two; one stays.
    expect(bl.flushInto(prod)).toBe(false);
    expect(bl.length).toBe(1);
    const seen: number[][] = [];
    while (cons.pop()) seen.push([cons.record.data[0], cons.record.tsSec, cons.record.frame]);
    cons.release();
    expect(bl.flushInto(prod)).toBe(true);
    expect(bl.length).toBe(0);
    while (cons.pop()) seen.push([cons.record.data[0], cons.record.tsSec, cons.record.frame]);
    // Copies, not the reused view: each frame kept its own first byte.
    expect(seen).toEqual([
      [0, 100, 1],
      [1, 101, 2],
      [2, 102, 3],
    ]);
  });

  it('clears and reports what it held; a zero bound holds nothing', () => {
    const bl = new FrameBacklog(5);
    bl.add(new Uint8Array(10), 10, 0, 0, 1);
    bl.add(new Uint8Array(10), 10, 0, 0, 2);
    expect(bl.clear()).toBe(2);
    expect(bl.length).toBe(0);
    expect(new FrameBacklog(0).add(new Uint8Array(1), 1, 0, 0, 1)).toBe(false);
    expect(() => new FrameBacklog(-1)).toThrow(RangeError);
  });
});
