/**
 * UADP NetworkMessage (OPC 10000-14 §7.2.4.4.2): UADPVersion/Flags,
 * ExtendedFlags1/2, PublisherId, DataSetClassId, group header, payload header
 * (§7.2.4.5.2), extended header (timestamp, picoseconds, promoted fields), security header
 * (§7.2.4.4.3), then the payload: DataSetMessages (§7.2.4.5), a chunk (§7.2.4.4.4) or a discovery
 * request/response (§7.2.4.6). Pure and non-throwing: `(bytes, offset, ctx) => result`.
 */
import { Reader } from '../opcua/reader.js';
import { readVariant } from '../opcua/variant.js';
import { readDataSetMessage } from './dataset.js';
import { decodeDiscovery } from './discovery.js';
import type { PubsubState } from './metadata.js';
import type { DecodeResult, PubsubCaps, PubsubInfo } from './types.js';

/** Decoder context: caps, and the state that carries metadata and chunks between messages. */
export interface UadpContext {
  caps: PubsubCaps;
  state: PubsubState;
  chunks: ChunkStore | null;
}

/** PublisherId types, ExtendedFlags1 bits 0–2 (§7.2.4.4.2). */
const PUBLISHER_ID_TYPES = ['Byte', 'UInt16', 'UInt32', 'UInt64', 'String'];
/** NetworkMessage types, ExtendedFlags2 bits 2–4 (§7.2.4.4.2). */
const NM_TYPES = ['ua-data', 'discovery-request', 'discovery-response'];

function publisherId(r: Reader, t: number, caps: PubsubCaps): string | number | null {
  switch (t) {
    case 0:
      return r.u8();
    case 1:
      return r.u16();
    case 2:
      return r.u32();
    case 3: {
      const lo = r.u32();
      const hi = r.u32();
      return hi === 0 ? lo : (BigInt(hi) * 0x100000000n + BigInt(lo)).toString();
    }
    case 4:
      return r.string(caps.maxStringLength);
    default:
      return null;
  }
}

/** A cheap look at the first byte: UADPVersion 1 in the low nibble (§7.2.4.4.2). */
export function looksLikeUadp(b: Uint8Array): boolean {
  return b.length >= 2 && (b[0] & 0x0f) === 1;
}

/**
 * Decode one UADP NetworkMessage from `bytes[offset..]` to the end of `bytes` (a datagram or an
 * MQTT payload holds exactly one). Errors carry the offset where decoding stopped.
 */
export function decodeUadp(bytes: Uint8Array, offset: number, ctx: UadpContext): DecodeResult<PubsubInfo> {
  const caps = ctx.caps;
  const r = new Reader(bytes, offset, bytes.length);
  const fail = (error: 'uadp_version' | 'uadp_truncated' | 'uadp_reserved_type' | 'uadp_sizes', at = r.pos) => ({ ok: false as const, error, offset: at });
  const b0 = r.u8();
  if ((b0 & 0x0f) !== 1) return fail('uadp_version', offset);
  const ext1 = b0 & 0x80 ? r.u8() : 0;
  const ext2 = ext1 & 0x80 ? r.u8() : 0;
  const pidType = ext1 & 0x07;
  const nmType = (ext2 >> 2) & 0x07;
  if (pidType > 4 || nmType > 2 || (ext2 & 0xe0) !== 0) return fail('uadp_reserved_type', offset);
  const chunked = (ext2 & 0x01) !== 0;
  const info: PubsubInfo = {
    encoding: 'uadp',
    messageType: chunked ? 'ua-chunk' : NM_TYPES[nmType],
    publisherId: null,
    security: null,
    messageCount: 0,
    messages: [],
  };
  if (b0 & 0x10) {
    info.publisherId = publisherId(r, pidType, caps);
    info.publisherIdType = PUBLISHER_ID_TYPES[pidType];
  }
  if (ext1 & 0x08) info.dataSetClassId = r.guid();
  if (b0 & 0x20) {
    // Group header (§7.2.4.4.2: GroupFlags and the fields they enable).
    const gf = r.u8();
    info.writerGroupId = gf & 0x01 ? r.u16() : null;
    info.groupVersion = gf & 0x02 ? r.u32() : null;
    info.networkMessageNumber = gf & 0x04 ? r.u16() : null;
    info.sequenceNumber = gf & 0x08 ? r.u16() : null;
  }
  // Payload header (§7.2.4.5.2): a count and writer ids, or one writer id for a chunk. Only
  // DataSetMessage payloads have one; discovery messages carry their own header.
  let writerIds: number[] = [];
  if (b0 & 0x40 && nmType === 0) {
    if (chunked) writerIds = [r.u16()];
    else {
      const n = r.u8();
      if (n * 2 > r.remaining) return fail('uadp_truncated');
      for (let i = 0; i < n; i++) writerIds.push(r.u16());
    }
  }
  if (ext1 & 0x20) info.timestamp = r.dateTime();
  if (ext1 & 0x40) r.u16(); // PicoSeconds
  if (ext2 & 0x02) {
    // Promoted fields: a byte size, then Variants (§7.2.4.4.2).
    const size = r.u16();
    if (size > r.remaining) return fail('uadp_truncated');
    const sub = new Reader(bytes, r.pos, r.pos + size);
    const promoted: unknown[] = [];
    while (sub.remaining > 0 && !sub.err && promoted.length < caps.maxFields) promoted.push(readVariant(sub, caps));
    info.promotedFields = promoted;
    r.pos += size;
  }
  if (ext1 & 0x10) {
    // Security header (§7.2.4.4.3).
    const sf = r.u8();
    const tokenId = r.u32();
    const nl = r.u8();
    const nonce = nl <= r.remaining ? Buffer.from(bytes.buffer, bytes.byteOffset + r.pos, nl).toString('hex') : '';
    r.skip(nl);
    const footer = (sf & 0x04) !== 0;
    info.security = {
      signed: (sf & 0x01) !== 0,
      encrypted: (sf & 0x02) !== 0,
      footer,
      forceKeyReset: (sf & 0x08) !== 0,
      tokenId,
      nonceLength: nl,
      nonce,
      footerSize: footer ? r.u16() : 0,
    };
  }
  if (r.err) return fail('uadp_truncated');
  if (info.security?.encrypted) {
    // The payload is ciphertext: keep the header facts, report the size, decode nothing more.
    info.messageCount = chunked ? 0 : writerIds.length;
    info.trailingBytes = r.remaining;
    return { ok: true, value: info, consumed: bytes.length - offset };
  }
  if (nmType !== 0) {
    const d = decodeDiscovery(r, nmType, info, ctx);
    return d.ok ? { ok: true, value: info, consumed: bytes.length - offset } : d;
  }
  if (chunked) return decodeChunk(r, writerIds[0] ?? null, info, ctx, offset);
  return decodePayload(r, writerIds, info, ctx, offset);
}

