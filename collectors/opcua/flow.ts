/**
 * Per-flow OPC UA state: chunk framing on each side's byte stream, secure channels (policy,
 * mode, sequence numbers, multi-chunk reassembly), request/response pairing and event output.
 * Wire data never throws out of here: the framing, header and body decoders are total (a failed
 * read becomes MALFORMED_BODY in body.ts), and the flow boundary catches anything else as INTERNAL.
 */
import type { DecodeEvent, Dir, EventSink, FlowContext, FlowEnd, StreamConsumer } from '../types.js';
import { isoTime } from '../types.js';
import { HEADER_SIZE, parseAck, parseError, parseHeader, parseHello, parseReverseHello, readAsymmetricHeader, type ChunkType, type MessageType } from './framing.js';
import { readRequestHeader, readResponseHeader } from './headers.js';
import { decodeBody, hasExtractor } from './body.js';
import { parseCertificate, splitChain } from './certs.js';
import type { OpcuaOptions } from './options.js';
import { Reader, u32le } from './reader.js';
import { POLICY_NONE, symmetricSignatureLength, type SecurityMode } from './security.js';
import { serviceById, type ServiceInfo } from './services.js';
import { statusName } from './status.js';
import { readPublishBody, readReadResponseBody } from './variant.js';
import { readReadRequestBody } from './hotrequests.js';

/** Stable anomaly / error codes (README.md documents them). */
export type OpcuaErrorCode =
  | 'BAD_MESSAGE_TYPE'
  | 'BAD_CHUNK_TYPE'
  | 'BAD_SIZE'
  | 'CHUNK_TOO_LARGE'
  | 'MESSAGE_TOO_LARGE'
  | 'TOO_MANY_CHUNKS'
  | 'TRUNCATED_FIELD'
  | 'URL_TOO_LONG'
  | 'BAD_SECURITY_HEADER'
  | 'BAD_TYPE_ID'
  | 'BAD_REQUEST_HEADER'
  | 'BAD_RESPONSE_HEADER'
  | 'MALFORMED_BODY'
  | 'INTERNAL';

export type OpcuaAnomaly = 'SEQ_GAP' | 'SEQ_REPLAY' | 'RESYNC' | 'UNANSWERED' | 'ORPHAN_CHUNK' | 'CHANNEL_EVICTED';

/** Largest 32-bit sequence number before the wrap allowed by OPC 10000-6 §6.7.2.4. */
const SEQ_WRAP_LIMIT = 4294966271;

interface Partial {
  parts: Uint8Array[];
  bytes: number;
  count: number;
  /** Too large or too many chunks: the rest of the message is skipped. */
  discarding: boolean;
}

interface Channel {
  id: number;
  policyUri: string | null;
  mode: SecurityMode | null;
  /** Last sequence number per side, -1 when unknown. */
  lastSeq: [number, number];
  /** Reassembly per side, keyed by request id (-1 when encrypted). */
  partial: [Map<number, Partial>, Map<number, Partial>];
}

interface Side {
  buf: Uint8Array;
  len: number;
  /** Stream offset of buf[0] (or of the next byte when len is 0). */
  base: number;
  synced: boolean;
  skip: number;
  skipped: number;
  started: boolean;
}

interface Pending {
  service: string;
  requestHandle: number | null;
  tsMs: number;
  channelId: number;
  requestId: number;
}

/** Limits negotiated in HEL/ACK for what one side sends (0 = no limit). */
interface Limits {
  maxMessageSize: number;
  maxChunkCount: number;
}

const EMPTY = new Uint8Array(0);

export class OpcuaFlow implements StreamConsumer {
  private readonly sides: [Side, Side];
  private readonly channels = new Map<number, Channel>();
  private readonly pending = new Map<number, Pending>();
  private readonly certsSeen = new Set<string>();
  /** Negotiated limits per sending side. */
  private readonly limits: [Limits, Limits] = [
    { maxMessageSize: 0, maxChunkCount: 0 },
    { maxMessageSize: 0, maxChunkCount: 0 },
  ];
  private tsSec = 0;
  private tsNsec = 0;
  private tsCacheSec = -1;
  private tsCacheNsec = -1;
  private tsCache = '';
  private refCache: DecodeEvent['flow'] | null = null;
  /** Bytes held by partial (multi-chunk) messages of this flow, capped at maxMessageSize. */
  private partialBytes = 0;
  private frame = 0;

