import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRing, RingConsumer, RingProducer } from './ring.js';

function frame(len: number, seed: number): Uint8Array {
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  return b;
}

describe('frame ring', () => {
  it('hands records back in order with their metadata', () => {
    const r = createRing(16, 64 * 1024);
    const p = new RingProducer(r);
    const c = new RingConsumer(r);
    expect(c.pop()).toBe(false);
    expect(p.push(frame(60, 1), 60, 1700000000, 123456789, 1)).toBe(true);
    expect(p.push(frame(1514, 2), 1600, 1700000001, 5, 2)).toBe(true);
    expect(p.depth()).toBe(2);
    expect(c.pop()).toBe(true);
    expect([...c.record.data]).toEqual([...frame(60, 1)]);
    expect(c.record).toMatchObject({ origLen: 60, tsSec: 1700000000, tsNsec: 123456789, frame: 1 });
    expect(c.pop()).toBe(true);
    expect([...c.record.data]).toEqual([...frame(1514, 2)]);
    expect(c.record).toMatchObject({ origLen: 1600, tsSec: 1700000001, tsNsec: 5, frame: 2 });
    expect(c.pop()).toBe(false);
    expect(p.depth()).toBe(0);
  });

  it('refuses a push when full in packets, and accepts again once the consumer moves on', () => {
    const r = createRing(1, 64 * 1024);
    const p = new RingProducer(r);
    const c = new RingConsumer(r);
    expect(p.push(frame(100, 1), 100, 0, 0, 1)).toBe(true);
    expect(p.push(frame(100, 2), 100, 0, 0, 2)).toBe(false);
    expect(c.pop()).toBe(true);
    // The popped record's view stays valid (and its slot taken) until the next pop.
    expect(p.push(frame(100, 3), 100, 0, 0, 3)).toBe(false);
    expect(c.pop()).toBe(false);
    expect(p.push(frame(100, 3), 100, 0, 0, 3)).toBe(true);
    expect(c.pop()).toBe(true);
    expect(c.record.frame).toBe(3);
  });

  it('refuses a push when full in bytes, and a frame larger than the ring', () => {
    const r = createRing(1000, 4096);
    const p = new RingProducer(r);
    expect(p.push(frame(5000, 1), 5000, 0, 0, 1)).toBe(false);
    let n = 0;
    while (p.push(frame(1000, n), 1000, 0, 0, n)) n++;
    expect(n).toBe(4); // 4 × 1020 bytes fit in 4096 − 4 (the end keeps room for a wrap marker); a 5th does not
    expect(p.usedBytes()).toBe(4 * 1020);
  });

  it('matches a FIFO model for any interleaving of pushes and pops, across wrap-arounds', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('push' as const), len: fc.integer({ min: 0, max: 1600 }) }),
      fc.record({ kind: fc.constant('pop' as const), n: fc.integer({ min: 1, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 12 }), (ops, maxPackets) => {
        const r = createRing(maxPackets, 6000);
        const p = new RingProducer(r);
        const c = new RingConsumer(r);
        const model: { len: number; id: number }[] = [];
        let id = 0;
        let held = 0; // the popped record still holds its slot until the next pop
        for (const o of ops) {
          if (o.kind === 'push') {
            id++;
            const ok = p.push(frame(o.len, id), o.len + 1, id, id * 3, id);
            if (model.length + held >= maxPackets) expect(ok).toBe(false);
            if (ok) model.push({ len: o.len, id });
          } else {
            for (let i = 0; i < o.n; i++) {
              const got = c.pop();
              held = 0;
              expect(got).toBe(model.length > 0);
              if (!got) break;
              const want = model.shift()!;
              held = 1;
              expect(c.record.frame).toBe(want.id);
              expect(c.record.origLen).toBe(want.len + 1);
              expect(c.record.tsNsec).toBe(want.id * 3);
              expect([...c.record.data]).toEqual([...frame(want.len, want.id)]);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('rejects a non-positive packet count', () => {
    expect(() => createRing(0, 4096)).toThrow(RangeError);
  });
});
