/**
 * Sparkplug B state rules (Sparkplug 3.0 §6.4): sequence numbers per edge node, bdSeq of births
 * and deaths, data before birth, node and device deaths.
 *
 * The broker forwards each message to every subscriber, so the same message may be captured
 * several times. Sequence and birth state are kept per connection (each one is a consistent
 * stream); a node published on a captured client → broker connection is judged on that one only.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { RuleContext } from './context.js';
import { CappedMap, flowKey, tsSeconds } from './util.js';

export interface SparkplugInfo {
  group: string | null;
  msgType: string;
  edgeNode: string | null;
  device: string | null;
  seq: number | null;
  bdSeq: number | null;
  metrics?: { name: string | null; alias: number | null; datatype: string | null; value: unknown }[];
}

interface StreamState {
  lastSeq: number | null;
  born: boolean;
  devices: Set<string>;
}

/** A node's name and its stream state on one connection. */
interface NodeSlot {
  node: string;
  c2s: StreamState | null;
  s2c: StreamState | null;
}

/** The value of the maps used as sets (one function, not a closure per event). */
const yes = (): true => true;

/** Seconds within which an NDEATH with the same bdSeq is a forwarded copy, not a new death. */
const COPY_WINDOW_SEC = 10;

export class SparkplugRules {
  private readonly streams: CappedMap<string, StreamState>;
  /** Nodes published directly by a captured edge node connection (c2s). */
  private readonly direct: CappedMap<string, true>;
  private readonly birthBdSeq: CappedMap<string, number>;
  private readonly lastDeath: CappedMap<string, { bdSeq: number | null; t: number }>;
  /** Connections whose CONNECT was captured (their births cannot have been missed). */
  private readonly connectSeen: CappedMap<string, true>;

  constructor(private readonly ctx: RuleContext) {
    const cap = ctx.cfg.maxKeysPerMap;
    this.streams = new CappedMap(cap);
    this.direct = new CappedMap(cap);
    this.birthBdSeq = new CappedMap(cap);
    this.lastDeath = new CappedMap(cap);
    this.connectSeen = new CappedMap(cap);
  }

  /** Keys the caps refused (for the run summary). */
  get refused(): number {
    return this.streams.refused + this.direct.refused + this.birthBdSeq.refused + this.lastDeath.refused + this.connectSeen.refused;
  }

  connect(ev: DecodeEvent): void {
    this.connectSeen.obtain(flowKey(ev.flow), yes);
  }

  /** Per FlowRef object and node: the node's name and its stream state on that connection. */
  private readonly byFlow = new WeakMap<object, Map<string, NodeSlot>>();
  private lastFlow: object | null = null;
  private lastLocal: Map<string, NodeSlot> | undefined = undefined;

