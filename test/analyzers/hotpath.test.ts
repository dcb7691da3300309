/**
 * The analyzer's hot-path shortcuts give what the plain code gives: capture times compared as
 * numbers instead of strings, repeated findings counted without building their input
 * (`FindingSet.again`), findings flushed several times in a run without reading their rows back.
 * Checked on the real events of the demo capture (samples/plant-demo.pcap), in order and shuffled.
 */
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzerProtocols } from '../../cli/analyze.js';
import { decodeCapture } from '../../collectors/pipeline.js';
import { isoTime, type DecodeEvent } from '../../collectors/types.js';
import { resolveConfig } from '../../analyzers/config.js';
import { Analyzer } from '../../analyzers/engine.js';
import { FindingSet } from '../../analyzers/findings.js';
import { isGroupAddress } from '../../analyzers/inventory.js';
import { eventSeconds, laterTs, tsSeconds } from '../../analyzers/util.js';
import { Store } from '../../store/store.js';
import { CORPUS_DIR } from '../support/corpus.js';
import { prng } from '../support/prng.js';

const demo = resolve(import.meta.dirname, '../../samples/plant-demo.pcap');
let events: DecodeEvent[];

beforeAll(async () => {
  events = [];
  await decodeCapture(demo, (ev) => events.push(ev), { protocols: analyzerProtocols() });
});

