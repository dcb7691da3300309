/**
 * The flow table's index: flow hash → flow, open addressing with linear probing. The hashes sit in
 * a typed array beside the flows, so a probe compares numbers in one small dense array and reads
 * a flow object only when its hash matches (a Map<number, chain> costs a builtin call per packet
 * and a walk through flow objects on collisions).
 *
 * Each position's hash sits beside a tag the owner keeps with the entry (the flow table: the
 * flow's slot) in one Int32Array, `cells`: a probe of the fast lane reads one cache line of it and
 * nothing else (tag -1: an empty position).
 *
 * Deletion shifts the following entries back (no tombstones), so probe runs never grow with churn.
 */

const MIN_CAPACITY = 1024;

/** Tag of an empty position in `cells`. */
export const EMPTY = -1;

export class FlowIndex<T extends object> {
  /** Capacity - 1 (the capacity is a power of two). */
  mask = MIN_CAPACITY - 1;
  /** Per position p: the entry's hash at 2p and its tag at 2p + 1 (EMPTY where there is no entry). */
  cells = emptyCells(MIN_CAPACITY);
  /** The entry in each position, or null. */
  vals: (T | null)[] = new Array<T | null>(MIN_CAPACITY).fill(null);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /**
   * The first entry under `hash` that `accept` takes. (The flow table runs this loop inline over
   * `vals`/`cells`/`mask`, without the callback, on its hot path.)
   */
  find(hash: number, accept: (val: T) => boolean): T | null {
    const mask = this.mask;
    for (let p = hash & mask; ; p = (p + 1) & mask) {
      const v = this.vals[p];
      if (v === null) return null;
      if (this.cells[2 * p] === hash && accept(v)) return v;
    }
  }

  /** Add `val` under `hash` (a 32-bit integer), with `tag` (>= 0). The same value must not be added twice. */
  insert(hash: number, val: T, tag = 0): void {
    if (!(tag >= 0)) throw new RangeError(`FlowIndex tag must be >= 0, got ${tag}`);
    if ((this.count + 1) * 2 > this.vals.length) this.grow();
    const mask = this.mask;
    let p = hash & mask;
    while (this.vals[p] !== null) p = (p + 1) & mask;
    this.cells[2 * p] = hash;
    this.cells[2 * p + 1] = tag;
    this.vals[p] = val;
    this.count++;
  }

  /** Remove `val` (added under `hash`); false when it is not there. */
  remove(hash: number, val: T): boolean {
    const mask = this.mask;
    const vals = this.vals;
    const cells = this.cells;
    let p = hash & mask;
    for (;;) {
      const v = vals[p];
      if (v === null) return false;
      if (v === val) break;
      p = (p + 1) & mask;
    }
    // Backward-shift deletion (Knuth 6.4 algorithm R): move up every later entry of the run whose
    // home position is not cyclically within (hole, entry], so no lookup ever stops early.
    let hole = p;
    let q = p;
    for (;;) {
      q = (q + 1) & mask;
      const v = vals[q];
      if (v === null) break;
      const home = cells[2 * q] & mask;
      const stays = hole <= q ? hole < home && home <= q : hole < home || home <= q;
      if (stays) continue;
      vals[hole] = v;
      cells[2 * hole] = cells[2 * q];
      cells[2 * hole + 1] = cells[2 * q + 1];
      hole = q;
    }
    vals[hole] = null;
    cells[2 * hole + 1] = EMPTY;
    this.count--;
    return true;
  }

  private grow(): void {
    const oldVals = this.vals;
    const oldCells = this.cells;
    const cap = oldVals.length * 2;
    this.mask = cap - 1;
    this.cells = emptyCells(cap);
    this.vals = new Array<T | null>(cap).fill(null);
    this.count = 0;
    for (let i = 0; i < oldVals.length; i++) {
      const v = oldVals[i];
      if (v !== null) this.insert(oldCells[2 * i], v, oldCells[2 * i + 1]);
    }
  }
}

function emptyCells(capacity: number): Int32Array {
  const c = new Int32Array(2 * capacity);
  for (let p = 1; p < c.length; p += 2) c[p] = EMPTY;
  return c;
}