  constructor(
    private readonly ctx: FlowContext,
    private readonly emit: EventSink,
    private readonly o: OpcuaOptions,
  ) {
    const side = (): Side => ({ buf: EMPTY, len: 0, base: 0, synced: false, skip: 0, skipped: 0, started: false });
    this.sides = [side(), side()];
  }

  data(sideNo: 0 | 1, bytes: Uint8Array, tsSec: number, tsNsec: number, frame: number): void {
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    this.frame = frame;
    const s = this.sides[sideNo];
    if (s.skip > 0) {
      const n = Math.min(s.skip, bytes.length);
      s.skip -= n;
      s.base += n;
      bytes = bytes.subarray(n);
    }
    if (bytes.length === 0) return;
    let buf: Uint8Array;
    let end: number;
    if (s.len === 0) {
      buf = bytes; // zero-copy: most segments hold whole chunks
      end = bytes.length;
    } else {
      this.ensure(s, s.len + bytes.length);
      s.buf.set(bytes, s.len);
      s.len += bytes.length;
      buf = s.buf;
      end = s.len;
    }
    let used: number;
    try {
      used = this.parse(sideNo, s, buf, end);
    } catch (e) {
      // Defensive: a bug must not take the process down; report it and drop this side's buffer.
      this.malformed(sideNo, 'INTERNAL', s.base, String((e as Error)?.message ?? e).slice(0, 200));
      s.synced = false;
      used = end;
    }
    const rest = end - used;
    if (rest === 0) {
      s.len = 0;
      // Give a large buffer back once it is empty: idle flows must not keep a chunk's worth each.
      if (s.buf.length > 65536) s.buf = EMPTY;
    }
    else if (buf === s.buf) {
      s.buf.copyWithin(0, used, end);
      s.len = rest;
    } else {
      this.ensure(s, rest);
      s.buf.set(buf.subarray(used, end), 0);
      s.len = rest;
    }
    s.base += used;
  }

  gap(sideNo: 0 | 1, length: number, tsSec: number, tsNsec: number): void {
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    const s = this.sides[sideNo];
    // What is buffered can no longer be completed: resynchronise on the next chunk header.
    s.base += s.len + length;
    s.len = 0;
    s.skip = 0;
    s.synced = false;
    s.started = true;
    for (const ch of this.channels.values()) {
      for (const k of [...ch.partial[sideNo].keys()]) this.dropPartial(ch.partial[sideNo], k);
    }
  }

  end(_reason: FlowEnd, tsSec: number, tsNsec: number): void {
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    for (const p of this.pending.values()) this.unanswered(p, 'end');
    this.pending.clear();
    for (const s of this.sides) {
      s.len = 0;
      s.buf = EMPTY;
    }
  }

  // ---- framing ----

