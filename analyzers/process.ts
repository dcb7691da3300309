/**
 * The process model (the passive digital twin): every tag seen on the wire — Sparkplug B metrics,
 * OPC UA node values (Read, Publish, Write), OPC UA PubSub dataset fields, and numeric fields of
 * JSON payloads on plain MQTT topics (configured mapping) — with its last value and history
 * (`process/model.ts`), and two integrity rules across it:
 * - `process.timestamp-anomaly`: a source timestamp that goes backwards or runs far ahead of
 *   the capture time;
 * - `process.source-divergence`: two configured paths to the same physical value disagree beyond
 *   the tolerance for longer than `divergenceHoldSec`.
 */
import type { DecodeEvent } from '../collectors/types.js';
import type { PubsubInfo } from '../collectors/pubsub/types.js';
import type { RuleContext } from './context.js';
import type { ProcessConfig } from './process/config.js';
import { JsonTags } from './process/json.js';
import { TagTable, type Tag, type TagSource } from './process/model.js';
import { UaPairing, type UaValue } from './process/opcua.js';
import type { SparkplugInfo } from './sparkplug.js';
import { clip, tsSeconds } from './util.js';

/** Delivery streams remembered per tag for the backwards check (beyond, the oldest are forgotten). */
const MAX_STREAMS = 8;

/** Delivery paths, each with its own backwards check. */
const VIA_DATA = 0;
const VIA_READ = 1;
const VIA_PUBLISH = 2;
const VIA_WRITE = 3;
const VIAS = 4;

interface SpHolder {
  prefix: string;
  /** null: refused by the tag cap (tags are never removed during a run, so the refusal stands). */
  tags: Map<string, Tag | null>;
}

interface LinkState {
  a: string;
  b: string;
  tolerance: number;
  toleranceRel: number;
  /** Capture seconds since the two values disagree, null while they agree. */
  since: number | null;
  ev: DecodeEvent | null;
}

/** Seconds of an ISO timestamp (any precision), NaN when it is not one. */
function isoSeconds(s: string): number {
  return Date.parse(s) / 1000;
}

export class ProcessRules {
  readonly table: TagTable;
  private readonly cfg: ProcessConfig;
  private readonly ua: UaPairing;
  private readonly json: JsonTags | null;
  private readonly links: LinkState[];
  /** Per Sparkplug topic: the tag-key prefix of its edge node or device and its tags by metric name (births and data share them). */
  private readonly spTopics = new Map<string, SpHolder>();
  private readonly spHolders = new Map<string, SpHolder>();
  private lastT = 0;
  /** OPC UA tags by server and node id (bounded by the tag cap). */
  private readonly uaTags = new Map<string, Map<string, Tag | null>>();
  /** Refusals remembered in the two maps above (bounded by maxKeysPerMap; beyond, they are recomputed). */
  private refusals = 0;

  constructor(private readonly ctx: RuleContext) {
    this.cfg = ctx.cfg.process;
    this.links = this.cfg.links.map((l) => ({ a: l.tags[0], b: l.tags[1], tolerance: l.tolerance, toleranceRel: l.toleranceRel, since: null, ev: null }));
    const linksOf = new Map<string, number[]>();
    this.links.forEach((l, i) => {
      for (const k of [l.a, l.b]) linksOf.set(k, [...(linksOf.get(k) ?? []), i]);
    });
    this.table = new TagTable(this.cfg, linksOf);
    this.ua = new UaPairing(ctx.cfg.maxKeysPerMap);
    this.json = this.cfg.json.length > 0 ? new JsonTags(this.cfg.json, ctx.cfg.maxKeysPerMap) : null;
  }

  /** Counters for the run summary. */
  counters(): Record<string, number> {
    return { tags: this.table.size, tagsDropped: this.table.dropped, tagHistoryDropped: this.table.historyDropped, tagPairingDropped: this.ua.dropped, tagJsonIncomplete: this.json?.incomplete ?? 0 };
  }

