/**
 * The compact baseline (analyzers/baseline-data.ts, packed.ts): what it packs reads back as the
 * same JSON, data of another shape is kept as given and judged the same way, order is kept, and
 * the store merges a learned baseline with the stored one item by item. Detection runs on the real
 * events of the demo capture (samples/plant-demo.pcap).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DecodeEvent } from '../../collectors/types.js';
import { resolveConfig } from '../../analyzers/config.js';
import { Analyzer } from '../../analyzers/engine.js';
import { Baseline, BASELINE_KINDS, mergeBaselineData, type ValueStats } from '../../analyzers/baseline.js';
import { Store } from '../../store/store.js';
import { demoEvents } from './helpers.js';

let events: DecodeEvent[];
let dir: string;

beforeAll(async () => {
  events = await demoEvents();
  dir = mkdtempSync(join(tmpdir(), 'otwatch-an-bd-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function analyze(opts: { learn?: boolean; baseline?: Baseline }) {
  const a = new Analyzer(resolveConfig({}), opts);
  for (const ev of events) a.event(ev);
  return a.finish(null);
}

const dump = (b: Baseline) => JSON.stringify(BASELINE_KINDS.map((k) => [k, [...b.entries(k)]]));

describe('compact baseline', () => {
  it('reads packed values and periods back as the same JSON, in insertion order', () => {
    const b = new Baseline();
    const items: [string, unknown][] = [
      ['k1', { min: -0, max: 1e300, maxStep: 0.1 + 0.2, n: 3, varied: true }],
      ['k2', null],
      ['k3', { min: 5, max: 5, maxStep: 0, n: 1, varied: false }],
    ];
    for (const [k, d] of items) b.set('value', k, d);
    b.set('period', 't', { period: 1.25, n: 9 });
    expect(JSON.stringify([...b.entries('value')])).toBe(JSON.stringify(items));
    expect(b.get('period', 't')).toEqual({ period: 1.25, n: 9 });
    expect(Object.is((b.get('value', 'k1') as ValueStats).min, -0)).toBe(true);
    // Overwriting keeps the place; a null item becomes packed in place.
    b.set('value', 'k2', { min: 1, max: 2, maxStep: 1, n: 2, varied: true });
    expect([...b.entries('value')].map(([k]) => k)).toEqual(['k1', 'k2', 'k3']);
    expect(b.get('value', 'k2')).toEqual({ min: 1, max: 2, maxStep: 1, n: 2, varied: true });
    expect(b.size).toBe(4);
    expect(b.delete('value', 'k1')).toBe(true);
    expect(b.has('value', 'k1')).toBe(false);
  });

  it('keeps data of another shape as given (an imported file may carry any)', () => {
    const b = new Baseline();
    const odd = [{ max: 2, min: 1, maxStep: 0, n: 1, varied: false }, { min: '1', max: 2, maxStep: 0, n: 1, varied: false }, { min: 1, max: 2, maxStep: 0, n: 1, varied: 0, note: 'x' }, [1, 2], 'text'];
    odd.forEach((d, i) => b.set('value', `v${i}`, d));
    b.set('asset', '10.0.0.1', { why: 'approved' });
    b.set('period', 'p', { period: 2 });
    for (const [i, d] of odd.entries()) expect(JSON.stringify(b.get('value', `v${i}`))).toBe(JSON.stringify(d));
    expect(b.get('asset', '10.0.0.1')).toEqual({ why: 'approved' });
    expect(b.get('period', 'p')).toEqual({ period: 2 });
  });

  it('merges as the JSON merge does', () => {
    const a = new Baseline();
    const b = new Baseline();
    a.set('value', 'x', { min: 1, max: 3, maxStep: 1, n: 4, varied: true });
    b.set('value', 'x', { min: 0, max: 2, maxStep: 2, n: 2, varied: false });
    b.set('value', 'y', { min: 7, max: 7, maxStep: 0, n: 1, varied: false });
    a.set('period', 't', { period: 1, n: 5 });
    b.set('period', 't', { period: 3, n: 6 });
    b.set('connection', 'c', null);
    a.merge(b);
    expect(a.get('value', 'x')).toEqual(mergeBaselineData('value', { min: 1, max: 3, maxStep: 1, n: 4, varied: true }, { min: 0, max: 2, maxStep: 2, n: 2, varied: false }));
    expect(a.get('value', 'x')).toEqual({ min: 0, max: 3, maxStep: 2, n: 6, varied: true });
    expect(a.get('period', 't')).toEqual({ period: 3, n: 11 });
    expect(a.has('connection', 'c')).toBe(true);
    expect(a.size).toBe(4);
  });

  it('detects the same from packed values as from the same values in another shape', () => {
    const learned = analyze({ learn: true }).learned!;
    expect(learned.count('value')).toBeGreaterThan(2);
    // Narrow every learned range to its minimum: samples above it are out of range, steps too big.
    const narrow = (shape: (s: ValueStats) => unknown) => {
      const b = new Baseline();
      for (const kind of BASELINE_KINDS) for (const [k, d] of learned.entries(kind)) b.set(kind, k, kind === 'value' ? shape({ ...(d as ValueStats), max: (d as ValueStats).min }) : d);
      return b;
    };
    const packed = narrow((s) => s);
    const loose = narrow((s) => ({ ...s, source: 'import' }));
    expect(dump(packed)).not.toBe(dump(loose));
    const a = analyze({ baseline: packed }).findings.list();
    const b = analyze({ baseline: loose }).findings.list();
    expect(a.filter((f) => f.rule === 'process.value-out-of-range').length).toBeGreaterThan(0);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('the store merges a learned baseline item by item with what it holds', () => {
    const learned = analyze({ learn: true }).learned!;
    const store = Store.open(join(dir, 'merge.db'));
    try {
      expect(store.saveBaseline(learned, 'learned')).toBe(learned.size);
      expect(store.baselineSize()).toBe(learned.size);
      expect(dump(store.loadBaseline())).toBe(dump(learned));
      store.saveBaseline(learned, 'learned');
      const twice = store.loadBaseline();
      expect(twice.size).toBe(learned.size);
      for (const [k, d] of learned.entries('value')) expect(twice.get('value', k)).toEqual(mergeBaselineData('value', d, d));
      for (const [k, d] of learned.entries('period')) expect(twice.get('period', k)).toEqual(mergeBaselineData('period', d, d));
      expect(store.baselineSize()).toBe(twice.size);
    } finally {
      store.close();
    }
  });
});