/** The events in a random order (seeded), their time strings rebuilt as the decoders build them. */
function shuffled(seed: number, from = events): DecodeEvent[] {
  const rnd = prng(seed);
  const out = from.map((ev) => {
    const ms = Date.parse(ev.ts);
    const us = Number(ev.ts.slice(20, 26));
    return { ...ev, ts: isoTime(Math.floor(ms / 1000), us * 1000) };
  });
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('capture times as numbers', () => {
  it('eventSeconds and tsSeconds parse what Date.parse parses, to the microsecond', () => {
    const rnd = prng(7);
    for (let i = 0; i < 2000; i++) {
      const sec = 1_700_000_000 + Math.floor(rnd() * 1e8);
      const us = Math.floor(rnd() * 1e6);
      const ts = isoTime(sec, us * 1000);
      const t = i % 2 ? eventSeconds(ts) : tsSeconds(ts);
      expect(Math.round((t - sec) * 1e6)).toBe(us);
      expect(tsSeconds(ts)).toBe(t);
    }
    expect(eventSeconds('not a time')).toBeNaN();
    expect(tsSeconds('not a time')).toBe(0);
  });

  it('laterTs orders like the strings for decoder timestamps, and compares the strings when one is not a time', () => {
    const rnd = prng(11);
    const base = 1_790_000_000;
    for (let i = 0; i < 2000; i++) {
      // Within one second, across seconds, equal: all the cases the hot path meets.
      const a = isoTime(base + Math.floor(rnd() * 3), Math.floor(rnd() * 1e6) * 1000);
      const b = i % 10 === 0 ? String(a) : isoTime(base + Math.floor(rnd() * 3), Math.floor(rnd() * 1e6) * 1000);
      expect(laterTs(eventSeconds(a), a, eventSeconds(b), b)).toBe(a > b);
    }
    expect(laterTs(NaN, 'b', 5, 'a')).toBe(true);
    expect(laterTs(1, '2026-01-01T00:00:00.000000Z', NaN, 'z')).toBe(false);
  });

  it('assets, tags and findings keep the earliest and latest time strings of events in any order', async () => {
    // The demo is a loopback capture (one asset): a corpus capture between hosts adds assets.
    const hosts: DecodeEvent[] = [];
    await decodeCapture(join(CORPUS_DIR, 'zeek', 'mqtt.pcap'), (ev) => hosts.push(ev), { protocols: analyzerProtocols() });
    for (const seed of [1, 2, 3]) {
      const evs = [...shuffled(seed), ...shuffled(seed, hosts)];
      const a = new Analyzer(resolveConfig({}));
      for (const ev of evs) a.event(ev);
      const res = a.finish(null);
      // Assets: last seen is the latest event of any flow they are in; first seen the earliest first event of a flow.
      const last = new Map<string, string>();
      const first = new Map<string, string>();
      const flowFirst = new Map<object, string>();
      for (const ev of evs) {
        if (!flowFirst.has(ev.flow)) flowFirst.set(ev.flow, ev.ts);
        for (const ip of [ev.flow.src, ev.flow.dst]) {
          if (isGroupAddress(ip)) continue;
          if (!last.has(ip) || ev.ts > last.get(ip)!) last.set(ip, ev.ts);
          const f0 = flowFirst.get(ev.flow)!;
          if (!first.has(ip) || f0 < first.get(ip)!) first.set(ip, f0);
        }
      }
      const assets = res.inventory.list();
      expect(assets.length).toBeGreaterThan(2);
      expect(last.size).toBe(assets.length);
      for (const x of assets) {
        expect(x.lastSeen).toBe(last.get(x.ip));
        expect(x.firstSeen).toBe(first.get(x.ip));
      }
      // Findings: first and last seen are the extremes of their evidence when it was not capped.
      for (const f of res.findings.list()) {
        if (f.evidenceDropped > 0) continue;
        const ts = f.evidence.map((e) => e.ts).sort();
        expect([f.firstSeen, f.lastSeen]).toEqual([ts[0], ts[ts.length - 1]]);
      }
      // Tags: last seen is the latest update (never older than the first).
      const tags = [...res.process!.table.values()].filter((t) => t.updates > 0);
      expect(tags.length).toBeGreaterThan(0);
      for (const t of tags) expect(t.lastSeen >= t.firstSeen).toBe(true);
    }
  });
});

describe('repeated findings', () => {
  it('again() leaves a finding as raise() would, once its evidence is full', () => {
    const cfg = resolveConfig({ maxEvidence: 3 });
    const plain = new FindingSet(cfg);
    const fast = new FindingSet(cfg);
    const rnd = prng(5);
    let againCount = 0;
    for (let i = 0; i < 200; i++) {
      const ts = isoTime(1_790_000_000 + Math.floor(rnd() * 100), Math.floor(rnd() * 1e6) * 1000);
      const input = { subject: '10.0.0.1:4840', ts, type: 'MSG ReadRequest', severity: 'high' as const, detail: `request ${i}`, assets: ['10.0.0.2', '10.0.0.1'] };
      plain.raise('opcua.security-policy-none', input);
      const known = fast.list()[0];
      if (known !== undefined && fast.again(known, ts)) againCount++;
      else fast.raise('opcua.security-policy-none', input);
    }
    expect(againCount).toBe(197);
    expect(fast.list()).toEqual(plain.list());
    expect(fast.takeChanged()).toEqual(plain.takeChanged());
  });

  it('the OPC UA rules give the same findings with and without the repeat shortcut', () => {
    const a = new Analyzer(resolveConfig({}));
    for (const ev of events) a.event(ev);
    const fast = a.finish(null).findings.list();
    const none = fast.filter((f) => f.rule === 'opcua.security-policy-none');
    expect(none.length).toBeGreaterThan(0);
    // The same events, each request of a None channel on its own FlowRef copy: no connection cache hits.
    const b = new Analyzer(resolveConfig({}));
    for (const ev of events) b.event(ev.proto === 'opcua' && ev.type === 'MSG' && ev.dir === 'c2s' ? { ...ev, flow: { ...ev.flow } } : ev);
    const plain = b.finish(null).findings.list();
    const strip = (fs: typeof fast) => fs.map((f) => ({ ...f, flow: f.flow && { ...f.flow }, evidence: f.evidence.map((e) => ({ ...e, flow: e.flow && { ...e.flow } })) }));
    expect(strip(fast)).toEqual(strip(plain));
  });
});

describe('findings flushed during a run', () => {
  it('a second run on the same store, flushed often, stores what one flush at its end stores', () => {
    const cfg = resolveConfig({ maxEvidence: 4 });
    const store = (every: number) => {
      const s = Store.open(':memory:');
      for (const run of [1, 2]) {
        const a = new Analyzer(cfg);
        const id = s.beginRun(a.mode, [demo]);
        (run === 1 ? events : shuffled(run)).forEach((ev, i) => {
          a.event(ev);
          if (every > 0 && i % every === every - 1) s.flushFindings(id, a.findings.takeChanged(), cfg.maxEvidence);
        });
        s.flushFindings(id, a.finish(null).findings.list(), cfg.maxEvidence);
      }
      const rows = s.db.prepare('SELECT id, rule, severity, title, count, first_seen, last_seen, evidence_dropped, assets, details, first_run, last_run FROM findings ORDER BY id').all();
      const ev = s.db.prepare('SELECT finding_id, seq, run_id, ts, frame, type, detail FROM evidence ORDER BY finding_id, seq').all();
      s.close();
      return { rows, ev };
    };
    const once = store(0);
    expect(once.rows.length).toBeGreaterThan(3);
    expect(store(7)).toEqual(once);
    expect(store(1)).toEqual(once);
  });
});
