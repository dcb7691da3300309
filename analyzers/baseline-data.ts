/**
 * The baseline's data: per kind, the learned keys and, for values and periods, their numbers.
 * Held compactly (a key map per kind, numbers in typed columns: packed.ts) because a detecting run
 * keeps the whole baseline and a learning run the whole learned one: up to `maxKeysPerMap` items
 * per kind. The JSON shape (`ValueStats`, `PeriodStats`, null for plain membership) is what
 * `get`, `entries` and the store see; data of another shape (an imported file may carry any) is
 * kept as given.
 */
import { PeriodTable, ValueTable } from './packed.js';
import { flat } from './util.js';

export const BASELINE_KINDS = ['asset', 'connection', 'publish', 'command', 'write', 'call', 'nodemgmt', 'value', 'period'] as const;
export type BaselineKind = (typeof BASELINE_KINDS)[number];

export interface ValueStats {
  min: number;
  max: number;
  /** Largest absolute change between consecutive samples. */
  maxStep: number;
  n: number;
  /** True when the value took more than one distinct value. */
  varied: boolean;
}

export interface PeriodStats {
  /** Mean seconds between messages on the topic while learning. */
  period: number;
  n: number;
}

/** Row number of an item whose data is null (plain membership). */
const NULL_ROW = -1;
/** Rows ≤ ODD_BASE hold data of another shape, in `odd[ODD_BASE - row]`. */
const ODD_BASE = -2;

const VALUE_FIELDS = ['min', 'max', 'maxStep', 'n', 'varied'];
const PERIOD_FIELDS = ['period', 'n'];

/** True when `d` is an object with exactly these fields, in this order (so its JSON is rebuilt unchanged). */
function shaped(d: unknown, fields: string[]): d is Record<string, unknown> {
  if (typeof d !== 'object' || d === null || Array.isArray(d)) return false;
  const k = Object.keys(d);
  return k.length === fields.length && k.every((x, i) => x === fields[i]);
}

function packableValue(d: unknown): d is ValueStats {
  return shaped(d, VALUE_FIELDS) && typeof d.min === 'number' && typeof d.max === 'number' && typeof d.maxStep === 'number' && typeof d.n === 'number' && typeof d.varied === 'boolean';
}

function packablePeriod(d: unknown): d is PeriodStats {
  return shaped(d, PERIOD_FIELDS) && typeof d.period === 'number' && typeof d.n === 'number';
}

/** The learned baseline: per kind, key → data (null for plain membership). */
export class Baseline {
  /** Learned value statistics (its `rows` is the `value` kind's key map). */
  values = new ValueTable();
  /** Learned topic periods (its `rows` is the `period` kind's key map). */
  readonly periods = new PeriodTable();
  private readonly keys = new Map<BaselineKind, Map<string, number>>();
  private readonly odd: unknown[] = [];

  constructor() {
    for (const k of BASELINE_KINDS) this.keys.set(k, k === 'value' ? this.values.rows : k === 'period' ? this.periods.rows : new Map());
  }

  get size(): number {
    let n = 0;
    for (const m of this.keys.values()) n += m.size;
    return n;
  }

  /** Items of one kind. */
  count(kind: BaselineKind): number {
    return this.keys.get(kind)!.size;
  }

  has(kind: BaselineKind, key: string): boolean {
    return this.keys.get(kind)!.has(key);
  }

  get(kind: BaselineKind, key: string): unknown {
    const r = this.keys.get(kind)!.get(key);
    return r === undefined ? undefined : this.data(kind, r);
  }

  set(kind: BaselineKind, key: string, data: unknown): void {
    const m = this.keys.get(kind)!;
    if (data === null) m.set(key, NULL_ROW);
    else if (kind === 'value' && packableValue(data)) {
      const v = this.values;
      const old = m.get(key);
      const i = old !== undefined && old >= 0 ? old : v.add(key);
      v.min[i] = data.min;
      v.max[i] = data.max;
      v.maxStep[i] = data.maxStep;
      v.n[i] = data.n;
      v.varied[i] = data.varied ? 1 : 0;
    } else if (kind === 'period' && packablePeriod(data)) {
      const p = this.periods;
      const old = m.get(key);
      const i = old !== undefined && old >= 0 ? old : p.add(key);
      p.period[i] = data.period;
      p.n[i] = data.n;
    } else {
      this.odd.push(data);
      m.set(key, ODD_BASE - (this.odd.length - 1));
    }
  }

  /** Add a membership item unless the kind holds `cap` items; false when refused. The key is kept flat (`flat`). */
  addKey(kind: BaselineKind, key: string, cap: number): boolean {
    const m = this.keys.get(kind)!;
    if (m.has(key)) return true;
    if (m.size >= cap) return false;
    m.set(flat(key), NULL_ROW);
    return true;
  }

  /** Take `t` as the learned values (a learning run hands over its series without copying them). */
  adoptValues(t: ValueTable): void {
    if (this.values === t) return;
    if (this.values.size > 0) throw new Error('adoptValues: the baseline already has values');
    this.values = t;
    this.keys.set('value', t.rows);
  }

  delete(kind: BaselineKind, key: string): boolean {
    return this.keys.get(kind)!.delete(key);
  }

  /** Keys and data of one kind, in insertion order (data objects built on the way). */
  *entries(kind: BaselineKind): IterableIterator<[string, unknown]> {
    for (const [key, r] of this.keys.get(kind)!) yield [key, this.data(kind, r)];
  }

  /** Merge another baseline into this one (sets united, ranges widened, periods: the longest). */
  merge(o: Baseline): void {
    for (const kind of BASELINE_KINDS) {
      for (const [k, v] of o.entries(kind)) this.set(kind, k, mergeBaselineData(kind, this.get(kind, k), v));
    }
  }

  private data(kind: BaselineKind, r: number): unknown {
    if (r === NULL_ROW) return null;
    if (r <= ODD_BASE) return this.odd[ODD_BASE - r];
    if (kind === 'value') {
      const v = this.values;
      return { min: v.min[r], max: v.max[r], maxStep: v.maxStep[r], n: v.n[r], varied: v.varied[r] === 1 };
    }
    return { period: this.periods.period[r], n: this.periods.n[r] };
  }
}

/** One item's data merged with another's: ranges widened, periods the longest, otherwise `b`. */
export function mergeBaselineData(kind: BaselineKind, a: unknown, b: unknown): unknown {
  if (a === undefined || a === null) return b;
  if (kind === 'value') {
    const x = a as ValueStats;
    const y = b as ValueStats;
    return { min: Math.min(x.min, y.min), max: Math.max(x.max, y.max), maxStep: Math.max(x.maxStep, y.maxStep), n: x.n + y.n, varied: x.varied || y.varied || x.min !== y.min };
  }
  if (kind === 'period') {
    const x = a as PeriodStats;
    const y = b as PeriodStats;
    return { period: Math.max(x.period, y.period), n: x.n + y.n };
  }
  return b;
}
