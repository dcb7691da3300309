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
import { Baseline, type BaselineKind, type PeriodStats, type ValueStats } from './baseline-data.js';
import { SeriesColumns, ValueTable } from './packed.js';
import { CappedMap, clip, endpoint, flat, flowKey, serverOf, tsSeconds } from './util.js';

export { BASELINE_KINDS, Baseline, mergeBaselineData, type BaselineKind, type PeriodStats, type ValueStats } from './baseline-data.js';

/** A value series the baseline does not hold packed (detect mode: not learned, or imported data of another shape). */
interface LooseSeries {
  last: number;
  repeat: number;
  samples: number;
  stuckReported: boolean;
}

/** Per topic: first and last message time, count, and the last message (for `asset.silent`). */
interface TopicSeen {
  first: number;
  last: number;
  n: number;
  ts: string;
  flow: DecodeEvent['flow'];
  frame: number | null;
  clientId: string;
}

const NODE_MANAGEMENT = new Set(['AddNodesRequest', 'AddReferencesRequest', 'DeleteNodesRequest', 'DeleteReferencesRequest']);

/**
 * Records a baseline (learn) or compares with one (detect). With mode 'off' (no baseline in the
 * store) it only counts what it would have judged, for the summary.
 *
 * Value series are rows, not objects: learning keeps each series' statistics in a `ValueTable`
 * (handed to `learned` at the end) and its state in `SeriesColumns`; detecting keeps the state
 * of a learned series in `SeriesColumns` at the baseline's own row, so the key is held once.
 */
