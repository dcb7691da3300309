/**
 * The secure channel layer of an OPC UA flow's decoder (see flow.ts): one complete chunk at a
 * time, by message type. HEL, ACK, ERR and RHE (OPC 10000-6 §7.1.2) are events of their own; OPN,
 * MSG and CLO belong to a secure channel (§6.7): its security policy and mode, sequence numbers
 * per side, and the reassembly of multi-chunk messages, whose whole body goes to the service
 * layer (service.ts).
 */
import type { DecodeEvent } from '../types.js';
import { HEADER_SIZE, parseAck, parseError, parseHello, parseReverseHello, readAsymmetricHeader, type ChunkType, type MessageType } from './framing.js';
import { encrypted, truncated, type OpcuaErrorCode } from './output.js';
import { Reader, u32le } from './reader.js';
import { POLICY_NONE, symmetricSignatureLength, type SecurityMode } from './security.js';
import { OpcuaServices } from './service.js';
import { serviceById } from './services.js';
import { statusName } from './status.js';

/** Largest 32-bit sequence number before the wrap allowed by OPC 10000-6 §6.7.2.4. */
const SEQ_WRAP_LIMIT = 4294966271;

/** A message whose chunks are still arriving. */
export interface Partial {
  parts: Uint8Array[];
  bytes: number;
  count: number;
  /** Too large or too many chunks: the rest of the message is skipped. */
  discarding: boolean;
}

/** One secure channel of the flow. */
export interface Channel {
  id: number;
  policyUri: string | null;
  mode: SecurityMode | null;
  /** Last sequence number per side, -1 when unknown. */
  lastSeq: [number, number];
  /** Reassembly per side, keyed by request id (-1 when encrypted). */
  partial: [Map<number, Partial>, Map<number, Partial>];
}

/** Limits negotiated in HEL/ACK for what one side sends (0 = no limit). */
interface Limits {
  maxMessageSize: number;
  maxChunkCount: number;
}

export abstract class OpcuaChannels extends OpcuaServices {
  protected readonly channels = new Map<number, Channel>();
  /** Negotiated limits per sending side. */
  private readonly limits: [Limits, Limits] = [
    { maxMessageSize: 0, maxChunkCount: 0 },
    { maxMessageSize: 0, maxChunkCount: 0 },
  ];
  /** Bytes held by partial (multi-chunk) messages of this flow, capped at maxMessageSize. */
  private partialBytes = 0;

  /** One complete chunk `b[off, off + size)` of this side. */
  protected chunk(sideNo: 0 | 1, b: Uint8Array, off: number, type: MessageType, chunk: ChunkType, size: number): void {
    const end = off + size;
    const body = off + HEADER_SIZE;
    switch (type) {
      case 'HEL': {
        this.setClient(sideNo);
        const r = parseHello(b, body, end, this.o.maxStringLength);
        if (!r.ok) return this.malformed(sideNo, r.error as OpcuaErrorCode, this.streamBase(sideNo) + off);
        this.limits[1 - sideNo] = { maxMessageSize: r.value.maxMessageSize, maxChunkCount: r.value.maxChunkCount };
        this.emitEvent(sideNo, type, { chunk, size, ...r.value });
        if (r.value.endpointUrlLength !== undefined) this.malformed(sideNo, 'URL_TOO_LONG', this.streamBase(sideNo) + off + 28, `EndpointUrl of ${r.value.endpointUrlLength} bytes`);
        return;
      }
      case 'ACK': {
        const r = parseAck(b, body, end);
        if (!r.ok) return this.malformed(sideNo, r.error as OpcuaErrorCode, this.streamBase(sideNo) + off);
        this.limits[1 - sideNo] = { maxMessageSize: r.value.maxMessageSize, maxChunkCount: r.value.maxChunkCount };
        return this.emitEvent(sideNo, type, { chunk, size, ...r.value });
      }
      case 'ERR': {
        const r = parseError(b, body, end, this.o.maxStringLength);
        if (!r.ok) return this.malformed(sideNo, r.error as OpcuaErrorCode, this.streamBase(sideNo) + off);
        return this.emitEvent(sideNo, type, { chunk, size, error: r.value.error, statusCode: statusName(r.value.error), reason: r.value.reason });
      }
      case 'RHE': {
        // Reverse hello (OPC 10000-6 §7.1.3): the server opened the connection.
        this.setClient(sideNo === 0 ? 1 : 0);
        const r = parseReverseHello(b, body, end, this.o.maxStringLength);
        if (!r.ok) return this.malformed(sideNo, r.error as OpcuaErrorCode, this.streamBase(sideNo) + off);
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
    if (!ah) return this.malformed(sideNo, 'BAD_SECURITY_HEADER', this.streamBase(sideNo) + off + 12);
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
    if (ch.mode === 'SignAndEncrypt') {
      if (chunk !== 'F') ch.partial[sideNo].delete(-1);
      return this.out(encrypted(this.symmetricHead(sideNo, type, chunk, size, channelId, tokenId, ch.policyUri, ch.mode, null, null)));
    }
    let sig = 0;
    if (ch.mode === 'Sign') sig = symmetricSignatureLength(ch.policyUri) ?? 0;
    const bodyEnd = end - sig;
    if (bodyEnd < off + 24) return this.malformed(sideNo, 'TRUNCATED_FIELD', this.streamBase(sideNo) + off + 16);
    // The sequence header (read again, to the same values, by plainMessage) is in the literal already.
    const fields = this.symmetricHead(sideNo, type, chunk, size, channelId, tokenId, ch.policyUri, ch.mode, u32le(b, off + 16), u32le(b, off + 20));
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
    const base = this.streamBase(sideNo);
    if (bodyEnd - seqOff < 8) return this.malformed(sideNo, 'TRUNCATED_FIELD', base + seqOff);
    const seq = u32le(b, seqOff);
    const requestId = u32le(b, seqOff + 4);
    fields.seq = seq;
    fields.requestId = requestId;
    this.checkSeq(sideNo, ch, seq);
    const bodyStart = seqOff + 8;
    const partials = ch.partial[sideNo];
    // The common case, a single-chunk message with nothing in reassembly: straight to its body.
    if (chunk === 'F' && partials.size === 0) return this.service(sideNo, ch, b, bodyStart, bodyEnd, type, fields, base + bodyStart);
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
  protected dropPartial(partials: Map<number, Partial>, key: number): void {
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
}