  /** A Sparkplug PUBLISH: births and data update their metrics, commands record the writer. */
  sparkplug(ev: DecodeEvent, sp: SparkplugInfo): void {
    if (sp.group === null || sp.edgeNode === null || !sp.metrics || sp.metrics.length === 0) return;
    const mt = sp.msgType;
    const cmd = mt === 'NCMD' || mt === 'DCMD';
    if (!cmd && mt !== 'NBIRTH' && mt !== 'DBIRTH' && mt !== 'NDATA' && mt !== 'DDATA') return;
    const topic = ev.topic as string;
    let h = this.spTopics.get(topic);
    if (h === undefined) {
      const prefix = `sp:${sp.group}/${sp.edgeNode}${sp.device ? '/' + sp.device : ''}:`;
      h = this.spHolders.get(prefix);
      if (h === undefined && this.spHolders.size < this.ctx.cfg.maxKeysPerMap) this.spHolders.set(prefix, (h = { prefix, tags: new Map() }));
      h ??= { prefix, tags: new Map() };
      if (this.spTopics.size < this.ctx.cfg.maxKeysPerMap) this.spTopics.set(topic, h);
    }
    const t = this.time(ev);
    const c2s = ev.dir === 'c2s';
    for (const m of sp.metrics) {
      const name = m.name ?? `#${String(m.alias)}`;
      let tag = h.tags.get(name);
      if (tag === undefined) {
        const key = h.prefix + name;
        tag = this.table.get(key) ?? this.table.create(key, 'sparkplug', { group: sp.group, edgeNode: sp.edgeNode, device: sp.device ?? null, metric: name }, ev.ts) ?? null;
        if (tag !== null || this.refusals++ < this.ctx.cfg.maxKeysPerMap) h.tags.set(name, tag);
        if (tag === null) continue; // counted by create()
      } else if (tag === null) {
        this.table.dropped++;
        continue;
      }
      if (cmd) {
        if (c2s) tag.writer = { ip: ev.flow.src, client: (ev.clientId as string) ?? null, ts: ev.ts, value: m.value, status: null };
        continue;
      }
      // The broker forwards each message to every subscriber: once the publisher's own copy is
      // seen, forwarded copies are ignored (they repeat it, later and out of order).
      if (c2s) tag.fromPublisher = true;
      else if (tag.fromPublisher) continue;
      if (tag.asset === null || c2s) tag.asset = c2s ? ev.flow.src : ev.flow.dst;
      const mts = (m as { timestamp?: unknown }).timestamp;
      const pts = (sp as { timestamp?: unknown }).timestamp;
      const ms = typeof mts === 'number' ? mts : typeof pts === 'number' ? pts : null;
      this.set(tag, ev, t, m.value, m.datatype ?? null, 'Good', ms, null, VIA_DATA);
    }
  }

  /** An OPC UA service event. */
  opcua(ev: DecodeEvent): void {
    if (ev.type !== 'MSG' || ev.service === null) return;
    this.ua.event(ev, (v) => this.uaValue(ev, v));
  }

  private uaValue(ev: DecodeEvent, v: UaValue): void {
    const id = v.nodeId ?? v.handle!;
    // server → node → tag: no key string built per value once the tag exists.
    let byNode = this.uaTags.get(v.server);
    let tag = byNode?.get(id);
    if (tag === undefined) {
      const key = `ua:${v.server}:${id}`;
      tag = this.table.get(key) ?? this.table.create(key, 'opcua', { server: v.server, nodeId: v.nodeId, handle: v.handle }, ev.ts) ?? null;
      // A server's map is made for its first entry: empty maps of refused servers are never kept.
      if (tag !== null || this.refusals++ < this.ctx.cfg.maxKeysPerMap) {
        if (byNode === undefined) this.uaTags.set(v.server, (byNode = new Map()));
        byNode.set(id, tag);
      }
      if (tag === null) return; // counted by create()
    } else if (tag === null) {
      this.table.dropped++;
      return;
    }
    tag.asset = ev.flow.dst;
    const t = this.time(ev);
    if (v.write) {
      tag.writer = { ip: v.write.ip, client: null, ts: ev.ts, value: v.value, status: v.write.status };
      if (v.write.status !== 'Good') return;
      // A client-supplied timestamp (usually none) says nothing about the server's clock.
      this.set(tag, ev, t, v.value, v.type, v.status, null, null, VIA_WRITE);
      return;
    }
    this.set(tag, ev, t, v.value, v.type, v.status, v.sourceTs, v.serverTs, v.via === 'read' ? VIA_READ : VIA_PUBLISH);
  }

