/**
 * Memory bounds and the store flush of `analyze` (analyzers/README.md, Memory): the rules' own
 * maps count what their cap refuses, the periodic flush writes only the findings raised since the
 * previous one, vendors of many MACs come from one pass over the registry, and the X.509 wire
 * check is only loaded for a PKI. Real events of the demo capture (samples/plant-demo.pcap).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { DecodeEvent } from '../../collectors/types.js';
import { resolveConfig } from '../../analyzers/config.js';
import { Analyzer } from '../../analyzers/engine.js';
import { FindingSet } from '../../analyzers/findings.js';
import { macVendor, macVendors } from '../../analyzers/oui.js';
import { PkiRules } from '../../analyzers/pki.js';
import { Store } from '../../store/store.js';
import { DEMO_CAPTURE, demoEvents } from './helpers.js';

let events: DecodeEvent[];

beforeAll(async () => {
  events = await demoEvents();
});

function analyze(cfg = resolveConfig({})) {
  const a = new Analyzer(cfg);
  for (const ev of events) a.event(ev);
  return a.finish(null);
}

describe('analyzer memory bounds', () => {
  it('the rules count the keys their caps refuse (ruleKeysDropped) and raise the same findings within the cap', () => {
    const full = analyze();
    expect(full.counters.ruleKeysDropped).toBe(0);
    const tight = analyze(resolveConfig({ maxKeysPerMap: 1 }));
    expect(tight.counters.ruleKeysDropped).toBeGreaterThan(0);
    // Posture findings need no per-key state: the cap does not hide them.
    const posture = (r: typeof full) => r.findings.list().filter((f) => f.category === 'posture').map((f) => f.id).sort();
    expect(posture(tight)).toEqual(posture(full));
  });

  it('takeChanged returns the findings raised since the previous call, in list order', () => {
    const fs = new FindingSet(resolveConfig({}));
    const raise = (subject: string, ts: string) => fs.raise('mqtt.wildcard-subscription', { subject, ts, type: 'SUBSCRIBE', detail: subject });
    raise('a', '2026-01-01T00:00:01.000000Z');
    raise('b', '2026-01-01T00:00:00.000000Z');
    expect(fs.takeChanged().map((f) => f.subject)).toEqual(['b', 'a']);
    expect(fs.takeChanged()).toEqual([]);
    raise('a', '2026-01-01T00:00:02.000000Z');
    expect(fs.takeChanged().map((f) => [f.subject, f.count])).toEqual([['a', 2]]);
  });

  it('flushing only the changed findings stores what flushing all of them stores', () => {
    const cfg = resolveConfig({});
    const store = (take: boolean) => {
      const a = new Analyzer(cfg);
      const s = Store.open(':memory:');
      const run = s.beginRun(a.mode, [DEMO_CAPTURE]);
      events.forEach((ev, i) => {
        a.event(ev);
        if (i % 50 === 49) s.flushFindings(run, take ? a.findings.takeChanged() : a.findings.list(), cfg.maxEvidence);
      });
      s.flushFindings(run, a.finish(null).findings.list(), cfg.maxEvidence);
      const rows = s.db.prepare('SELECT id, rule, severity, count, first_seen, last_seen, evidence_dropped, details FROM findings ORDER BY id').all();
      const ev = s.db.prepare('SELECT finding_id, seq, ts, frame, type, detail FROM evidence ORDER BY finding_id, seq').all();
      s.close();
      return { rows, ev };
    };
    const all = store(false);
    expect(all.rows.length).toBeGreaterThan(3);
    expect(store(true)).toEqual(all);
  });

  it('macVendors answers many MACs as macVendor answers each', () => {
    const macs = ['28:cf:e9:21:14:8f', '00:1b:1b:00:00:01', '02:42:ac:11:00:02', '01:00:5e:00:00:fb', 'not a mac', '28-CF-E9-21-14-8F', 'fc:ff:ff:00:00:00'];
    const batch = macVendors(macs);
    expect(batch.get('28:cf:e9:21:14:8f')).toBe('Apple, Inc.');
    for (const m of macs) expect(batch.get(m)).toBe(macVendor(m));
  });

  it('a PKI inventory without its wire check is refused', () => {
    const ctx = { cfg: resolveConfig({}), findings: new FindingSet(resolveConfig({})) };
    const inventory = { certificates: () => [] } as unknown as ConstructorParameters<typeof PkiRules>[1];
    expect(() => new PkiRules(ctx, inventory)).toThrow(/wire check/);
    expect(new PkiRules(ctx, null).enabled).toBe(false);
  });
});
