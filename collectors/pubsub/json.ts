/**
 * OPC UA PubSub JSON message mapping (OPC 10000-14 §7.2.5): NetworkMessages (§7.2.5.3:
 * MessageId, MessageType, PublisherId, WriterGroupName, DataSetClassId, Messages), DataSetMessages
 * (§7.2.5.4: DataSetWriterId, DataSetWriterName, SequenceNumber, MetaDataVersion,
 * Timestamp, Status, MessageType, Payload) also without the NetworkMessage wrapper, metadata
 * messages (§7.2.5.5) and the discovery/status messages (ua-status, ua-connection,
 * ua-application, ua-endpoints). Field values come in the reversible form (Variant objects with
 * `Type`/`Body` in 1.04 or `UaType`/`Value` in 1.05, DataValue objects) or the non-reversible
 * form (plain JSON values, OPC 10000-6 §5.4).
 */
import { statusName } from '../opcua/status.js';
import { builtinName, type PubsubState } from './metadata.js';
import type { DataSetMessageType, DecodeResult, PubsubCaps, PubsubDataSetMessage, PubsubField, PubsubInfo, PubsubMetaData } from './types.js';

export interface JsonContext {
  caps: PubsubCaps;
  state: PubsubState;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** DataSetMessage types of the JSON mapping (§7.2.5.4); a missing one means a key frame. */
const DSM_TYPES: Record<string, DataSetMessageType> = {
  'ua-keyframe': 'keyframe',
  'ua-deltaframe': 'deltaframe',
  'ua-event': 'event',
  'ua-keepalive': 'keepalive',
};
/** NetworkMessage types (§7.2.5.3, §7.2.5.5–7.2.5.9). */
const NM_TYPES = new Set(['ua-data', 'ua-metadata', 'ua-status', 'ua-connection', 'ua-application', 'ua-endpoints']);

/** Markers one of which every PubSub JSON message carries (checked before any parse). */
const MARKERS = ['"MessageType"', '"Payload"', '"Messages"'].map((s) => Buffer.from(s));

/** Cheap content check: a JSON object or array that names a PubSub member in its first 4 KiB of `b[start..stop)`. */
export function looksLikePubsubJson(b: Uint8Array, start = 0, stop = b.length): boolean {
  let i = start;
  while (i < stop && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  if (i >= stop || (b[i] !== 0x7b && b[i] !== 0x5b)) return false;
  // A plain loop, no allocation: this runs on every JSON PUBLISH. Every marker starts with `"M` or
  // `"P`, a pair of bytes at k, k+1 for some k in [i, lim): looking at every other byte j finds
  // each such pair, by its quote (j = k) or by its letter (j = k + 1), with half the loads.
  const end = Math.min(stop, start + 4096);
  const lim = end - 8;
  for (let j = i + 1; j <= lim; j += 2) {
    const c = b[j];
    if (c === 0x22) {
      if (j < lim && isMarkerAt(b, j, end)) return true;
    } else if ((c === 0x4d || c === 0x50) && b[j - 1] === 0x22 && isMarkerAt(b, j - 1, end)) return true;
  }
  return false;
}

/** Does one of the markers start at `k` (within `end`)? */
function isMarkerAt(b: Uint8Array, k: number, end: number): boolean {
  if (b[k + 1] !== 0x4d && b[k + 1] !== 0x50) return false;
  for (const m of MARKERS) if (startsWith(b, k, m, end)) return true;
  return false;
}

function startsWith(b: Uint8Array, at: number, m: Uint8Array, end: number): boolean {
  if (at + m.length > end) return false;
  for (let j = 0; j < m.length; j++) if (b[at + j] !== m[j]) return false;
  return true;
}

function capStr(s: string, caps: PubsubCaps): string {
  return s.length > caps.maxStringLength ? s.slice(0, caps.maxStringLength) + `…(${s.length})` : s;
}

/** A JSON value with strings, arrays and objects capped, depth bounded (STYLE habit 8). */
function capValue(v: unknown, caps: PubsubCaps, depth = 0): unknown {
  if (typeof v === 'string') return capStr(v, caps);
  if (typeof v !== 'object' || v === null) return v;
  if (depth >= 4) return '…';
  if (Array.isArray(v)) return v.slice(0, caps.maxArrayItems).map((x) => capValue(x, caps, depth + 1));
  const out: Obj = {};
  let n = 0;
  for (const [k, x] of Object.entries(v)) {
    if (n++ >= caps.maxFields) break;
    out[capStr(k, caps)] = capValue(x, caps, depth + 1);
  }
  return out;
}

function status(v: unknown): string | null {
  if (typeof v === 'number') return statusName(v >>> 0);
  if (isObj(v) && typeof v.Code === 'number') return statusName(v.Code >>> 0);
  if (isObj(v) && typeof v.Symbol === 'string') return v.Symbol;
  return typeof v === 'string' ? v : null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown, caps: PubsubCaps): string | null => (typeof v === 'string' ? capStr(v, caps) : null);

/** A Variant in reversible form: 1.04 `{Type, Body}`, 1.05 `{UaType, Value}`. */
function variant(v: Obj): { type: string; value: unknown } | null {
  if (typeof v.Type === 'number' && ('Body' in v || Object.keys(v).length <= 2)) return { type: builtinName(v.Type), value: v.Body ?? null };
  if (typeof v.UaType === 'number') return { type: builtinName(v.UaType), value: v.Value ?? null };
  return null;
}

const DATAVALUE_KEYS = ['Value', 'Status', 'StatusCode', 'SourceTimestamp', 'ServerTimestamp'];

function field(index: number, name: string, raw: unknown, md: PubsubMetaData | undefined, caps: PubsubCaps): PubsubField {
  const mdf = md?.fields.find((f) => f.name === name);
  const mdIndex = md && mdf ? md.fields.indexOf(mdf) : index;
  const out: PubsubField = { index: mdIndex, name: capStr(name, caps), type: mdf?.type ?? null, value: null };
  if (!isObj(raw)) {
    out.value = capValue(raw, caps);
    return out;
  }
  const va = variant(raw);
  if (va !== null) {
    out.type = va.type;
    out.value = capValue(va.value, caps);
    return out;
  }
  if (DATAVALUE_KEYS.some((k) => k in raw)) {
    const inner = raw.Value;
    const iv = isObj(inner) ? variant(inner) : null;
    if (iv !== null) out.type = iv.type;
    out.value = capValue(iv !== null ? iv.value : inner ?? null, caps);
    out.status = status(raw.Status ?? raw.StatusCode) ?? 'Good';
    if (typeof raw.SourceTimestamp === 'string') out.sourceTimestamp = capStr(raw.SourceTimestamp, caps);
    if (typeof raw.ServerTimestamp === 'string') out.serverTimestamp = capStr(raw.ServerTimestamp, caps);
    return out;
  }
  out.value = capValue(raw, caps); // a structure in non-reversible form
  return out;
}

function dataSetMessage(m: Obj, publisherId: unknown, ctx: JsonContext): PubsubDataSetMessage {
  const caps = ctx.caps;
  const writerId = num(m.DataSetWriterId);
  const mv = isObj(m.MetaDataVersion) ? m.MetaDataVersion : null;
  const minorOnly = num(m.MinorVersion);
  const md = ctx.state.lookup(publisherId, writerId);
  const msg: PubsubDataSetMessage = {
    writerId,
    writerName: str(m.DataSetWriterName, caps),
    sequenceNumber: num(m.SequenceNumber),
    type: typeof m.MessageType === 'string' ? (DSM_TYPES[m.MessageType] ?? 'unknown') : 'keyframe',
    encoding: 'json',
    valid: true,
    status: m.Status === undefined ? null : status(m.Status),
    metaDataVersion: mv ? { major: num(mv.MajorVersion), minor: num(mv.MinorVersion) } : minorOnly !== null ? { major: null, minor: minorOnly } : null,
    timestamp: str(m.Timestamp, caps),
    fieldCount: 0,
    fields: [],
  };
  if (isObj(m.Payload)) {
    let i = 0;
    for (const [k, v] of Object.entries(m.Payload)) {
      if (msg.fields.length < caps.maxFields) msg.fields.push(field(i, k, v, md, caps));
      i++;
    }
    msg.fieldCount = i;
  }
  return msg;
}

function metaData(m: Obj, writerId: number | null, caps: PubsubCaps): PubsubMetaData | null {
  if (!isObj(m)) return null;
  const fields: PubsubMetaData['fields'] = [];
  const list = Array.isArray(m.Fields) ? m.Fields : [];
  for (const f of list.slice(0, caps.maxFields)) {
    if (!isObj(f)) return null;
    const bt = num(f.BuiltInType) ?? 0;
    fields.push({ name: str(f.Name, caps) ?? '', type: builtinName(bt), builtInType: bt, valueRank: num(f.ValueRank) ?? -1 });
  }
  const cv = isObj(m.ConfigurationVersion) ? m.ConfigurationVersion : null;
  const version = cv ? { major: num(cv.MajorVersion) ?? 0, minor: num(cv.MinorVersion) ?? 0 } : null;
  return { writerId, name: str(m.Name, caps), version, fields, fieldCount: list.length };
}

const isDsm = (o: Obj): boolean => isObj(o.Payload) || (typeof o.MessageType === 'string' && o.MessageType in DSM_TYPES);

/**
 * Decode a JSON PubSub message from `bytes[offset..]`. With `strict` (a topic of the PubSub tree)
 * anything else is an error; without it, a payload that is not PubSub JSON gives `json_shape`
 * or `json_syntax`, which the caller ignores.
 */
export function decodeJson(bytes: Uint8Array, offset: number, ctx: JsonContext): DecodeResult<PubsubInfo> {
  const caps = ctx.caps;
  const len = bytes.length - offset;
  if (len > caps.maxJsonBytes) return { ok: false, error: 'json_too_large', offset };
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + offset, len).toString('utf8'));
  } catch {
    return { ok: false, error: 'json_syntax', offset }; // also a too-deep document (RangeError)
  }
  const info: PubsubInfo = { encoding: 'json', messageType: 'ua-data', publisherId: null, security: null, messageCount: 0, messages: [] };
  let list: unknown[];
  if (Array.isArray(doc)) {
    list = doc; // DataSetMessages without a NetworkMessage header
  } else if (isObj(doc) && typeof doc.MessageType === 'string' && NM_TYPES.has(doc.MessageType)) {
    info.messageType = doc.MessageType;
    info.messageId = str(doc.MessageId, caps);
    info.publisherId = typeof doc.PublisherId === 'number' ? doc.PublisherId : str(doc.PublisherId, caps);
    info.writerGroupName = str(doc.WriterGroupName, caps);
    info.dataSetClassId = str(doc.DataSetClassId, caps);
    if (doc.MessageType === 'ua-metadata') {
      const wid = num(doc.DataSetWriterId);
      const md = metaData(doc.MetaData as Obj, wid, caps);
      if (md === null) return { ok: false, error: 'json_shape', offset };
      info.metadata = md;
      ctx.state.learn(info.publisherId, md);
      return { ok: true, value: info, consumed: len };
    }
    if (doc.MessageType !== 'ua-data') {
      info.discovery = { kind: doc.MessageType };
      if (doc.Status !== undefined) info.discovery.status = status(doc.Status) ?? undefined;
      return { ok: true, value: info, consumed: len };
    }
    list = Array.isArray(doc.Messages) ? doc.Messages : isObj(doc.Messages) ? [doc.Messages] : [];
  } else if (isObj(doc) && isDsm(doc)) {
    list = [doc]; // a single DataSetMessage, which the spec allows without the wrapper
  } else {
    return { ok: false, error: 'json_shape', offset };
  }
  for (const m of list) {
    if (!isObj(m) || !isDsm(m)) return { ok: false, error: 'json_shape', offset };
    const pid = m.PublisherId !== undefined ? (typeof m.PublisherId === 'number' ? m.PublisherId : str(m.PublisherId, caps)) : info.publisherId;
    if (info.publisherId === null) info.publisherId = pid;
    if (info.writerGroupName == null && typeof m.WriterGroupName === 'string') info.writerGroupName = str(m.WriterGroupName, caps);
    if (info.messages.length < caps.maxMessages) info.messages.push(dataSetMessage(m, pid, ctx));
  }
  info.messageCount = list.length;
  return { ok: true, value: info, consumed: len };
}