  /** An event with a `pubsub` object: each data field of each DataSetMessage. */
  pubsub(ev: DecodeEvent): void {
    const ps = ev.pubsub as PubsubInfo | undefined;
    if (ps === undefined || ps.error !== undefined || !Array.isArray(ps.messages)) return;
    const pub = ps.publisherId === null ? '(none)' : String(ps.publisherId);
    const t = this.time(ev);
    const producer = ev.proto === 'mqtt' && ev.dir === 's2c' ? ev.flow.dst : ev.flow.src;
    for (const msg of ps.messages) {
      if (msg.type === 'keepalive' || !msg.valid) continue;
      const writer = msg.writerId ?? msg.writerName ?? '?';
      for (const f of msg.fields) {
        const field = f.name ?? `#${f.index}`;
        const key = `ps:${pub}/${writer}:${field}`;
        const tag = this.table.get(key) ?? this.table.create(key, 'pubsub', { publisher: pub, writer, field }, ev.ts);
        if (tag === undefined) continue;
        tag.asset = producer;
        this.set(tag, ev, t, f.value, f.type, f.status ?? msg.status ?? 'Good', f.sourceTimestamp ?? msg.timestamp ?? null, f.serverTimestamp ?? null, VIA_DATA);
      }
    }
  }

  /** A plain MQTT PUBLISH (no Sparkplug, no PubSub): the configured JSON fields. */
  mqttJson(ev: DecodeEvent): void {
    if (this.json === null) return;
    this.json.fields(ev, (key, path, value) => {
      const tag = this.table.get(key) ?? this.table.create(key, 'mqtt-json', path, ev.ts);
      if (tag === undefined) return;
      if (ev.dir === 'c2s') tag.fromPublisher = true;
      else if (tag.fromPublisher) return;
      if (tag.asset === null || ev.dir === 'c2s') tag.asset = ev.dir === 'c2s' ? ev.flow.src : ev.flow.dst;
      this.set(tag, ev, this.time(ev), value, 'Double', 'Good', null, null, VIA_DATA);
    });
  }

  /** End of run: divergences still open and held long enough are reported. */
  finish(): void {
    for (const l of this.links) if (l.since !== null && l.ev !== null && this.lastT - l.since >= this.cfg.divergenceHoldSec) this.diverged(l, l.ev);
  }

  private time(ev: DecodeEvent): number {
    const t = tsSeconds(ev.ts);
    if (t > this.lastT) this.lastT = t;
    return t;
  }

  /** `src`: the source timestamp as an ISO string or as milliseconds since the epoch (Sparkplug). */
  private set(tag: Tag, ev: DecodeEvent, t: number, value: unknown, type: string | null, quality: string | null, src: string | number | null, serverTs: string | null, via: number): void {
    this.table.update(tag, ev.ts, t, value, type, quality);
    if (serverTs !== null) tag.serverTs = serverTs;
    // An unchanged source timestamp (repeats, forwarded copies) needs no parsing and no check.
    if (src !== null && src !== tag.sourceTs) {
      tag.sourceTs = src;
      this.timestamp(tag, ev, t, src, via);
    }
    if (tag.links !== undefined) for (const i of tag.links) this.compare(this.links[i], ev, t);
  }

