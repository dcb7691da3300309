/**
 * Sparkplug B (Eclipse Sparkplug 3.0, namespace `spBv1.0`): topic parsing, payload decoding with
 * the Eclipse Tahu protobuf schema (through `sparkplug-payload`), metric aliases learnt from birth
 * certificates, bdSeq from birth and death certificates.
 */
import sparkplugPayload from 'sparkplug-payload';
import protoRoot from 'sparkplug-payload/lib/sparkplugPayloadProto.js';
import { hex } from './properties.js';
import { decodeTahuScalar, s64, type TahuPayload } from './tahu.js';

type SparkplugCodec = NonNullable<ReturnType<typeof sparkplugPayload.get>>;
const codec = sparkplugPayload.get('spBv1.0') as SparkplugCodec;
/** The Tahu protobuf message itself: the fallback when the high-level decoder rejects a value it cannot map. */
const RawPayload = protoRoot.org.eclipse.tahu.protobuf.Payload;

/** Sparkplug 3.0 §6.4.16 datatype numbers. */
const DATATYPES = ['Unknown', 'Int8', 'Int16', 'Int32', 'Int64', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'Float', 'Double', 'Boolean', 'String', 'DateTime', 'Text', 'UUID', 'DataSet', 'Bytes', 'File', 'Template', 'PropertySet', 'PropertySetList'];

interface LooseMetric {
  name?: unknown;
  alias?: unknown;
  type?: unknown;
  value?: unknown;
  timestamp?: unknown;
  isHistorical?: unknown;
  isTransient?: unknown;
  properties?: unknown;
  metadata?: unknown;
}

/**
 * Decode with sparkplug-payload; when it throws on a value it cannot map (e.g. DataSet cells of
 * some types in 1.0.3), decode the protobuf message directly and keep the raw oneof values.
 * Throws when the bytes are not a Tahu Payload.
 */
function decodeLoose(payload: Uint8Array): { seq?: unknown; timestamp?: unknown; uuid?: unknown; metrics: LooseMetric[] } {
  try {
    const d = codec.decodePayload(payload);
    const metrics = (d.metrics ?? []) as LooseMetric[];
    for (const m of metrics) if (m.type === 'Int64') m.value = signedLong(m.value);
    return { seq: d.seq, timestamp: d.timestamp, uuid: d.uuid, metrics };
  } catch {
    const raw = RawPayload.decode(payload) as unknown as { seq?: unknown; timestamp?: unknown; uuid?: unknown; metrics?: Record<string, unknown>[] };
    const metrics = (raw.metrics ?? []).map((m): LooseMetric => {
      // Metric by metric: only the one the high-level decoder rejects keeps its raw protobuf form.
      try {
        const one = codec.decodePayload(RawPayload.encode(RawPayload.create({ metrics: [m as never] })).finish());
        if (one.metrics?.length === 1) return one.metrics[0] as LooseMetric;
      } catch {
        // fall through to the raw form
      }
      const which = m.value;
      return {
        name: m.name,
        alias: m.alias,
        type: DATATYPES[m.datatype as number] ?? `Unknown(${String(m.datatype)})`,
        value: m.isNull ? null : typeof which === 'string' ? m[which] : null,
        timestamp: m.timestamp,
        isHistorical: m.isHistorical,
        isTransient: m.isTransient,
        properties: m.properties,
        metadata: m.metadata,
      };
    });
    return { seq: raw.seq, timestamp: raw.timestamp, uuid: raw.uuid, metrics };
  }
}

/**
 * An Int64 value as signed: sparkplug-payload 1.0.3 returns protobufjs's unsigned Long (its
 * `instanceof Long` check fails across the two copies of long.js), so -1 would read as 2^64-1.
 */
function signedLong(v: unknown): unknown {
  const o = v as { low?: unknown; high?: unknown } | null;
  if (o === null || typeof o !== 'object' || typeof o.low !== 'number' || typeof o.high !== 'number') return v;
  return s64(o.low >>> 0, o.high >>> 0);
}

