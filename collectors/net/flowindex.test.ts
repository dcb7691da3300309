import { describe, expect, it } from 'vitest';
import { prng } from '../../test/support/prng.js';
import { EMPTY, FlowIndex } from './flowindex.js';

interface Item {
  id: number;
  hash: number;
}

describe('FlowIndex', () => {
  it('finds exactly the live entries through inserts, removals, collisions and growth', () => {
    const rnd = prng(11);
    const ix = new FlowIndex<Item>();
    const live: Item[] = [];
    const dead: Item[] = [];
    let nextId = 0;
    // Hashes from a small range collide a lot (long probe runs); some near 2^30 and near the
    // capacity boundary wrap around the end of the table.
    const hashOf = () => (rnd() < 0.5 ? Math.floor(rnd() * 3000) : (0x3fffffff - Math.floor(rnd() * 3000)) | 0);
    for (let step = 0; step < 30_000; step++) {
      // Grow to a few thousand entries (several capacity doublings), then churn.
      if (rnd() < (step < 10_000 ? 0.7 : 0.5) || live.length === 0) {
        const it = { id: nextId++, hash: hashOf() };
        ix.insert(it.hash, it);
        live.push(it);
      } else {
        const k = Math.floor(rnd() * live.length);
        const it = live[k];
        expect(ix.remove(it.hash, it)).toBe(true);
        live[k] = live[live.length - 1];
        live.pop();
        dead.push(it);
      }
      if (step % 1009 === 0) {
        for (const it of live) expect(ix.find(it.hash, (v) => v === it)).toBe(it);
        for (const it of dead.slice(-50)) expect(ix.find(it.hash, (v) => v === it)).toBeNull();
      }
    }
    expect(ix.size).toBe(live.length);
    for (const it of live) expect(ix.find(it.hash, (v) => v === it)).toBe(it);
    for (const it of dead.slice(-500)) expect(ix.remove(it.hash, it)).toBe(false);
    // The table is never more than half full.
    expect(ix.size * 2).toBeLessThanOrEqual(ix.vals.length);
    // Each position's tag says whether it holds an entry (the flow table's fast lane reads only that).
    for (let p = 0; p < ix.vals.length; p++) expect(ix.cells[2 * p + 1] === EMPTY).toBe(ix.vals[p] === null);
  });
});