/** The DataSetMessages of a payload (§7.2.4.4.3): with more than one, a UInt16 size each first. */
function decodePayload(r: Reader, writerIds: number[], info: PubsubInfo, ctx: UadpContext, offset: number): DecodeResult<PubsubInfo> {
  const caps = ctx.caps;
  const count = writerIds.length === 0 ? 1 : writerIds.length;
  const sizes: number[] = [];
  if (count > 1) {
    for (let i = 0; i < count; i++) sizes.push(r.u16());
    let total = 0;
    for (const s of sizes) total += s;
    if (r.err || total > r.remaining) return { ok: false, error: 'uadp_sizes', offset: r.pos };
  }
  info.messageCount = count;
  for (let i = 0; i < count; i++) {
    if (count === 1 && r.remaining === 0) {
      info.messageCount = 0; // no payload at all (a header-only message)
      break;
    }
    const end = count > 1 ? r.pos + sizes[i] : r.end;
    const sub = new Reader(r.buf, r.pos, end);
    const wid = writerIds[i] ?? null;
    const md = ctx.state.lookup(info.publisherId, wid);
    const m = readDataSetMessage(sub, wid, md, caps);
    if (!m.ok) return m;
    if (info.messages.length < caps.maxMessages) info.messages.push(m.value);
    if (count === 1 && sub.pos < end) info.trailingBytes = end - sub.pos; // signature or padding
    r.pos = end;
  }
  if (count > 1 && r.remaining > 0) info.trailingBytes = r.remaining;
  return { ok: true, value: info, consumed: r.end - offset };
}

/**
 * A chunk (§7.2.4.4.4): MessageSequenceNumber, ChunkOffset, TotalSize, ChunkData. Chunks
 * are reassembled per publisher + writer + message number (bounded); the last one decodes the whole.
 */
function decodeChunk(r: Reader, writerId: number | null, info: PubsubInfo, ctx: UadpContext, offset: number): DecodeResult<PubsubInfo> {
  const msn = r.u16();
  const off = r.u32();
  const total = r.u32();
  const data = r.byteString();
  if (r.err || data === null) return { ok: false, error: 'uadp_truncated', offset: r.pos };
  if (total === 0 || total > ctx.caps.maxChunkTotal || off + data.length > total) return { ok: false, error: 'uadp_chunk', offset: r.pos };
  const wid = writerId ?? 0;
  info.chunk = { writerId: wid, messageSequenceNumber: msn, offset: off, totalSize: total, length: data.length, complete: false };
  const whole = ctx.chunks?.add(`${String(info.publisherId)}\0${wid}\0${msn}`, off, total, data) ?? null;
  if (whole !== null) {
    info.chunk.complete = true;
    const sub = new Reader(whole, 0, whole.length);
    const m = readDataSetMessage(sub, wid, ctx.state.lookup(info.publisherId, wid), ctx.caps);
    if (!m.ok) return { ok: false, error: m.error, offset: r.pos };
    info.messages.push(m.value);
    info.messageCount = 1;
  }
  if (r.remaining > 0) info.trailingBytes = r.remaining;
  return { ok: true, value: info, consumed: r.end - offset };
}

/**
 * Chunks being reassembled, bounded in count and size; the oldest goes when full. A message is
 * complete once every byte of its TotalSize has arrived (chunks may come in any order).
 */
export class ChunkStore {
  private readonly pending = new Map<string, { buf: Uint8Array; have: number; seen: Set<number> }>();
  dropped = 0;
  constructor(private readonly caps: PubsubCaps) {}

  add(key: string, off: number, total: number, data: Uint8Array): Uint8Array | null {
    let p = this.pending.get(key);
    if (p !== undefined && p.buf.length !== total) {
      this.pending.delete(key);
      p = undefined;
    }
    if (p === undefined) {
      if (this.pending.size >= this.caps.maxChunkMessages) {
        this.pending.delete(this.pending.keys().next().value as string);
        this.dropped++;
      }
      p = { buf: new Uint8Array(total), have: 0, seen: new Set() };
      this.pending.set(key, p);
    }
    if (!p.seen.has(off)) {
      p.seen.add(off);
      p.buf.set(data, off);
      p.have += data.length;
    }
    if (p.have < total) return null;
    this.pending.delete(key);
    return p.buf;
  }
}
