/**
 * Learn-then-detect: the baseline of who talks to whom, who publishes which topic, who commands
 * which Sparkplug edge node, who writes or calls which OPC UA node or method, the numeric range,
 * step and variability of process values, and the period of each publisher. `--learn` records;
 * a later run on the same store compares and raises the baseline rules (rules.ts, needsBaseline).
 *
 * Values come from Sparkplug B metrics published by edge nodes (client → broker) and from OPC UA
 * WriteRequests. Encrypted OPC UA messages and plain MQTT payloads (only a short preview is
 * decoded) give no values.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { FlowRecord } from '../collectors/net/flow.js';
import type { RuleContext } from './context.js';
import type { SparkplugInfo } from './sparkplug.js';
import { CappedMap, clip, endpoint, flowKey, serverOf, tsSeconds } from './util.js';

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

/** The learned baseline: per kind, key → data (null for plain membership). */
export class Baseline {
  readonly items = new Map<BaselineKind, Map<string, unknown>>();

  constructor() {
    for (const k of BASELINE_KINDS) this.items.set(k, new Map());
  }

  get size(): number {
    let n = 0;
    for (const m of this.items.values()) n += m.size;
    return n;
  }

  has(kind: BaselineKind, key: string): boolean {
    return this.items.get(kind)!.has(key);
  }

  get(kind: BaselineKind, key: string): unknown {
    return this.items.get(kind)!.get(key);
  }

  set(kind: BaselineKind, key: string, data: unknown): void {
    this.items.get(kind)!.set(key, data);
  }

  delete(kind: BaselineKind, key: string): boolean {
    return this.items.get(kind)!.delete(key);
  }

  /** Merge another baseline into this one (sets united, ranges widened, periods: the longest). */
  merge(o: Baseline): void {
    for (const [kind, m] of o.items) {
      for (const [k, v] of m) this.set(kind, k, mergeData(kind, this.get(kind, k), v));
    }
  }
}