export const SPARKPLUG_TYPES = ['NBIRTH', 'NDEATH', 'DBIRTH', 'DDEATH', 'NDATA', 'DDATA', 'NCMD', 'DCMD', 'STATE'] as const;

export interface SparkplugTopic {
  group: string | null;
  msgType: string;
  edgeNode: string | null;
  device: string | null;
  /** Host application id of a STATE topic. */
  hostId: string | null;
}

/**
 * Parse a Sparkplug topic (Sparkplug 3.0 §4.1): `spBv1.0/{group}/{type}/{edge}[/{device}]` or
 * `spBv1.0/STATE/{host}` (and the 2.2 form `STATE/{host}`). Null when the topic is not Sparkplug B.
 */
export function parseSparkplugTopic(topic: string): SparkplugTopic | null {
  if (topic.startsWith('STATE/') && topic.length > 6 && topic.indexOf('/', 6) < 0) {
    return { group: null, msgType: 'STATE', edgeNode: null, device: null, hostId: topic.slice(6) };
  }
  if (!topic.startsWith('spBv1.0/')) return null;
  const parts = topic.split('/');
  if (parts.length === 3 && parts[1] === 'STATE') {
    return { group: null, msgType: 'STATE', edgeNode: null, device: null, hostId: parts[2] };
  }
  if (parts.length < 4 || parts.length > 5) return null;
  const t = parts[2];
  const isDevice = t.charCodeAt(0) === 68; // 'D'
  if (!(SPARKPLUG_TYPES as readonly string[]).includes(t) || t === 'STATE') return null;
  if (isDevice !== (parts.length === 5)) return null;
  return { group: parts[1], msgType: t, edgeNode: parts[3], device: parts.length === 5 ? parts[4] : null, hostId: null };
}

export interface SparkplugOptions {
  /** Metrics listed per event; the rest are counted in `metricsOmitted`. */
  maxMetrics: number;
  /** Distinct aliases remembered per connection. */
  maxAliases: number;
  /** Bytes of binary values shown (hex). */
  maxBytes: number;
  /** Decode with sparkplug-payload only, never the direct reader (tahu.ts): the reference the tests compare against. */
  referenceOnly?: boolean;
}

/** Per-connection Sparkplug state: alias tables from births (node and device), bounded. */
export class SparkplugState {
  private readonly tables = new Map<string, Map<number, string>>();
  private total = 0;
  constructor(private readonly maxAliases: number) {}

  reset(key: string): void {
    const t = this.tables.get(key);
    if (t !== undefined) {
      this.total -= t.size;
      this.tables.delete(key);
    }
  }

  learn(key: string, alias: number, name: string): void {
    let t = this.tables.get(key);
    if (t === undefined) {
      t = new Map();
      this.tables.set(key, t);
    }
    if (!t.has(alias)) {
      if (this.total >= this.maxAliases) return;
      this.total++;
    }
    t.set(alias, name);
  }

  lookup(key: string, alias: number): string | undefined {
    return this.tables.get(key)?.get(alias);
  }

  /** The alias table of one node or device (read-only use), when a birth taught one. */
  table(key: string): ReadonlyMap<number, string> | undefined {
    return this.tables.get(key);
  }
}

/** A JSON-safe copy of a decoded protobuf value: Long → number (or string when unsafe), bytes → hex. */
export function jsonSafe(v: unknown, maxBytes: number, depth = 0): unknown {
  if (v === null || v === undefined) return null;
  const t = typeof v;
  if (t === 'string' || t === 'boolean') return v;
  if (t === 'number') return Number.isFinite(v) ? v : String(v);
  if (t === 'bigint') return (v as bigint).toString();
  if (depth > 8) return null;
  if (v instanceof Uint8Array) return hex(v, 0, v.length, maxBytes);
  if (Array.isArray(v)) return v.slice(0, 1000).map((x) => jsonSafe(x, maxBytes, depth + 1));
  if (t === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.low === 'number' && typeof o.high === 'number' && typeof o.unsigned === 'boolean') {
      const n = (o.unsigned ? (o.high >>> 0) : o.high) * 4294967296 + (o.low >>> 0);
      return Number.isSafeInteger(n) ? n : String((o as { toString(): string }).toString());
    }
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) out[k] = jsonSafe(o[k], maxBytes, depth + 1);
    return out;
  }
  return null;
}

