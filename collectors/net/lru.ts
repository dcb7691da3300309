/**
 * The flow table's activity lists: each flow sits in a numbered slot, and each list (open flows,
 * closed flows) is a doubly linked list of slots ordered from least to most recently active.
 *
 * Why slots and typed arrays rather than prev/next fields on the flows: a flow moves to the tail
 * of its list once per second of activity, and with object links that move writes into the flow
 * before it and the flow after it, two random objects out of thousands (cache misses on every
 * move). Here the links of all flows fit in a few small arrays.
 */

/** No slot (end of a list, or a slot on no list). */
export const NONE = -1;

/** List numbers. */
export const OPEN = 0;
export const CLOSED = 1;
export type ListId = typeof OPEN | typeof CLOSED;

export class ActivityLists<T extends object> {
  private prevs = new Int32Array(256);
  private nexts = new Int32Array(256);
  /** The list each slot is on, or -1. */
  private onList = new Int8Array(256);
  private readonly items: (T | null)[] = [];
  private readonly freeSlots: number[] = [];
  private readonly heads = [NONE, NONE];
  private readonly tails = [NONE, NONE];

  /** A slot for `item`, on no list yet. */
  alloc(item: T): number {
    const reuse = this.freeSlots.length > 0;
    const s = reuse ? this.freeSlots.pop()! : this.items.length;
    if (reuse) this.items[s] = item;
    else {
      this.items.push(item);
      if (s >= this.prevs.length) this.grow();
    }
    this.prevs[s] = NONE;
    this.nexts[s] = NONE;
    this.onList[s] = -1;
    return s;
  }

  /** Take the slot off its list and make it reusable. */
  free(slot: number): void {
    this.unlink(slot);
    this.items[slot] = null;
    this.freeSlots.push(slot);
  }

  /** Put the slot at the tail (most recent end) of `list`, taking it off any list it is on. */
  moveToTail(list: ListId, slot: number): void {
    if (this.tails[list] === slot) return;
    this.unlink(slot);
    const t = this.tails[list];
    this.prevs[slot] = t;
    this.nexts[slot] = NONE;
    this.onList[slot] = list;
    if (t !== NONE) this.nexts[t] = slot;
    else this.heads[list] = slot;
    this.tails[list] = slot;
  }

  /** Take the slot off its list (no-op when it is on none). */
  unlink(slot: number): void {
    const l = this.onList[slot];
    if (l < 0) return;
    const p = this.prevs[slot];
    const n = this.nexts[slot];
    if (p !== NONE) this.nexts[p] = n;
    else this.heads[l] = n;
    if (n !== NONE) this.prevs[n] = p;
    else this.tails[l] = p;
    this.prevs[slot] = NONE;
    this.nexts[slot] = NONE;
    this.onList[slot] = -1;
  }

  /** The least recently active item of `list`. */
  first(list: ListId): T | null {
    const h = this.heads[list];
    return h === NONE ? null : this.items[h];
  }

  /** The item after `slot` on its list. */
  after(slot: number): T | null {
    const n = this.nexts[slot];
    return n === NONE ? null : this.items[n];
  }

  private grow(): void {
    const size = this.prevs.length * 2;
    const p = new Int32Array(size);
    const n = new Int32Array(size);
    const o = new Int8Array(size);
    p.set(this.prevs);
    n.set(this.nexts);
    o.set(this.onList);
    this.prevs = p;
    this.nexts = n;
    this.onList = o;
  }
}