  publish(ev: DecodeEvent, sp: SparkplugInfo): void {
    if (sp.group === null || sp.edgeNode === null) return; // STATE
    let local = ev.flow === this.lastFlow ? this.lastLocal : this.byFlow.get(ev.flow);
    if (local === undefined) {
      local = new Map();
      this.byFlow.set(ev.flow, local);
    }
    // Consecutive messages mostly share a connection: the WeakMap is asked only on a change.
    this.lastFlow = ev.flow;
    this.lastLocal = local;
    const nk = sp.edgeNode + '\0' + sp.group;
    let cached = local.get(nk);
    if (cached === undefined) {
      cached = { node: `${sp.group}/${sp.edgeNode}`, c2s: null, s2c: null };
      if (local.size < 1024) local.set(nk, cached);
    }
    const node = cached.node;
    const t = sp.msgType;
    if (ev.dir === 'c2s') this.direct.obtain(node, yes);
    else if (this.direct.has(node)) {
      // A forwarded copy of a node we see directly: only deaths (will messages) come from the broker.
      if (t === 'NDEATH') this.death(ev, sp, node);
      return;
    }
    if (t === 'NCMD' || t === 'DCMD') return; // commands carry no seq
    if (t === 'NDEATH') {
      this.death(ev, sp, node);
      return;
    }
    const fk = flowKey(ev.flow);
    let st = ev.dir === 'c2s' ? cached.c2s : cached.s2c;
    if (st === null) {
      const got = this.streams.obtain(`${fk}|${ev.dir}|${node}`, () => ({ lastSeq: null, born: false, devices: new Set() }));
      if (!got) return;
      st = got;
      if (ev.dir === 'c2s') cached.c2s = st;
      else cached.s2c = st;
    }
    if (t === 'NBIRTH') {
      st.born = true;
      st.devices.clear();
      st.lastSeq = sp.seq;
      if (sp.bdSeq !== null) this.birthBdSeq.set(node, sp.bdSeq);
      return;
    }
    this.checkSeq(ev, sp, node, st);
    const fromStart = ev.dir === 'c2s' && this.connectSeen.has(fk);
    const dev = sp.device ?? '';
    if (t === 'DBIRTH') {
      if (st.devices.size < 1024) st.devices.add(dev);
      if (fromStart && !st.born) this.beforeBirth(ev, node, 'DBIRTH before NBIRTH');
    } else if (t === 'DDEATH') {
      st.devices.delete(dev);
      this.ctx.findings.raise('sparkplug.device-death', { ...this.base(ev), subject: `${node}/${dev}`, detail: `DDEATH of device ${node}/${dev}` });
    } else if (t === 'NDATA') {
      if (fromStart && !st.born) this.beforeBirth(ev, node, 'NDATA before NBIRTH');
    } else if (t === 'DDATA') {
      if (fromStart && (!st.born || !st.devices.has(dev))) this.beforeBirth(ev, `${node}/${dev}`, `DDATA before DBIRTH of ${dev}`);
    }
  }

  private base(ev: DecodeEvent) {
    return { ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, type: `PUBLISH ${String(ev.topic ?? '')}`, assets: [ev.flow.src, ev.flow.dst] };
  }

  private checkSeq(ev: DecodeEvent, sp: SparkplugInfo, node: string, st: StreamState): void {
    if (sp.seq === null) return;
    if (st.lastSeq !== null) {
      const expected = (st.lastSeq + 1) % 256;
      if (sp.seq !== expected) {
        this.ctx.findings.raise('sparkplug.seq-gap', {
          ...this.base(ev),
          subject: node,
          detail: `${sp.msgType} seq ${sp.seq}, expected ${expected} (${ev.dir} on ${ev.flow.src}:${ev.flow.sport})`,
          details: { node },
        });
      }
    }
    st.lastSeq = sp.seq;
  }

  private beforeBirth(ev: DecodeEvent, subject: string, what: string): void {
    this.ctx.findings.raise('sparkplug.data-before-birth', { ...this.base(ev), subject, detail: `${what} on a connection whose CONNECT was captured` });
  }

  private death(ev: DecodeEvent, sp: SparkplugInfo, node: string): void {
    const t = tsSeconds(ev.ts);
    const last = this.lastDeath.get(node);
    if (last && last.bdSeq === sp.bdSeq && t - last.t < COPY_WINDOW_SEC) return; // a forwarded copy
    this.lastDeath.set(node, { bdSeq: sp.bdSeq, t });
    // The death ends the node's streams: data before a new birth is then out of order.
    for (const [k, st] of this.streams) if (k.endsWith(`|${node}`)) st.born = false;
    const fs = this.ctx.findings;
    fs.raise('sparkplug.node-death', { ...this.base(ev), subject: node, detail: `NDEATH of ${node} (bdSeq ${String(sp.bdSeq)})` });
    const born = this.birthBdSeq.get(node);
    if (born !== undefined && sp.bdSeq !== null && sp.bdSeq !== born) {
      fs.raise('sparkplug.bdseq-mismatch', { ...this.base(ev), subject: node, detail: `NDEATH bdSeq ${sp.bdSeq} but the NBIRTH had bdSeq ${born}` });
    }
  }
}