export class BaselineRules {
  /** What this run learned (learn mode). */
  readonly learned = new Baseline();
  private readonly seenFlows: CappedMap<string, true>;
  /** Learn mode: the statistics of each series. */
  private readonly stats = new ValueTable();
  /** Per series row (learn: of `stats`; detect: of the baseline's values): this run's state. */
  private readonly state = new SeriesColumns();
  /** Detect mode: learned series seen in this run. */
  private seenSeries = 0;
  /** Detect mode: series without a packed learned row. */
  private readonly loose = new Map<string, LooseSeries>();
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
    this.topics = new CappedMap(cap);
  }

  private note(kind: BaselineKind, key: string, ev: DecodeEvent, rule: string, detail: string, assets: string[]): boolean {
    if (this.mode === 'learn') {
      if (!this.learned.addKey(kind, key, this.ctx.cfg.maxKeysPerMap)) this.overflow++;
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
    const ts = this.topics.obtain(topic, () => ({ first: t, last: t, n: 0, ts: ev.ts, flow: ev.flow, frame: null, clientId: who }));
    if (ts) {
      ts.n++;
      if (t > ts.last) ts.last = t;
      ts.ts = ev.ts;
      ts.flow = ev.flow;
      ts.frame = (ev.frame as number) ?? null;
      ts.clientId = who;
    }
    if (sp && sp.metrics && sp.group !== null) {
      const node = `${sp.group}/${sp.edgeNode}${sp.device ? '/' + sp.device : ''}`;
      for (const m of sp.metrics) {
        const v = numeric(m.value);
        if (v === null) continue;
        this.value(`sp:${node}:${m.name ?? '#' + String(m.alias)}`, v, ev);
      }
    }
  }

  private write(ev: DecodeEvent): void {
    const nodes = ev.nodesToWrite as { nodeId?: string; value?: { value?: { value?: unknown } } }[] | undefined;
    if (!Array.isArray(nodes)) return;
    const server = serverOf(ev.flow);
    for (const n of nodes) {
      const id = String(n.nodeId ?? '?');
      this.note('write', `${ev.flow.src}>${server}|${id}`, ev, 'opcua.unauthorized-write', `WriteRequest from ${ev.flow.src} to ${clip(id)} on ${server}, not written by it while learning`, [ev.flow.src, ev.flow.dst]);
      const v = numeric(n.value?.value?.value);
      if (v !== null) this.value(`ua:${server}:${id}`, v, ev);
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

  private value(key: string, v: number, ev: DecodeEvent): void {
    if (this.mode === 'learn') this.learnValue(key, v);
    else this.detectValue(key, v, ev);
  }

  private learnValue(key: string, v: number): void {
    const st = this.stats;
    const s = this.state;
    let i = st.row(key);
    if (i < 0) {
      if (st.size >= this.ctx.cfg.maxKeysPerMap) {
        this.overflow++;
        return;
      }
      i = st.add(flat(key));
      s.ensure(i + 1);
      st.min[i] = v;
      st.max[i] = v;
    }
    const n = st.n[i];
    const step = n > 0 ? Math.abs(v - s.last[i]) : 0;
    s.repeat[i] = n > 0 && v === s.last[i] ? s.repeat[i] + 1 : 0;
    st.n[i] = n + 1;
    if (v < st.min[i]) st.min[i] = v;
    if (v > st.max[i]) st.max[i] = v;
    if (step > st.maxStep[i]) st.maxStep[i] = step;
    if (st.min[i] !== st.max[i]) st.varied[i] = 1;
    s.last[i] = v;
  }

  private detectValue(key: string, v: number, ev: DecodeEvent): void {
    const b = this.base.values;
    const i = b.row(key);
    if (i < 0) return this.detectLoose(key, v, ev);
    const s = this.state;
    if (i >= s.last.length) s.ensure(b.min.length);
    const n = s.samples[i];
    if (n === 0) {
      if (this.seenSeries + this.loose.size >= this.ctx.cfg.maxKeysPerMap) {
        this.overflow++;
        return;
      }
      this.seenSeries++;
    }
    const step = n > 0 ? Math.abs(v - s.last[i]) : 0;
    const repeat = n > 0 && v === s.last[i] ? s.repeat[i] + 1 : 0;
    s.repeat[i] = repeat;
    s.samples[i] = n + 1;
    const stuck = this.judgeValue(key, v, step, n + 1, repeat, s.stuckReported[i] === 1, b.min[i], b.max[i], b.maxStep[i], b.varied[i] === 1, ev);
    s.stuckReported[i] = stuck ? 1 : 0;
    s.last[i] = v;
  }

  /** A series without a packed learned row: not learned (judged by nothing) or learned data of another shape. */
  private detectLoose(key: string, v: number, ev: DecodeEvent): void {
    let s = this.loose.get(key);
    if (!s) {
      if (this.seenSeries + this.loose.size >= this.ctx.cfg.maxKeysPerMap) {
        this.overflow++;
        return;
      }
      s = { last: v, repeat: 0, samples: 0, stuckReported: false };
      this.loose.set(flat(key), s);
    }
    const step = s.samples > 0 ? Math.abs(v - s.last) : 0;
    s.repeat = s.samples > 0 && v === s.last ? s.repeat + 1 : 0;
    s.samples++;
    const learned = this.base.get('value', key) as ValueStats | undefined;
    if (learned) s.stuckReported = this.judgeValue(key, v, step, s.samples, s.repeat, s.stuckReported, learned.min, learned.max, learned.maxStep, learned.varied, ev);
    s.last = v;
  }

  /** Compare one sample with the learned range, step and variability; returns the new stuck-reported flag. */
  private judgeValue(key: string, v: number, step: number, samples: number, repeat: number, stuckReported: boolean, min: number, max: number, maxStep: number, varied: boolean, ev: DecodeEvent): boolean {
    const c = this.ctx.cfg;
    const margin = Math.max((max - min) * c.valueMargin, c.valueMarginAbs);
    const base = { ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, type: `${ev.type} ${String(ev.topic ?? ev.service ?? '')}`, assets: [ev.flow.src, ev.flow.dst] };
    if (v < min - margin || v > max + margin) {
      this.ctx.findings.raise('process.value-out-of-range', { ...base, subject: key, detail: `${key} = ${v}, learned range [${min}, ${max}]`, details: { baseline: { kind: 'value', key }, value: v, min, max } });
    }
    if (samples > 1 && maxStep > 0 && step > maxStep * c.valueRateFactor && step > margin) {
      this.ctx.findings.raise('process.value-rate', { ...base, subject: key, detail: `${key} changed by ${step} in one sample, largest learned change ${maxStep}`, details: { baseline: { kind: 'value', key }, step, maxStep } });
    }
    if (varied && repeat + 1 >= c.valueStuckCount && !stuckReported) {
      this.ctx.findings.raise('process.value-stuck', { ...base, subject: key, detail: `${key} repeated ${v} ${repeat + 1} times in a row; it varied while learning` });
      return true;
    }
    return repeat === 0 ? false : stuckReported;
  }

  /** End of run: learned value stats and periods go to `learned`; silent publishers are reported. */
  finish(): void {
    if (this.mode === 'learn') {
      this.learned.adoptValues(this.stats);
      for (const [topic, ts] of this.topics) {
        if (ts.n >= 5 && ts.last > ts.first) this.learned.set('period', topic, { period: (ts.last - ts.first) / (ts.n - 1), n: ts.n });
      }
      return;
    }
    if (this.mode !== 'detect' || !Number.isFinite(this.lastT)) return;
    const c = this.ctx.cfg;
    for (const [topic, data] of this.base.entries('period')) {
      const p = data as PeriodStats;
      const limit = Math.max(p.period * c.silentFactor, c.silentMinSec);
      const seen = this.topics.get(topic);
      const last = seen ? seen.last : this.firstT;
      const silentFor = this.lastT - last;
      if (silentFor <= limit) continue;
      this.ctx.findings.raise('asset.silent', {
        subject: topic,
        ts: this.lastTs,
        flow: seen?.flow ?? null,
        frame: seen?.frame ?? null,
        type: 'PUBLISH',
        detail: `nothing on '${clip(topic)}' for ${silentFor.toFixed(1)} s (learned period ${p.period.toFixed(2)} s, limit ${limit.toFixed(1)} s)${seen ? `; last from '${clip(seen.clientId, 64)}' at ${seen.ts}` : '; not seen in this run'}`,
        assets: seen ? [seen.flow.src] : [],
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