function mergeData(kind: BaselineKind, a: unknown, b: unknown): unknown {
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

interface Series {
  last: number;
  lastT: number;
  repeat: number;
  stuckReported: boolean;
  stats: ValueStats;
}

interface TopicSeen {
  first: number;
  last: number;
  n: number;
  ev: { ts: string; flow: DecodeEvent['flow']; frame: number | null; clientId: string };
}

const NODE_MANAGEMENT = new Set(['AddNodesRequest', 'AddReferencesRequest', 'DeleteNodesRequest', 'DeleteReferencesRequest']);

/**
 * Records a baseline (learn) or compares with one (detect). With mode 'off' (no baseline in the
 * store) it only counts what it would have judged, for the summary.
 */
export class BaselineRules {
  /** What this run learned (learn mode). */
  readonly learned = new Baseline();
  private readonly seenFlows: CappedMap<string, true>;
  private readonly series: CappedMap<string, Series>;
  private readonly topics: CappedMap<string, TopicSeen>;
  private firstT = Infinity;
  private lastT = -Infinity;
  private lastTs = '';
  /** Items not learned / judged because of the caps. */
  overflow = 0;

  constructor(
    private readonly ctx: RuleContext,
    private readonly mode: 'learn' | 'detect' | 'off',
    private readonly base: Baseline,
  ) {
    const cap = ctx.cfg.maxKeysPerMap;
    this.seenFlows = new CappedMap(cap);
    this.series = new CappedMap(cap);
    this.topics = new CappedMap(cap);
  }

  private note(kind: BaselineKind, key: string, ev: DecodeEvent, rule: string, detail: string, assets: string[]): boolean {
    if (this.mode === 'learn') {
      const m = this.learned.items.get(kind)!;
      if (!m.has(key)) {
        if (m.size >= this.ctx.cfg.maxKeysPerMap) this.overflow++;
        else m.set(key, null);
      }
      return true;
    }
    if (this.mode === 'off' || this.base.has(kind, key)) return true;
    this.ctx.findings.raise(rule, {
      subject: key,
      ts: ev.ts,
      flow: ev.flow,
      frame: (ev.frame as number) ?? null,
      type: ev.service ? `${ev.type} ${String(ev.service)}` : ev.type,
      detail,
      assets,
      details: { baseline: { kind, key } },
    });
    return false;
  }

  event(ev: DecodeEvent): void {
    if (this.mode === 'off') return; // no baseline: nothing to learn or compare
    const t = tsSeconds(ev.ts);
    if (t < this.firstT) this.firstT = t;
    if (t > this.lastT) {
      this.lastT = t;
      this.lastTs = ev.ts;
    }
    const fk = flowKey(ev.flow);
    if (!this.seenFlows.has(fk)) {
      if (this.seenFlows.obtain(fk, () => true)) this.newFlow(ev);
    }
    if (ev.proto === 'mqtt') {
      if (ev.type === 'PUBLISH' && ev.dir === 'c2s') this.publish(ev);
    } else if (ev.proto === 'opcua' && ev.type === 'MSG' && ev.dir === 'c2s') {
      const svc = ev.service;
      if (svc === 'WriteRequest') this.write(ev);
      else if (svc === 'CallRequest') this.call(ev);
      else if (typeof svc === 'string' && NODE_MANAGEMENT.has(svc)) {
        this.note('nodemgmt', `${ev.flow.src}>${serverOf(ev.flow)}|${svc}`, ev, 'opcua.address-space-change', `${svc} from ${ev.flow.src} not seen during learning`, [ev.flow.src, ev.flow.dst]);
      }
    }
  }

  private newFlow(ev: DecodeEvent): void {
    const f = ev.flow;
    for (const ip of [f.src, f.dst]) this.note('asset', ip, ev, 'net.new-asset', `${ip} (${ev.proto}) not in the baseline`, [ip]);
    const key = `${f.src}>${endpoint(f.dst, f.dport)}/${ev.proto}`;
    this.note('connection', key, ev, 'net.new-connection', `${ev.proto} connection ${f.src} → ${endpoint(f.dst, f.dport)} not in the baseline`, [f.src, f.dst]);
  }

  /** Flow records carry no application identity when no message decoded; events cover assets. */
  flow(_r: FlowRecord): void {}

  private publish(ev: DecodeEvent): void {
    const topic = typeof ev.topic === 'string' ? ev.topic : '';
    const who = typeof ev.clientId === 'string' && ev.clientId ? ev.clientId : ev.flow.src;
    const sp = ev.sparkplug as SparkplugInfo | null;
    if (sp && (sp.msgType === 'NCMD' || sp.msgType === 'DCMD')) {
      const target = `${sp.group}/${sp.edgeNode}${sp.device ? '/' + sp.device : ''}`;
      this.note('command', `${who}>${sp.group}/${sp.edgeNode}`, ev, 'sparkplug.unauthorized-command', `${sp.msgType} to ${target} from '${clip(who, 64)}' (${ev.flow.src}), which sent no command to that edge node while learning`, [ev.flow.src, ev.flow.dst]);
      return;
    }
    this.note('publish', `${who}>${topic}`, ev, 'mqtt.unauthorized-publish', `'${clip(who, 64)}' (${ev.flow.src}) published on '${clip(topic)}', which it did not while learning`, [ev.flow.src, ev.flow.dst]);
    const t = tsSeconds(ev.ts);
    const ts = this.topics.obtain(topic, () => ({ first: t, last: t, n: 0, ev: { ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, clientId: who } }));
    if (ts) {
      ts.n++;
      if (t > ts.last) ts.last = t;
      ts.ev = { ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, clientId: who };
    }
    if (sp && sp.metrics && sp.group !== null) {
      const node = `${sp.group}/${sp.edgeNode}${sp.device ? '/' + sp.device : ''}`;
      for (const m of sp.metrics) {
        const v = numeric(m.value);
        if (v === null) continue;
        this.value(`sp:${node}:${m.name ?? '#' + String(m.alias)}`, v, t, ev);
      }
    }
  }

  private write(ev: DecodeEvent): void {
    const nodes = ev.nodesToWrite as { nodeId?: string; value?: { value?: { value?: unknown } } }[] | undefined;
    if (!Array.isArray(nodes)) return;
    const server = serverOf(ev.flow);
    const t = tsSeconds(ev.ts);
    for (const n of nodes) {
      const id = String(n.nodeId ?? '?');
      this.note('write', `${ev.flow.src}>${server}|${id}`, ev, 'opcua.unauthorized-write', `WriteRequest from ${ev.flow.src} to ${clip(id)} on ${server}, not written by it while learning`, [ev.flow.src, ev.flow.dst]);
      const v = numeric(n.value?.value?.value);
      if (v !== null) this.value(`ua:${server}:${id}`, v, t, ev);
    }
  }

  private call(ev: DecodeEvent): void {
    const calls = ev.methodsToCall as { objectId?: string; methodId?: string }[] | undefined;
    if (!Array.isArray(calls)) return;
    const server = serverOf(ev.flow);
    for (const c of calls) {
      const id = String(c.methodId ?? '?');
      this.note('call', `${ev.flow.src}>${server}|${id}`, ev, 'opcua.unauthorized-call', `CallRequest from ${ev.flow.src} for method ${clip(id)} (object ${clip(c.objectId ?? '?')}) on ${server}, not called by it while learning`, [ev.flow.src, ev.flow.dst]);
    }
  }

  private value(key: string, v: number, t: number, ev: DecodeEvent): void {
    const s = this.series.obtain(key, () => ({ last: v, lastT: t, repeat: 0, stuckReported: false, stats: { min: v, max: v, maxStep: 0, n: 0, varied: false } }));
    if (!s) {
      this.overflow++;
      return;
    }
    const step = s.stats.n > 0 ? Math.abs(v - s.last) : 0;
    s.repeat = s.stats.n > 0 && v === s.last ? s.repeat + 1 : 0;
    s.stats.n++;
    if (this.mode === 'learn') {
      const st = s.stats;
      if (v < st.min) st.min = v;
      if (v > st.max) st.max = v;
      if (step > st.maxStep) st.maxStep = step;
      if (st.min !== st.max) st.varied = true;
    } else if (this.mode === 'detect') {
      this.judgeValue(key, v, step, s, ev);
    }
    s.last = v;
    s.lastT = t;
  }

  private judgeValue(key: string, v: number, step: number, s: Series, ev: DecodeEvent): void {
    const learned = this.base.get('value', key) as ValueStats | undefined;
    if (!learned) return;
    const c = this.ctx.cfg;
    const margin = Math.max((learned.max - learned.min) * c.valueMargin, c.valueMarginAbs);
    const base = { ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, type: `${ev.type} ${String(ev.topic ?? ev.service ?? '')}`, assets: [ev.flow.src, ev.flow.dst] };
    if (v < learned.min - margin || v > learned.max + margin) {
      this.ctx.findings.raise('process.value-out-of-range', { ...base, subject: key, detail: `${key} = ${v}, learned range [${learned.min}, ${learned.max}]`, details: { baseline: { kind: 'value', key }, value: v, min: learned.min, max: learned.max } });
    }
    if (s.stats.n > 1 && learned.maxStep > 0 && step > learned.maxStep * c.valueRateFactor && step > margin) {
      this.ctx.findings.raise('process.value-rate', { ...base, subject: key, detail: `${key} changed by ${step} in one sample, largest learned change ${learned.maxStep}`, details: { baseline: { kind: 'value', key }, step, maxStep: learned.maxStep } });
    }
    if (learned.varied && s.repeat + 1 >= c.valueStuckCount && !s.stuckReported) {
      s.stuckReported = true;
      this.ctx.findings.raise('process.value-stuck', { ...base, subject: key, detail: `${key} repeated ${v} ${s.repeat + 1} times in a row; it varied while learning` });
    } else if (s.repeat === 0) s.stuckReported = false;
  }

  /** End of run: learned value stats and periods go to `learned`; silent publishers are reported. */
  finish(): void {
    if (this.mode === 'learn') {
      for (const [k, s] of this.series) this.learned.set('value', k, { ...s.stats });
      for (const [topic, ts] of this.topics) {
        if (ts.n >= 5 && ts.last > ts.first) this.learned.set('period', topic, { period: (ts.last - ts.first) / (ts.n - 1), n: ts.n });
      }
      return;
    }
    if (this.mode !== 'detect' || !Number.isFinite(this.lastT)) return;
    const c = this.ctx.cfg;
    for (const [topic, data] of this.base.items.get('period')!) {
      const p = data as PeriodStats;
      const limit = Math.max(p.period * c.silentFactor, c.silentMinSec);
      const seen = this.topics.get(topic);
      const last = seen ? seen.last : this.firstT;
      const silentFor = this.lastT - last;
      if (silentFor <= limit) continue;
      this.ctx.findings.raise('asset.silent', {
        subject: topic,
        ts: this.lastTs,
        flow: seen?.ev.flow ?? null,
        frame: seen?.ev.frame ?? null,
        type: 'PUBLISH',
        detail: `nothing on '${clip(topic)}' for ${silentFor.toFixed(1)} s (learned period ${p.period.toFixed(2)} s, limit ${limit.toFixed(1)} s)${seen ? `; last from '${clip(seen.ev.clientId, 64)}' at ${seen.ev.ts}` : '; not seen in this run'}`,
        assets: seen ? [seen.ev.flow.src] : [],
        details: { baseline: { kind: 'period', key: topic } },
      });
    }
  }
}

function numeric(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v) && v.length < 20) return Number(v);
  return null;
}