function toNum(v: unknown): number | null {
  const j = jsonSafe(v, 0);
  return typeof j === 'number' ? j : null;
}

export interface SparkplugMetric {
  name: string | null;
  alias: number | null;
  datatype: string | null;
  value: unknown;
  timestamp: number | null;
  [k: string]: unknown;
}

export interface SparkplugInfo {
  group: string | null;
  msgType: string;
  edgeNode: string | null;
  device: string | null;
  hostId: string | null;
  seq: number | null;
  bdSeq: number | null;
  timestamp: number | null;
  uuid: string | null;
  online: boolean | null;
  metrics: SparkplugMetric[];
  metricsOmitted: number;
  /** Aliases that no birth certificate of this connection named. */
  unresolvedAliases: number;
}

export type SparkplugResult = { ok: true; value: SparkplugInfo } | { ok: false; error: 'sparkplug_payload' };

function stateInfo(t: SparkplugTopic, payload: Uint8Array): SparkplugInfo {
  const info = emptyInfo(t);
  const text = Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.length, 4096)).toString('utf8');
  if (text === 'ONLINE' || text === 'OFFLINE') {
    info.online = text === 'ONLINE';
  } else {
    try {
      const j = JSON.parse(text) as { online?: unknown; timestamp?: unknown };
      if (typeof j.online === 'boolean') info.online = j.online;
      if (typeof j.timestamp === 'number') info.timestamp = j.timestamp;
    } catch {
      // not JSON: online stays null
    }
  }
  return info;
}

function emptyInfo(t: SparkplugTopic): SparkplugInfo {
  return {
    group: t.group,
    msgType: t.msgType,
    edgeNode: t.edgeNode,
    device: t.device,
    hostId: t.hostId,
    seq: null,
    bdSeq: null,
    timestamp: null,
    uuid: null,
    online: null,
    metrics: [],
    metricsOmitted: 0,
    unresolvedAliases: 0,
  };
}

/**
 * decodeSparkplug's work on a payload the direct reader decoded: the same alias learning and
 * resolution, bdSeq and metric cap as the reference path, on metrics that are already the event's.
 */
function resolveFast(t: SparkplugTopic, p: TahuPayload, state: SparkplugState, opts: SparkplugOptions, key: string): SparkplugInfo {
  const birth = t.msgType === 'NBIRTH' || t.msgType === 'DBIRTH';
  if (birth) state.reset(key);
  const table = birth ? undefined : state.table(key);
  const wantBdSeq = t.msgType === 'NBIRTH' || t.msgType === 'NDEATH';
  const metrics = p.metrics;
  let bdSeq: number | null = null;
  let unresolved = 0;
  for (let i = 0; i < metrics.length; i++) {
    const m = metrics[i];
    const alias = m.alias;
    if (alias !== null) {
      if (birth && m.name !== null) state.learn(key, alias, m.name);
      else if (m.name === null) {
        const name = table?.get(alias);
        if (name === undefined) unresolved++;
        else m.name = name;
      }
    }
    if (wantBdSeq && m.name === 'bdSeq') bdSeq = typeof m.value === 'number' ? m.value : null;
  }
  let omitted = 0;
  if (metrics.length > opts.maxMetrics) {
    omitted = metrics.length - opts.maxMetrics;
    metrics.length = opts.maxMetrics;
  }
  return {
    group: t.group,
    msgType: t.msgType,
    edgeNode: t.edgeNode,
    device: t.device,
    hostId: t.hostId,
    seq: p.seq,
    bdSeq,
    timestamp: p.timestamp,
    uuid: p.uuid,
    online: null,
    metrics,
    metricsOmitted: omitted,
    unresolvedAliases: unresolved,
  };
}

