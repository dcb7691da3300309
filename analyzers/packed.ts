/**
 * Compact tables for the baseline's numeric state: one key map to a row number, and the numbers
 * in typed-array columns. A row costs its key, one map entry and a few bytes per column, where an
 * object per row (its fields boxed as heap numbers) cost ~100–200 bytes more: on the bench capture
 * the learned value series and the loaded baseline were ~15 MiB of heap as objects.
 */

/** A typed column with room for `need` rows (doubling; the old array becomes garbage). */
function grow<T extends Float64Array | Uint32Array | Uint8Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  let n = a.length;
  while (n < need) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

const INITIAL_ROWS = 256;

/** Key → row number, in insertion order; a subclass keeps the rows' numbers in its columns. */
abstract class RowTable {
  readonly rows = new Map<string, number>();
  private used = 0;

  get size(): number {
    return this.rows.size;
  }

  /** A new row for `key`, its columns zero (a key already present keeps its place in the order). */
  add(key: string): number {
    const i = this.used++;
    this.reserve(i + 1);
    this.rows.set(key, i);
    return i;
  }

  /** Make the columns hold at least `rows` rows. */
  protected abstract reserve(rows: number): void;
}

/**
 * Learned numeric statistics of values, one row per key: min, max, largest step, sample count and
 * whether it varied. The `ValueStats` object of the baseline's JSON, packed.
 */
export class ValueTable extends RowTable {
  min = new Float64Array(INITIAL_ROWS);
  max = new Float64Array(INITIAL_ROWS);
  maxStep = new Float64Array(INITIAL_ROWS);
  n = new Float64Array(INITIAL_ROWS);
  varied = new Uint8Array(INITIAL_ROWS);

  protected reserve(rows: number): void {
    if (rows <= this.min.length) return;
    this.min = grow(this.min, rows);
    this.max = grow(this.max, rows);
    this.maxStep = grow(this.maxStep, rows);
    this.n = grow(this.n, rows);
    this.varied = grow(this.varied, rows);
  }

  /** Row of `key`; negative when absent (-1) or not packed (see `Baseline`). */
  row(key: string): number {
    return this.rows.get(key) ?? -1;
  }
}

/**
 * The per-key state of a value series while a run learns or detects: the previous sample, how
 * many times in a row it repeated, whether `process.value-stuck` was reported for the current
 * run of repeats, and the number of samples.
 */
export class SeriesColumns {
  last = new Float64Array(INITIAL_ROWS);
  repeat = new Uint32Array(INITIAL_ROWS);
  samples = new Float64Array(INITIAL_ROWS);
  stuckReported = new Uint8Array(INITIAL_ROWS);

  /** Make room for rows 0 … rows − 1. */
  ensure(rows: number): void {
    if (rows <= this.last.length) return;
    this.last = grow(this.last, rows);
    this.repeat = grow(this.repeat, rows);
    this.samples = grow(this.samples, rows);
    this.stuckReported = grow(this.stuckReported, rows);
  }
}

/** Topic periods, one row per topic: mean seconds between messages and the message count. */
export class PeriodTable extends RowTable {
  period = new Float64Array(INITIAL_ROWS);
  n = new Float64Array(INITIAL_ROWS);

  protected reserve(rows: number): void {
    if (rows <= this.period.length) return;
    this.period = grow(this.period, rows);
    this.n = grow(this.n, rows);
  }
}