  private ensure(s: Side, n: number): void {
    if (s.buf.length >= n) return;
    let cap = Math.max(4096, s.buf.length * 2);
    while (cap < n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(s.buf.subarray(0, s.len));
    s.buf = nb;
  }

  /** Decode every complete chunk in buf[0..end); returns the bytes consumed. */
  private parse(sideNo: 0 | 1, s: Side, buf: Uint8Array, end: number): number {
    let pos = 0;
    const maxChunk = this.o.maxChunkSize;
    while (pos < end) {
      if (!s.synced) {
        const p = this.resync(buf, pos, end);
        if (p < 0) {
          // No chunk start found: keep the last bytes, a header may straddle the segment boundary.
          const keep = Math.min(HEADER_SIZE - 1, end - pos);
          s.skipped += end - keep - pos;
          return end - keep;
        }
        s.skipped += p - pos;
        pos = p;
        if (this.candidate(buf, pos, end) !== 1) return pos; // wait for the bytes that confirm it
        s.synced = true;
        if (s.skipped > 0) this.anomaly(sideNo, 'RESYNC', { skipped: s.skipped, offset: s.base + pos });
        s.skipped = 0;
        s.started = true;
      }
      const h = parseHeader(buf, pos, end, 0xffffffff);
      if (!h.ok) {
        if ('needMore' in h) return pos;
        this.malformed(sideNo, h.error, s.base + pos);
        s.synced = false;
        pos += 1;
        continue;
      }
      const { size } = h.value;
      if (size > this.o.maxMessageSize) {
        // A size this large cannot be a chunk we accept: treat as lost framing.
        this.malformed(sideNo, 'BAD_SIZE', s.base + pos, `size ${size}`);
        s.synced = false;
        pos += 1;
        continue;
      }
      if (size > maxChunk) {
        // Oversize: report and skip its bytes, never buffer them (Suricata's TRUNCATED).
        this.emitEvent(sideNo, h.value.type, { chunk: h.value.chunk, size, error: 'CHUNK_TOO_LARGE', skippedLength: size }, 'MALFORMED');
        const avail = Math.min(size, end - pos);
        s.skip = size - avail;
        pos += avail;
        continue;
      }
      if (end - pos < size) return pos;
      s.started = true;
      this.chunk(sideNo, buf, pos, h.value.type, h.value.chunk, size);
      pos += size;
    }
    return pos;
  }

  /** First offset >= pos where a plausible chunk header starts, or -1. */
  private resync(buf: Uint8Array, pos: number, end: number): number {
    for (let p = pos; p < end; p++) {
      const c = buf[p];
      // First letters of HEL ACK ERR RHE OPN MSG CLO.
      if (c !== 0x48 && c !== 0x41 && c !== 0x45 && c !== 0x52 && c !== 0x4f && c !== 0x4d && c !== 0x43) continue;
      const v = this.candidate(buf, p, end);
      if (v !== 0) return p;
    }
    return -1;
  }

  /**
   * Is there a chunk starting at p? 1 yes, 0 no, -1 need more bytes. A header alone is weak
   * evidence in mid-stream (the letters "MSGF" may sit inside a string), so the next chunk's
   * header must follow it, or the data must end exactly where the chunk does.
   */
  private candidate(buf: Uint8Array, p: number, end: number): number {
    const h = parseHeader(buf, p, end, this.o.maxChunkSize);
    if (!h.ok) return 'needMore' in h ? -1 : 0;
    const { type, size } = h.value;
    if ((type === 'MSG' || type === 'CLO') && this.channels.size > 0) {
      if (end - p < 12) return -1;
      if (!this.channels.has(u32le(buf, p + 8))) return 0;
    }
    const next = p + size;
    if (next === end) return 1;
    if (next > end) return -1;
    if (end - next < HEADER_SIZE) return -1;
    return parseHeader(buf, next, end, this.o.maxChunkSize).ok ? 1 : 0;
  }

  // ---- chunks ----

  private chunk(sideNo: 0 | 1, b: Uint8Array, off: number, type: MessageType, chunk: ChunkType, size: number): void {
    const end = off + size;
    const body = off + HEADER_SIZE;
    switch (type) {
      case 'HEL': {
        this.setClient(sideNo);
        const r = parseHello(b, body, end, this.o.maxStringLength);
        if (!r.ok) return this.malformed(sideNo, r.error as OpcuaErrorCode, this.sides[sideNo].base + off);
        this.limits[1 - sideNo] = { maxMessageSize: r.value.maxMessageSize, maxChunkCount: r.value.maxChunkCount };
        this.emitEvent(sideNo, type, { chunk, size, ...r.value });
        if (r.value.endpointUrlLength !== undefined) this.malformed(sideNo, 'URL_TOO_LONG', this.sides[sideNo].base + off + 28, `EndpointUrl of ${r.value.endpointUrlLength} bytes`);
        return;
      }
      case 'ACK': {
        const r = parseAck(b, body, end);
        if (!r.ok) return this.malformed(sideNo, r.error as OpcuaErrorCode, this.sides[sideNo].base + off);
        this.limits[1 - sideNo] = { maxMessageSize: r.value.maxMessageSize, maxChunkCount: r.value.maxChunkCount };
        return this.emitEvent(sideNo, type, { chunk, size, ...r.value });
      }
      case 'ERR': {
        const r = parseError(b, body, end, this.o.maxStringLength);
        if (!r.ok) return this.malformed(sideNo, r.error as OpcuaErrorCode, this.sides[sideNo].base + off);
        return this.emitEvent(sideNo, type, { chunk, size, error: r.value.error, statusCode: statusName(r.value.error), reason: r.value.reason });
      }
      case 'RHE': {
        // Reverse hello (OPC 10000-6 §7.1.3): the server opened the connection.
        this.setClient(sideNo === 0 ? 1 : 0);
        const r = parseReverseHello(b, body, end, this.o.maxStringLength);
        if (!r.ok) return this.malformed(sideNo, r.error as OpcuaErrorCode, this.sides[sideNo].base + off);
        return this.emitEvent(sideNo, type, { chunk, size, ...r.value });
      }
      case 'OPN':
        return this.openChunk(sideNo, b, off, size);
      default:
        return this.symmetricChunk(sideNo, b, off, type, chunk, size);
    }
  }

  private channel(id: number): Channel {
    let ch = this.channels.get(id);
    if (ch) return ch;
    if (this.channels.size >= this.o.maxChannels) {
      const oldest = this.channels.keys().next().value as number;
      const gone = this.channels.get(oldest)!;
      for (const m of gone.partial) for (const k of [...m.keys()]) this.dropPartial(m, k);
      this.channels.delete(oldest);
      this.anomaly(0, 'CHANNEL_EVICTED', { channelId: oldest });
    }
    ch = { id, policyUri: null, mode: null, lastSeq: [-1, -1], partial: [new Map(), new Map()] };
    this.channels.set(id, ch);
    return ch;
  }

  /** OPN: asymmetric security header (OPC 10000-6 §6.7.2.3), then sequence header and body when the policy is None. */
  private openChunk(sideNo: 0 | 1, b: Uint8Array, off: number, size: number): void {
    const end = off + size;
    const channelId = u32le(b, off + 8);
    const r = new Reader(b, off + 12, end);
    const ah = readAsymmetricHeader(r);
    if (!ah) return this.malformed(sideNo, 'BAD_SECURITY_HEADER', this.sides[sideNo].base + off + 12);
    const ch = this.channel(channelId);
    const policy = ah.securityPolicyUri;
    // A response carries channel id 0 in the request only; the server's answer names the channel.
    ch.policyUri = policy;
    if (policy === POLICY_NONE) ch.mode = 'None';
    const fields = this.head(sideNo, 'OPN');
    fields.chunk = 'F';
    fields.size = size;
    fields.channelId = channelId;
    fields.securityPolicy = policy;
    fields.securityMode = ch.mode;
    fields.senderCertificate = ah.senderCertificate !== null && ah.senderCertificate.length > 0;
    fields.receiverThumbprint = ah.receiverThumbprint && ah.receiverThumbprint.length > 0 ? Buffer.from(ah.receiverThumbprint).toString('hex') : null;
    if (policy !== POLICY_NONE) {
      // Asymmetrically encrypted from the sequence header on (OPC 10000-6 §6.7.2.3, §6.7.4).
      const last = ch.lastSeq[sideNo];
      if (last >= 0) ch.lastSeq[sideNo] = last + 1; // the hidden sequence number of this OPN
      this.out(encrypted(fields));
    } else this.plainMessage(sideNo, ch, b, off, r.pos, end, 'OPN', 'F', fields);
    if (ah.senderCertificate && ah.senderCertificate.length > 0) this.certificates(sideNo, ah.senderCertificate, 'OPN.senderCertificate', channelId);
  }

  /** MSG / CLO: symmetric header (channel id, token id — OPC 10000-6 §6.7.2.4). */
  private symmetricChunk(sideNo: 0 | 1, b: Uint8Array, off: number, type: MessageType, chunk: ChunkType, size: number): void {
    const end = off + size;
    const channelId = u32le(b, off + 8);
    const tokenId = u32le(b, off + 12);
    const ch = this.channel(channelId);
    if (ch.mode === null) this.learnMode(ch, sideNo, b, off, end, chunk);
    const fields = this.head(sideNo, type);
    fields.chunk = chunk;
    fields.size = size;
    fields.channelId = channelId;
    fields.tokenId = tokenId;
    fields.securityPolicy = ch.policyUri;
    fields.securityMode = ch.mode;
    if (ch.mode === 'SignAndEncrypt') {
      if (chunk !== 'F') ch.partial[sideNo].delete(-1);
      return this.out(encrypted(fields));
    }
    let sig = 0;
    if (ch.mode === 'Sign') sig = symmetricSignatureLength(ch.policyUri) ?? 0;
    const bodyEnd = end - sig;
    if (bodyEnd < off + 24) return this.malformed(sideNo, 'TRUNCATED_FIELD', this.sides[sideNo].base + off + 16);
    this.plainMessage(sideNo, ch, b, off, off + 16, bodyEnd, type, chunk, fields);
  }

  /**
   * The mode of a channel whose OPN we could not read (encrypted or not captured): a plaintext
   * body starts with the sequence header and a known service type id; an encrypted one does not.
   */
  private learnMode(ch: Channel, sideNo: 0 | 1, b: Uint8Array, off: number, end: number, chunk: ChunkType): void {
    if (chunk === 'A') return;
    // Only the first chunk of a message carries the type id.
    if (ch.partial[sideNo].size > 0) return;
    if (end - off < 28) return;
    const r = new Reader(b, off + 24, end);
    const id = r.numericNodeId();
    const known = !r.err && id >= 0 && serviceById(id) !== undefined;
    if (known) {
      if (ch.policyUri === POLICY_NONE) ch.mode = 'None';
      else if (ch.policyUri !== null) ch.mode = 'Sign';
      // Policy unknown (mid-stream): plaintext, None or Sign; decided later from the signature length.
    } else {
      ch.mode = ch.policyUri === POLICY_NONE ? 'None' : 'SignAndEncrypt';
    }
  }

  /** Plaintext sequence header (OPC 10000-6 §6.7.2.4 Table 44) and body. */
  private plainMessage(
    sideNo: 0 | 1,
    ch: Channel,
    b: Uint8Array,
    chunkOff: number,
    seqOff: number,
    bodyEnd: number,
    type: MessageType,
    chunk: ChunkType,
    fields: DecodeEvent,
  ): void {
    const base = this.sides[sideNo].base;
    if (bodyEnd - seqOff < 8) return this.malformed(sideNo, 'TRUNCATED_FIELD', base + seqOff);
    const seq = u32le(b, seqOff);
    const requestId = u32le(b, seqOff + 4);
    fields.seq = seq;
    fields.requestId = requestId;
    this.checkSeq(sideNo, ch, seq);
    const bodyStart = seqOff + 8;
    const partials = ch.partial[sideNo];
    const part = partials.get(requestId);
    const lim = this.limits[sideNo];
    const maxMsg = lim.maxMessageSize > 0 ? Math.min(lim.maxMessageSize, this.o.maxMessageSize) : this.o.maxMessageSize;
    const maxCount = lim.maxChunkCount > 0 ? Math.min(lim.maxChunkCount, this.o.maxChunkCount) : this.o.maxChunkCount;
    if (chunk === 'A') {
      // Abort chunk (OPC 10000-6 §6.7.3): Error UInt32 + Reason String replace the body.
      this.dropPartial(partials, requestId);
      const r = parseError(b, bodyStart, bodyEnd, this.o.maxStringLength);
      if (r.ok) Object.assign(fields, { error: r.value.error, statusCode: statusName(r.value.error), reason: r.value.reason });
      fields.aborted = part !== undefined ? part.count : 0;
      return this.out(fields);
    }
    if (chunk === 'C') {
      let p = part;
      if (!p) {
        if (partials.size >= 16) this.dropPartial(partials, partials.keys().next().value as number);
        p = { parts: [], bytes: 0, count: 0, discarding: false };
        partials.set(requestId, p);
      }
      p.count++;
      if (!p.discarding) {
        const len = bodyEnd - bodyStart;
        // Per message (negotiated/configured) and per flow (all partial messages together).
        if (p.bytes + len > maxMsg || p.count >= maxCount || this.partialBytes + len > this.o.maxMessageSize) {
          p.discarding = true;
          this.malformed(sideNo, p.count >= maxCount ? 'TOO_MANY_CHUNKS' : 'MESSAGE_TOO_LARGE', base + chunkOff, `limit ${p.count >= maxCount ? maxCount : maxMsg}`);
          this.partialBytes -= p.bytes;
          p.parts = [];
          p.bytes = 0;
        } else {
          p.parts.push(b.slice(bodyStart, bodyEnd));
          p.bytes += len;
          this.partialBytes += len;
        }
      }
      return this.out(fields);
    }
    // Final chunk: the whole message body.
    let msg: Uint8Array = b;
    let start = bodyStart;
    let end = bodyEnd;
    if (part) {
      this.dropPartial(partials, requestId);
      fields.chunks = part.count + 1;
      if (part.discarding) return this.out(truncated(fields));
      const len = bodyEnd - bodyStart;
      if (part.bytes + len > maxMsg) {
        this.malformed(sideNo, 'MESSAGE_TOO_LARGE', base + chunkOff, `limit ${maxMsg}`);
        return this.out(truncated(fields));
      }
      msg = new Uint8Array(part.bytes + len);
      let o = 0;
      for (const x of part.parts) {
        msg.set(x, o);
        o += x.length;
      }
      msg.set(b.subarray(bodyStart, bodyEnd), o);
      start = 0;
      end = msg.length;
      fields.messageSize = msg.length;
    }
    this.service(sideNo, ch, msg, start, end, type, fields, part ? base + chunkOff : base + start);
  }

  /** Forget a partial message, keeping the per-flow byte count right. */
  private dropPartial(partials: Map<number, Partial>, key: number): void {
    const p = partials.get(key);
    if (!p) return;
    this.partialBytes -= p.bytes;
    partials.delete(key);
  }

  private checkSeq(sideNo: 0 | 1, ch: Channel, seq: number): void {
    const last = ch.lastSeq[sideNo];
    ch.lastSeq[sideNo] = seq;
    if (last < 0 || seq === last + 1) return;
    if (last > SEQ_WRAP_LIMIT && seq < 1024) return; // wrap-around, OPC 10000-6 §6.7.2.4
    if (seq > last) this.anomaly(sideNo, 'SEQ_GAP', { channelId: ch.id, expected: last + 1, seq, missing: seq - last - 1 });
    else {
      this.anomaly(sideNo, 'SEQ_REPLAY', { channelId: ch.id, last, seq });
      ch.lastSeq[sideNo] = last; // keep the high-water mark
    }
  }

  // ---- services ----

  private service(
    sideNo: 0 | 1,
    ch: Channel,
    msg: Uint8Array,
    start: number,
    end: number,
    type: MessageType,
    fields: DecodeEvent,
    absOff: number,
  ): void {
    const r = new Reader(msg, start, end);
    const typeId = r.numericNodeId();
    const afterTypeId = r.pos;
    if (r.err) {
      this.malformed(sideNo, 'BAD_TYPE_ID', absOff);
      fields.service = null;
      return this.out(fields);
    }
    const info: ServiceInfo | undefined = typeId >= 0 ? serviceById(typeId) : undefined;
    fields.typeId = typeId;
    if (!info) {
      fields.service = 'Unknown';
      return this.out(fields);
    }
    fields.service = info.name;
    let plainHeader = false;
    if (info.kind === 'request') {
      const dir = this.dir(sideNo);
      if (dir === 's2c' && !this.ctx.handshakeSeen) {
        // A request comes from the client: the guess from the first packet was wrong.
        this.setClient(sideNo);
        fields.dir = 'c2s';
        fields.flow = this.flowRef();
      }
      const hStart = r.pos;
      const h = readRequestHeader(r, this.o.redact, this.o.maxStringLength);
      if (!h) {
        this.malformed(sideNo, 'BAD_REQUEST_HEADER', absOff + (hStart - start));
        return this.out(fields);
      }
      fields.requestHandle = h.requestHandle;
      fields.authToken = h.authToken;
      fields.timestamp = h.timestamp;
      fields.timeoutHint = h.timeoutHint;
      if (h.returnDiagnostics) fields.returnDiagnostics = h.returnDiagnostics;
      if (h.auditEntryId) fields.auditEntryId = h.auditEntryId;
      plainHeader = h.plain;
      if (info.name !== 'CloseSecureChannelRequest') this.remember(pairKey(ch.id, fields.requestId as number, type), ch.id, fields.requestId as number, info.name, h.requestHandle);
    } else {
      if (fields.dir === 'c2s' && !this.ctx.handshakeSeen) {
        // A response comes from the server: the guess from the first packet was wrong.
        this.setClient(sideNo === 0 ? 1 : 0);
        fields.dir = 's2c';
        fields.flow = this.flowRef();
      }
      const hStart = r.pos;
      const h = readResponseHeader(r, this.o.maxStringLength);
      if (!h) {
        this.malformed(sideNo, 'BAD_RESPONSE_HEADER', absOff + (hStart - start));
        return this.out(fields);
      }
      fields.requestHandle = h.requestHandle;
      fields.statusCode = h.statusCode;
      fields.timestamp = h.timestamp;
      if (h.diagnostics) fields.diagnostics = h.diagnostics;
      if (h.stringTable && h.stringTable.length) fields.stringTable = h.stringTable;
      const key = pairKey(ch.id, fields.requestId as number, type);
      const p = this.pending.get(key);
      if (p && (type === 'OPN' || p.channelId === ch.id)) {
        this.pending.delete(key);
        fields.pairedRequest = p.service;
        fields.responseTimeMs = Math.round((this.nowMs() - p.tsMs) * 1000) / 1000;
      } else fields.pairedRequest = null;
    }
    if (this.o.decodeBodies && (info.name === 'PublishResponse' || info.name === 'ReadResponse')) {
      // Hot responses: our own decoder (variant.ts), no node-opcua objects.
      const bodyStart = r.pos;
      // Fields are written into the event directly, and only once the whole body has decoded:
      // on failure the event holds the header fields alone.
      const facts: Record<string, unknown> = fields;
      const ok = info.name === 'PublishResponse' ? readPublishBody(r, this.o, facts) : readReadResponseBody(r, this.o, facts);
      if (!ok) {
        this.out(fields);
        return this.malformed(sideNo, 'MALFORMED_BODY', absOff + (bodyStart - start), `${info.name}: ${r.reason ?? 'body does not decode'}`);
      }
      this.learnFromTrailing(ch, fields, r.remaining);
      return this.out(fields);
    }
    if (this.o.decodeBodies && info.name === 'ReadRequest') {
      // Hot request: our own decoder when the encoding is the common one (hotrequests.ts).
      const hot = readReadRequestBody(r, this.o, plainHeader);
      if (hot !== null) {
        this.learnFromTrailing(ch, fields, hot.trailing);
        Object.assign(fields, hot.fields);
        return this.out(fields);
      }
    }
    if (this.o.decodeBodies && hasExtractor(info.name)) {
      const res = decodeBody(info.name, msg, afterTypeId, end, {
        caps: this.o,
        redact: this.o.redact,
        mode: ch.mode,
      });
      if (!res.ok) {
        this.out(fields);
        return this.malformed(sideNo, 'MALFORMED_BODY', absOff + (res.offset - start), res.detail);
      }
      this.learnFromTrailing(ch, fields, res.value.trailing);
      Object.assign(fields, res.value.fields);
      this.out(fields);
      for (const c of res.value.certificates) this.certificates(sideNo, c.der, c.source, ch.id);
      return;
    }
    this.out(fields);
  }

  /** Mid-stream: a body followed by exactly one signature (20 or 32 bytes) tells the mode. */
  private learnFromTrailing(ch: Channel, fields: DecodeEvent, trailing: number): void {
    if (ch.mode !== null || ch.policyUri !== null) return;
    if (trailing === 0) ch.mode = 'None';
    else if (trailing === 20 || trailing === 32) ch.mode = 'Sign';
    fields.securityMode = ch.mode;
  }

  private remember(key: number, channelId: number, requestId: number, service: string, requestHandle: number): void {
    if (this.pending.size >= this.o.maxPendingRequests) {
      const [k, oldest] = this.pending.entries().next().value as [number, Pending];
      this.pending.delete(k);
      this.unanswered(oldest, 'evicted');
    }
    this.pending.set(key, { service, requestHandle, tsMs: this.nowMs(), channelId, requestId });
  }

  private unanswered(p: Pending, reason: string): void {
    const side = this.ctx.clientSide;
    this.anomaly(side, 'UNANSWERED', { channelId: p.channelId, requestId: p.requestId, request: p.service, requestHandle: p.requestHandle, reason });
  }

  // ---- certificates ----

  private certificates(sideNo: 0 | 1, der: Uint8Array, source: string, channelId: number): void {
    if (!this.o.certificates) return;
    for (const one of splitChain(der)) {
      const facts = parseCertificate(one);
      if (!facts) {
        this.malformed(sideNo, 'MALFORMED_BODY', this.sides[sideNo].base, `${source}: certificate does not parse`);
        continue;
      }
      if (this.certsSeen.has(facts.thumbprint)) continue;
      if (this.certsSeen.size < 1024) this.certsSeen.add(facts.thumbprint);
      this.emitEvent(sideNo, 'certificate', { source, channelId, ...facts });
    }
  }

  // ---- output ----

  private nowMs(): number {
    return this.tsSec * 1000 + this.tsNsec / 1e6;
  }

  private dir(sideNo: 0 | 1): Dir {
    return sideNo === this.ctx.clientSide ? 'c2s' : 's2c';
  }

  /** The common fields of an event, in contract order; message fields are added by the caller. */
  private head(sideNo: 0 | 1, type: string): DecodeEvent {
    if (this.tsSec !== this.tsCacheSec || this.tsNsec !== this.tsCacheNsec) {
      this.tsCacheSec = this.tsSec;
      this.tsCacheNsec = this.tsNsec;
      this.tsCache = isoTime(this.tsSec, this.tsNsec);
    }
    return { ts: this.tsCache, proto: 'opcua', flow: this.flowRef(), dir: this.dir(sideNo), type, frame: this.frame };
  }

  private out(ev: DecodeEvent): void {
    this.emit(ev);
  }

  /** Client-oriented flow reference, cached (the hot path emits one per message). */
  private flowRef(): DecodeEvent['flow'] {
    if (this.refCache === null) this.refCache = this.ctx.clientRef();
    return this.refCache;
  }

  private setClient(side: 0 | 1): void {
    if (this.ctx.clientSide !== side) this.ctx.setClientSide(side);
    this.refCache = null;
  }

  private emitEvent(sideNo: 0 | 1, type: string, fields: Record<string, unknown>, evType?: string): void {
    const ev = this.head(sideNo, evType ?? type);
    if (evType) ev.messageType = type;
    Object.assign(ev, fields);
    this.emit(ev);
  }

  private malformed(sideNo: 0 | 1, error: OpcuaErrorCode, offset: number, detail?: string): void {
    const f: Record<string, unknown> = { error, offset };
    if (detail) f.detail = detail;
    this.emitEvent(sideNo, 'MALFORMED', f);
  }

  private anomaly(sideNo: 0 | 1, anomaly: OpcuaAnomaly, f: Record<string, unknown>): void {
    this.emitEvent(sideNo, 'ANOMALY', { anomaly, ...f });
  }
}

/**
 * Key pairing a request with its response. An OPN request is sent on channel 0 (the channel
 * does not exist yet) and answered on the new channel: OPNs pair by request id alone.
 */
function pairKey(channelId: number, requestId: number, type: MessageType): number {
  // A number key (no string per message): request id and 10 bits of the channel id, checked
  // against the stored channel id on lookup. OPN keys are negative.
  return type === 'OPN' ? -1 - requestId : requestId * 1024 + (channelId & 1023);
}

function encrypted(ev: DecodeEvent): DecodeEvent {
  ev.seq = null;
  ev.requestId = null;
  ev.service = null;
  ev.encrypted = true;
  return ev;
}

function truncated(ev: DecodeEvent): DecodeEvent {
  ev.service = null;
  ev.truncated = true;
  return ev;
}