/** The key of a topic's alias table in SparkplugState: the node, or the node and the device. */
export function sparkplugKey(t: SparkplugTopic): string {
  return t.device === null ? `${t.group}/${t.edgeNode}` : `${t.group}/${t.edgeNode}/${t.device}`;
}

/**
 * Decode a Sparkplug B payload for a parsed topic. Births teach aliases, data and command messages
 * have their aliases resolved to names. Never throws: a payload the schema rejects is an error.
 * `key` is sparkplugKey(t), passed by callers that keep it per topic.
 */
export function decodeSparkplug(t: SparkplugTopic, payload: Uint8Array, state: SparkplugState, opts: SparkplugOptions, key = sparkplugKey(t)): SparkplugResult {
  return decodeSparkplugAt(t, payload, 0, payload.length, state, opts, key);
}

/** decodeSparkplug of the payload `b[start, end)`: the direct reader reads it in place, without a view. */
export function decodeSparkplugAt(t: SparkplugTopic, b: Uint8Array, start: number, end: number, state: SparkplugState, opts: SparkplugOptions, key: string): SparkplugResult {
  if (t.msgType === 'STATE') return { ok: true, value: stateInfo(t, b.subarray(start, end)) };
  // The direct reader covers scalar metrics (nearly all NDATA/DDATA) and builds the event's
  // metrics itself; it returns null for anything the reference must decide.
  const fast = opts.referenceOnly === true ? null : decodeTahuScalar(b, opts.maxBytes, start, end);
  if (fast !== null) return { ok: true, value: resolveFast(t, fast, state, opts, key) };
  const payload = b.subarray(start, end);
  let decoded;
  try {
    decoded = decodeLoose(payload);
  } catch {
    return { ok: false, error: 'sparkplug_payload' };
  }
  const info = emptyInfo(t);
  info.seq = toNum(decoded.seq);
  info.timestamp = toNum(decoded.timestamp);
  info.uuid = typeof decoded.uuid === 'string' ? decoded.uuid : null;
  const birth = t.msgType === 'NBIRTH' || t.msgType === 'DBIRTH';
  if (birth) state.reset(key);
  // Only births change the tables: other messages look their aliases up in one table.
  const table = birth ? undefined : state.table(key);
  const metrics = decoded.metrics;
  for (let i = 0; i < metrics.length; i++) {
    const m = metrics[i];
    let name = typeof m.name === 'string' ? m.name : null;
    const alias = toNum(m.alias);
    if (alias !== null) {
      if (birth && name !== null) state.learn(key, alias, name);
      else if (name === null) {
        name = table?.get(alias) ?? null;
        if (name === null) info.unresolvedAliases++;
      }
    }
    if (name === 'bdSeq' && (t.msgType === 'NBIRTH' || t.msgType === 'NDEATH')) info.bdSeq = toNum(m.value);
    if (info.metrics.length >= opts.maxMetrics) {
      info.metricsOmitted++;
      continue;
    }
    const out: SparkplugMetric = {
      name,
      alias,
      datatype: typeof m.type === 'string' ? m.type : null,
      value: jsonSafe(m.value, opts.maxBytes),
      timestamp: toNum(m.timestamp),
    };
    if (m.isHistorical) out.isHistorical = true;
    if (m.isTransient) out.isTransient = true;
    if (m.properties) out.properties = jsonSafe(m.properties, opts.maxBytes);
    if (m.metadata) out.metadata = jsonSafe(m.metadata, opts.maxBytes);
    info.metrics.push(out);
  }
  return { ok: true, value: info };
}
