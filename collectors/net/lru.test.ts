import { describe, expect, it } from 'vitest';
import { prng } from '../../test/support/prng.js';
import { ActivityLists, CLOSED, OPEN, type ListId } from './lru.js';

/** Walk a list from its head through `after`. */
function walk(l: ActivityLists<{ id: number; slot: number }>, list: ListId): number[] {
  const out: number[] = [];
  for (let it = l.first(list); it !== null; it = l.after(it.slot)) {
    out.push(it.id);
    if (out.length > 10_000) throw new Error('cycle in list');
  }
  return out;
}

describe('ActivityLists', () => {
  it('moves to the tail, unlinks, frees and reuses slots like two plain arrays would', () => {
    const rnd = prng(7);
    const l = new ActivityLists<{ id: number; slot: number }>();
    const model: [number[], number[]] = [[], []];
    const live = new Map<number, { id: number; slot: number }>();
    let nextId = 0;
    const drop = (id: number) => {
      for (const m of model) {
        const i = m.indexOf(id);
        if (i >= 0) m.splice(i, 1);
      }
    };
    // Enough items to make the typed arrays grow several times, with frees in between.
    for (let step = 0; step < 20_000; step++) {
      const r = rnd();
      const ids = [...live.keys()];
      if (r < 0.3 || ids.length === 0) {
        const item = { id: nextId++, slot: -1 };
        item.slot = l.alloc(item);
        live.set(item.id, item);
      } else if (r < 0.75) {
        const item = live.get(ids[Math.floor(rnd() * ids.length)])!;
        const list: ListId = rnd() < 0.7 ? OPEN : CLOSED;
        l.moveToTail(list, item.slot);
        drop(item.id);
        model[list].push(item.id);
      } else if (r < 0.85) {
        const item = live.get(ids[Math.floor(rnd() * ids.length)])!;
        l.unlink(item.slot);
        drop(item.id);
      } else {
        const item = live.get(ids[Math.floor(rnd() * ids.length)])!;
        l.free(item.slot);
        drop(item.id);
        live.delete(item.id);
      }
      if (step % 97 === 0) {
        expect(walk(l, OPEN)).toEqual(model[OPEN]);
        expect(walk(l, CLOSED)).toEqual(model[CLOSED]);
      }
    }
    expect(walk(l, OPEN)).toEqual(model[OPEN]);
    expect(walk(l, CLOSED)).toEqual(model[CLOSED]);
    // Slots are reused: never more of them than items alive at the peak.
    const slots = new Set([...live.values()].map((i) => i.slot));
    expect(slots.size).toBe(live.size);
  });

  it('moving the tail to the tail changes nothing; the head is the least recent', () => {
    const l = new ActivityLists<{ id: number; slot: number }>();
    const items = [0, 1, 2].map((id) => {
      const it = { id, slot: -1 };
      it.slot = l.alloc(it);
      l.moveToTail(OPEN, it.slot);
      return it;
    });
    l.moveToTail(OPEN, items[2].slot);
    expect(walk(l, OPEN)).toEqual([0, 1, 2]);
    l.moveToTail(OPEN, items[0].slot);
    expect(walk(l, OPEN)).toEqual([1, 2, 0]);
    expect(l.first(OPEN)!.id).toBe(1);
    l.moveToTail(CLOSED, items[2].slot);
    expect([walk(l, OPEN), walk(l, CLOSED)]).toEqual([[1, 0], [2]]);
    expect(l.first(CLOSED)!.id).toBe(2);
  });
});