  private timestamp(tag: Tag, ev: DecodeEvent, t: number, src: string | number, via: number): void {
    const s = typeof src === 'number' ? src / 1000 : isoSeconds(src);
    if (Number.isNaN(s)) return;
    // Per stream: the connection (FlowRef objects are one per connection) and the service.
    const streams = (tag.srcT ??= new Map());
    let slot = streams.get(ev.flow);
    if (slot === undefined) {
      if (streams.size >= MAX_STREAMS) streams.delete(streams.keys().next().value as object);
      // A plain array of doubles: a Float64Array costs ~150 bytes more per stream (its buffer
      // object and backing store), ~1.5 MiB over the 10 000 tags of the bench capture.
      streams.set(ev.flow, (slot = new Array<number>(VIAS).fill(NaN)));
    }
    const prev = slot[via];
    slot[via] = s;
    // The common case (in order, not ahead) allocates nothing: the closures below are built only for a finding.
    const backwards = prev === prev && s < prev - this.cfg.backwardsToleranceSec;
    if (!backwards && !(s - t > this.cfg.futureSkewSec)) return;
    const iso = () => (typeof src === 'number' ? new Date(src).toISOString() : src);
    const base = () => ({ ts: ev.ts, flow: ev.flow, frame: (ev.frame as number) ?? null, type: evType(ev), assets: tag.asset ? [tag.asset] : [], subject: tag.key });
    if (backwards) {
      const previous = new Date(prev * 1000).toISOString();
      this.ctx.findings.raise('process.timestamp-anomaly', { ...base(), detail: () => `${clip(tag.key)}: source timestamp ${iso()} is ${(prev - s).toFixed(3)} s before the previous one (${previous})`, details: { tag: tag.key, kind: 'backwards', sourceTs: iso(), previous } });
    } else if (s - t > this.cfg.futureSkewSec) {
      this.ctx.findings.raise('process.timestamp-anomaly', { ...base(), detail: () => `${clip(tag.key)}: source timestamp ${iso()} is ${(s - t).toFixed(1)} s ahead of the capture time ${ev.ts}`, details: { tag: tag.key, kind: 'future', sourceTs: iso(), aheadSec: +(s - t).toFixed(3) } });
    }
  }

  private compare(l: LinkState, ev: DecodeEvent, t: number): void {
    const a = this.table.tags.get(l.a);
    const b = this.table.tags.get(l.b);
    if (a?.num == null || b?.num == null) return;
    const tol = Math.max(l.tolerance, l.toleranceRel * Math.max(Math.abs(a.num), Math.abs(b.num)));
    if (Math.abs(a.num - b.num) <= tol) {
      l.since = null;
      l.ev = null;
      return;
    }
    if (l.since === null) l.since = t;
    l.ev = ev;
    // Values propagate through two paths at different times: only a lasting disagreement counts.
    if (t - l.since >= this.cfg.divergenceHoldSec) this.diverged(l, ev);
  }

  private diverged(l: LinkState, ev: DecodeEvent): void {
    const a = this.table.tags.get(l.a)!;
    const b = this.table.tags.get(l.b)!;
    const assets = [a.asset, b.asset].filter((x): x is string => x !== null);
    this.ctx.findings.raise('process.source-divergence', {
      subject: `${l.a} <> ${l.b}`,
      ts: ev.ts,
      flow: ev.flow,
      frame: (ev.frame as number) ?? null,
      type: evType(ev),
      assets,
      detail: () => `${clip(l.a)} = ${a.num} but ${clip(l.b)} = ${b.num} (tolerance ${Math.max(l.tolerance, l.toleranceRel * Math.max(Math.abs(a.num!), Math.abs(b.num!)))})`,
      details: { tags: [l.a, l.b], values: [a.num, b.num], tolerance: l.tolerance, toleranceRel: l.toleranceRel },
    });
  }
}

function evType(ev: DecodeEvent): string {
  if (ev.proto === 'mqtt') return `PUBLISH ${clip(ev.topic)}`;
  return ev.service ? `${String(ev.type)} ${String(ev.service)}` : String(ev.type);
}

export type { TagSource };
